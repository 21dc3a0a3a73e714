import { reactive, watch } from "vue";
import { useRoute, useRouter } from "vue-router";
import { schoolToday } from "../../time";

/** The report's period (from, to: the school's days), this month by default, kept in the URL
 * (?from=&to=) so a report can be shared and reloaded as it was. */
export function usePeriod(onChange: () => void) {
  const route = useRoute();
  const router = useRouter();
  const today = schoolToday();
  const asked = (name: string): string | null => {
    const value = route.query[name];
    return typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value) ? value : null;
  };
  const period = reactive({ from: asked("from") ?? `${today.slice(0, 8)}01`, to: asked("to") ?? today });
  watch(period, () => {
    void router.replace({ query: { ...route.query, from: period.from, to: period.to } });
    onChange();
  });
  return period;
}
