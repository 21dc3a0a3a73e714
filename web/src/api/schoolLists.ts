import { api as lists } from "./client";
import type { components as Schemas } from "./schema";

export type ListEntry = Schemas["schemas"]["DictionaryEntry"];
export type ListCampus = Schemas["schemas"]["Campus"];
// a built-in list (sources, statuses, ...) or one of the school's own (GET /settings/dictionaries)
export type ListKind = string;

// The school's lists (the leads list's filters, the follow-up methods, ...), read once per
// school and tab: reopening the leads list costs one API call, GET /leads. A list the API
// refuses (an error answer) is kept as null (the leads list hides its filter). A request that
// fails outright (the network) is not kept: the next use asks again.
const cache = new Map<string, Promise<ListEntry[] | ListCampus[] | Record<string, ListEntry[]> | null>>();

function cached<T extends ListEntry[] | ListCampus[] | Record<string, ListEntry[]>>(key: string, read: () => Promise<T | null>): Promise<T | null> {
  let hit = cache.get(key) as Promise<T | null> | undefined;
  if (!hit) {
    hit = read();
    cache.set(key, hit);
    hit.catch(() => cache.delete(key));
  }
  return hit.catch(() => null);
}

/** Every list of the school (GET /settings/dictionaries: the built-in lists and its own), by
 * name: one call however many lists a page uses. */
export function schoolLists(tenant: string): Promise<Record<string, ListEntry[]> | null> {
  return cached(`${tenant}:lists`, async () => {
    const { data } = await lists().GET("/settings/dictionaries");
    return data ? Object.fromEntries(data.items.map((d) => [d.kind, d.entries])) : null;
  }) as Promise<Record<string, ListEntry[]> | null>;
}

export async function schoolList(tenant: string, kind: ListKind): Promise<ListEntry[] | null> {
  const all = await schoolLists(tenant);
  return all ? (all[kind] ?? null) : null;
}

/** Forgets the lists read (a settings page that changed one). */
export function forgetSchoolLists(): void {
  for (const key of [...cache.keys()]) if (key.endsWith(":lists")) cache.delete(key);
}

/** The assessment's levels (GET /settings/assessment → levels[].level) as a list's entries. */
export function schoolLevels(tenant: string): Promise<ListEntry[] | null> {
  return cached(`${tenant}:levels`, async () => {
    const { data } = await lists().GET("/settings/assessment");
    return data
      ? (data.levels ?? []).map((l) => ({ key: l.level, label: l.label ? `${l.level} · ${l.label}` : l.level }))
      : null;
  });
}

export function schoolCampuses(tenant: string): Promise<ListCampus[] | null> {
  return cached(`${tenant}:campuses`, async () => {
    const { data } = await lists().GET("/campuses", { params: { query: { limit: 100 } } });
    return data ? data.items : null;
  });
}
