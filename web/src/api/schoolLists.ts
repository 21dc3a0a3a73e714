import { api as lists } from "./client";
import type { components as Schemas } from "./schema";

export type ListEntry = Schemas["schemas"]["DictionaryEntry"];
export type ListCampus = Schemas["schemas"]["Campus"];
export type ListKind = Schemas["schemas"]["DictionaryKind"];

// The school's lists (the leads list's filters, the follow-up methods, ...), read once per
// school and tab: reopening the leads list costs one API call, GET /leads. A list the API
// refuses (an error answer) is kept as null (the leads list hides its filter). A request that
// fails outright (the network) is not kept: the next use asks again.
const cache = new Map<string, Promise<ListEntry[] | ListCampus[] | null>>();

function cached<T extends ListEntry[] | ListCampus[]>(key: string, read: () => Promise<T | null>): Promise<T | null> {
  let hit = cache.get(key) as Promise<T | null> | undefined;
  if (!hit) {
    hit = read();
    cache.set(key, hit);
    hit.catch(() => cache.delete(key));
  }
  return hit.catch(() => null);
}

export function schoolList(tenant: string, kind: ListKind): Promise<ListEntry[] | null> {
  return cached(`${tenant}:${kind}`, async () => {
    const { data } = await lists().GET("/settings/dictionaries/{kind}", { params: { path: { kind } } });
    return data ? data.entries : null;
  });
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
