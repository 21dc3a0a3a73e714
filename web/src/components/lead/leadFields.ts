import { api } from "../../api/client";
import { schoolLists } from "../../api/schoolLists";
import type { components } from "../../api/schema";

export type LeadField = components["schemas"]["LeadFieldDefinition"];
export type ListEntry = components["schemas"]["DictionaryEntry"];
export type CustomValue = string | number;

/** The school's own lead fields (GET /settings/lead-fields) and every list they may use
 * (GET /settings/dictionaries), by the list's name. */
export interface SchoolFields {
  fields: LeadField[];
  lists: Record<string, ListEntry[]>;
}

// Read once per school and tab (the lead form, the lead page and the list share it); the
// settings page reads them fresh and forgets this copy when it saves.
const cache = new Map<string, Promise<SchoolFields>>();

export function schoolFields(tenant: string): Promise<SchoolFields> {
  let hit = cache.get(tenant);
  if (!hit) {
    hit = (async () => {
      // the lists are the ones the leads list's filters read (one GET /settings/dictionaries)
      const [fields, lists] = await Promise.all([api().GET("/settings/lead-fields"), schoolLists(tenant)]);
      return { fields: fields.data?.fields ?? [], lists: lists ?? {} };
    })();
    cache.set(tenant, hit);
    hit.catch(() => cache.delete(tenant));
  }
  return hit;
}

export function forgetSchoolFields(): void {
  cache.clear();
}

/** A custom value as the page shows it: a list field's entry by its label. */
export function shownValue(school: SchoolFields, field: LeadField, value: CustomValue | undefined): string {
  if (value === undefined || value === null) return "";
  if (field.type === "list") return school.lists[field.list ?? ""]?.find((e) => e.key === value)?.label ?? String(value);
  return String(value);
}

/** What a form's text means for a field: a number for number fields, "" for none (null). */
export function typedValue(field: LeadField | undefined, text: string): CustomValue | null {
  const trimmed = text.trim();
  if (!trimmed) return null;
  if (field?.type === "number") {
    const n = Number(trimmed);
    return Number.isFinite(n) ? n : trimmed; // the API explains what is not a number
  }
  return trimmed;
}
