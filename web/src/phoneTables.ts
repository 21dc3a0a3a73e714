/**
 * Tables become cards on a phone. Each body cell of an Element Plus table gets its column's
 * header as `data-label`; below 768 px `style.css` hides the header row and shows every row
 * as a card of "label value" lines, so a consultant reads a row without scrolling sideways.
 * One observer for the whole console: every table of every screen, with nothing to add to
 * a screen; a row added later (加载更多) is labelled as it appears.
 */
export function labelTableCells(root: ParentNode = document): void {
  root.querySelectorAll<HTMLElement>(".el-table").forEach((table) => {
    const heads = Array.from(table.querySelectorAll<HTMLElement>(".el-table__header-wrapper th")).map(
      (th) => th.textContent?.trim() ?? "",
    );
    table.querySelectorAll<HTMLTableRowElement>(".el-table__body-wrapper tr").forEach((row) => {
      Array.from(row.cells).forEach((cell, i) => {
        const label = heads[i] ?? "";
        if (cell.dataset.label !== label) cell.dataset.label = label;
      });
    });
  });
}

export function watchTables(): void {
  let queued = false;
  const observer = new MutationObserver(() => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      labelTableCells();
    });
  });
  // rows and header texts (a language switch) change the tree; the labels set here are
  // attributes, which the observer does not watch, so labelling never wakes it again
  observer.observe(document.body, { childList: true, subtree: true, characterData: true });
}
