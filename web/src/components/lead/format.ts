/** Shared helpers of the lead's page components: times on the school's clock (see ../../time):
 * `when` shows an instant, `instant` sends a typed datetime-local value, `today` is the school's day. */
export { schoolDateTime as when, schoolToday as today, wallClock as instant } from "../../time";
