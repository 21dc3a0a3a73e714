import { onMounted, reactive, ref } from "vue";
import { errorOf, type ErrorBody } from "../../api/client";

/**
 * A settings form (GET, then PATCH or PUT of the whole form): the form as the API answered,
 * the API's refusal, and `saved` once the API took the change (a status line says so). The
 * form is replaced by the API's answer after each save, so what it shows is what the school has.
 */
export function useSettings<T extends object>(
  read: () => Promise<{ data?: T; error?: unknown }>,
  write: (form: T) => Promise<{ data?: T; error?: unknown }>,
) {
  const form = reactive({}) as T;
  const loaded = ref(false);
  const saving = ref(false);
  const saved = ref(false);
  const error = ref<ErrorBody | null>(null);

  function take(data: T): void {
    for (const key of Object.keys(form)) delete (form as Record<string, unknown>)[key];
    Object.assign(form, JSON.parse(JSON.stringify(data)));
    loaded.value = true;
  }

  async function load(): Promise<void> {
    error.value = null;
    try {
      const { data, error: failed } = await read();
      if (failed || !data) error.value = errorOf(failed);
      else take(data);
    } catch (exc) {
      error.value = errorOf(exc);
    }
  }

  async function save(): Promise<void> {
    error.value = null;
    saved.value = false;
    saving.value = true;
    try {
      const { data, error: failed } = await write(form as T);
      if (failed || !data) error.value = errorOf(failed);
      else {
        take(data);
        saved.value = true;
      }
    } catch (exc) {
      error.value = errorOf(exc);
    } finally {
      saving.value = false;
    }
  }

  onMounted(load);
  return { form, loaded, saving, saved, error, save, load };
}
