import { createI18n } from "vue-i18n";
import en from "./locales/en";
import zh from "./locales/zh-CN";

export type Locale = "zh-CN" | "en";
const KEY = "crm.lang";

/** `?lang=en` (or zh-CN) on any URL wins and is remembered; else the remembered one; else zh-CN. */
export function initialLocale(search: string = window.location.search): Locale {
  const asked = new URLSearchParams(search).get("lang");
  const chosen = normalise(asked) ?? normalise(localStorage.getItem(KEY)) ?? "zh-CN";
  localStorage.setItem(KEY, chosen);
  return chosen;
}

function normalise(value: string | null): Locale | null {
  if (!value) return null;
  if (value.toLowerCase().startsWith("en")) return "en";
  if (value.toLowerCase().startsWith("zh")) return "zh-CN";
  return null;
}

export const i18n = createI18n({
  legacy: false,
  locale: initialLocale(),
  fallbackLocale: "zh-CN",
  messages: { "zh-CN": zh, en },
});

export function currentLocale(): Locale {
  return i18n.global.locale.value as Locale;
}

export function setLocale(locale: Locale): void {
  i18n.global.locale.value = locale;
  localStorage.setItem(KEY, locale);
  document.documentElement.lang = locale;
}
