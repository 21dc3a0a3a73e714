import { ref, watch, type WatchSource } from "vue";

/**
 * The Idempotency-Key of one money action (a top-up, a deduction, a payment): made when the
 * form opens and kept while what it would send stays the same, so a double click or a retry
 * after a lost answer sends the same key and the API applies the action once. A change to
 * the form is another action: it gets a new key. `renew()` after the action went through.
 */
export function useIdempotencyKey(what: WatchSource) {
  const key = ref(newKey());
  watch(what, () => renew(), { deep: true });

  function renew(): void {
    key.value = newKey();
  }

  return { key, renew };
}

function newKey(): string {
  // crypto.randomUUID needs a secure context; the console is also opened over plain http locally
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A money amount or a number of credits as the API takes it: a decimal string, never a float. */
export const DECIMAL = /^\d{1,8}(\.\d{1,2})?$/;

/** How money came in or went out (the API's PAYMENT_METHODS), in the order the forms offer them. */
export const PAYMENT_METHODS = ["cash", "wechat", "alipay", "bank_card", "transfer", "other"] as const;
