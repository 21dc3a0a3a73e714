import { errorOf, type ErrorBody } from "./client";

/** Saves a file the API answered (a workbook, a sheet of rejected rows) under `name`: fetched
 * with the caller's token, so a plain link to the route would not do. */
export function saveFile(file: Blob, name: string): void {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(file);
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

/** Opens an HTML page the API answers (a sign-in sheet, a printable record) in a new tab. The
 * API wants the Authorization header, so the page is fetched, then shown from a blob URL; the
 * tab is opened at once, within the click, so no popup blocker stops it. Returns the API's
 * refusal (the tab closed again), or null. */
export async function openPage(read: () => Promise<{ data?: unknown; error?: unknown }>): Promise<ErrorBody | null> {
  const tab = window.open("", "_blank");
  try {
    const { data, error } = await read();
    if (error || !(data instanceof Blob)) {
      tab?.close();
      return errorOf(error);
    }
    const url = URL.createObjectURL(new Blob([data], { type: "text/html;charset=utf-8" }));
    if (tab) tab.location.href = url;
    else window.open(url, "_blank");
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    return null;
  } catch (exc) {
    tab?.close();
    return errorOf(exc);
  }
}
