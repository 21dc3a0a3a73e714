import { onMounted, reactive, ref, watch, type Ref } from "vue";
import { useRoute, useRouter } from "vue-router";
import { errorOf, type ErrorBody } from "../../api/client";
import { schoolToday } from "../../time";

interface Period {
  from: string;
  to: string;
}

/**
 * A report page's data: the period (from, to: the school's days; this month by default, kept
 * in the URL as ?from=&to= so a report can be shared and reloaded as it was), the report as
 * the API answers for it, read again whenever the period changes, and the API's refusal.
 */
export function useReport<T>(fetchReport: (period: Period) => Promise<{ data?: unknown; error?: unknown }>) {
  const route = useRoute();
  const router = useRouter();
  const today = schoolToday();
  const asked = (name: string): string | null => {
    const value = route.query[name];
    return typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value) ? value : null;
  };
  const period = reactive<Period>({ from: asked("from") ?? `${today.slice(0, 8)}01`, to: asked("to") ?? today });
  const report = ref<T | null>(null) as Ref<T | null>;
  const error = ref<ErrorBody | null>(null);

  async function load(): Promise<void> {
    error.value = null;
    try {
      const { data, error: failed } = await fetchReport({ ...period });
      if (failed || !data || typeof data !== "object") error.value = errorOf(failed);
      else report.value = data as T;
    } catch (exc) {
      error.value = errorOf(exc);
    }
  }

  watch(period, () => {
    void router.replace({ query: { ...route.query, from: period.from, to: period.to } });
    void load();
  });
  onMounted(load);
  return { period, report, error, load };
}
