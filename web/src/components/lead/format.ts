/** Shared helpers of the lead's page components. */

/** An instant as the browser shows it ("" for none). */
export function when(value: string | null | undefined): string {
  return value ? new Date(value).toLocaleString() : "";
}

/** A datetime-local value (the browser's local time) as an instant for the API; null when empty. */
export function instant(local: string): string | null {
  if (!local) return null;
  const parsed = new Date(local);
  return Number.isNaN(parsed.getTime()) ? null : parsed.toISOString();
}

/** Today as YYYY-MM-DD in the browser's time. */
export function today(): string {
  const now = new Date();
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}
