/** Saves a file the API answered (a workbook, a sheet of rejected rows) under `name`: fetched
 * with the caller's token, so a plain link to the route would not do. */
export function saveFile(file: Blob, name: string): void {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(file);
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}
