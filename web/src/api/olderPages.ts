import { ref, type Ref } from "vue";
import { errorOf, type ErrorBody } from "./client";

/** One page of a paginated route, as openapi-fetch answers it. */
interface PageAnswer<T> {
  data?: { items: T[]; next_cursor?: string | null };
  error?: unknown;
}

/**
 * "Load more" (加载更多) under a list whose first page came with another answer (the lead's
 * page brings the latest 5 and a cursor): `more()` fetches the next page from `cursor` and
 * appends it to `older`; `reset(cursor)` starts again when the first page is read again.
 * A refusal goes to `error` (the caller's, when it shows one alert for the whole screen).
 */
export function useOlderPages<T>(
  fetchPage: (cursor: string) => Promise<PageAnswer<T>>,
  error: Ref<ErrorBody | null> = ref(null),
) {
  const older = ref<T[]>([]) as Ref<T[]>;
  const next = ref<string | null>(null);
  const loading = ref(false);

  function reset(cursor: string | null | undefined): void {
    older.value = [];
    next.value = cursor ?? null;
  }

  async function more(): Promise<void> {
    if (!next.value) return;
    loading.value = true;
    error.value = null;
    try {
      const { data, error: failed } = await fetchPage(next.value);
      if (failed || !data) error.value = errorOf(failed);
      else {
        older.value = [...older.value, ...data.items];
        next.value = data.next_cursor ?? null;
      }
    } catch (exc) {
      error.value = errorOf(exc);
    } finally {
      loading.value = false;
    }
  }

  return { older, next, loading, error, reset, more };
}
