/** Shared helpers of the lead's page components: times in the school's zone (see ../../time). */
import { schoolDateTime, schoolToday, wallClock } from "../../time";

/** An instant as the school's wall clock shows it ("" for none). */
export function when(value: string | null | undefined): string {
  return schoolDateTime(value);
}

/** A datetime-local value (the school's wall clock) for the API; null when empty. */
export function instant(local: string): string | null {
  return wallClock(local);
}

/** Today as YYYY-MM-DD in the school's zone. */
export function today(): string {
  return schoolToday();
}
