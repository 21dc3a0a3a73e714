import { onBeforeUnmount, ref, watch, type WatchSource } from "vue";
import { api, errorOf, type ErrorBody } from "../../api/client";
import type { components } from "../../api/schema";

type Preview = components["schemas"]["TemplatePreview"];
type PreviewRequest = components["schemas"]["TemplatePreviewRequest"];

/** Who writes templates: POST/PUT/DELETE /templates answer admins and managers. */
export const TEMPLATE_EDITORS = ["admin", "manager"];
/** Who sends messages: POST /messages refuses teachers only. */
export const MESSAGE_SENDERS = ["admin", "consultant", "finance", "frontdesk", "manager", "supervisor"];

/**
 * The live preview of a template: `source` rendered on the sample data by the API
 * (POST /templates/preview, the same sandbox a send uses), `wait` ms after the last change.
 * An answer that arrives after a newer change is dropped; the API's refusal (a syntax error,
 * an unknown variable, too long) is `error`.
 */
export function useLivePreview(source: WatchSource<PreviewRequest | null>, wait = 400) {
  const preview = ref<Preview | null>(null);
  const error = ref<ErrorBody | null>(null);
  const pending = ref(false);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let asked = 0;

  async function render(request: PreviewRequest, n: number): Promise<void> {
    try {
      const { data, error: failed } = await api().POST("/templates/preview", { body: request });
      if (n !== asked) return;
      preview.value = data ?? null;
      error.value = failed || !data ? errorOf(failed) : null;
    } catch (exc) {
      if (n === asked) error.value = errorOf(exc);
    } finally {
      if (n === asked) pending.value = false;
    }
  }

  watch(
    source,
    (request) => {
      clearTimeout(timer);
      const n = ++asked;
      if (!request || !request.body.trim()) {
        preview.value = null;
        error.value = null;
        pending.value = false;
        return;
      }
      pending.value = true;
      timer = setTimeout(() => void render(request, n), wait);
    },
    { immediate: true, deep: true },
  );
  onBeforeUnmount(() => clearTimeout(timer));
  return { preview, error, pending };
}

/** `text` with `insert` put in place of the selection of `field` (at its cursor); the cursor after it. */
export function insertAt(field: HTMLTextAreaElement | undefined, text: string, insert: string): [string, number] {
  const start = field?.selectionStart ?? text.length;
  const end = field?.selectionEnd ?? start;
  return [text.slice(0, start) + insert + text.slice(end), start + insert.length];
}
