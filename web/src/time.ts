/**
 * Times in the school's time zone, whatever the browser's: the API's instants are shown in
 * the zone of the school signed in to (from GET /me at sign-in), and times typed into forms
 * are sent without an offset, which the API reads as the school's local time.
 */
import { currentLocale } from "./i18n";
import { useSession } from "./stores/session";

function zone(): string | undefined {
  return useSession().timezone || undefined;
}

function locale(): string {
  return currentLocale() === "en" ? "en-GB" : "zh-CN";
}

/** An instant as a date and time in the school's zone ("" for none). */
export function schoolDateTime(value: string | null | undefined): string {
  if (!value) return "";
  return new Date(value).toLocaleString(locale(), {
    timeZone: zone(),
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
  });
}

/** An instant as HH:MM in the school's zone. */
export function schoolClock(value: string): string {
  return new Date(value).toLocaleTimeString(locale(), { timeZone: zone(), hour: "2-digit", minute: "2-digit" });
}

/** Today in the school's zone, YYYY-MM-DD. */
export function schoolToday(): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone: zone() }).format(new Date());
}

/** A datetime-local value (typed as the school's wall clock) for the API: no offset; null when empty. */
export function wallClock(local: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(local)) return null;
  return local.length === 16 ? `${local}:00` : local;
}
