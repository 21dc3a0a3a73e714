import { ref, type Ref } from "vue";
import { api } from "../../api/client";
import { useSession } from "../../stores/session";

export interface Assignee {
  id: string;
  name: string;
}

// GET /users answers these roles only (others get 403).
const LISTS_USERS = ["admin", "manager", "supervisor"];
// The API gives a plan only to an active consultant or supervisor of the lead's campus.
const ASSIGNABLE = ["consultant", "supervisor"];

/** Who may be given a plan on a lead of `campusId`: for the roles that may list the staff, the
 * campus's active consultants and supervisors; for the others, themselves when they may hold
 * one (else nobody: adding a plan is not offered). */
export function useAssignees(campusId: () => string): {
  assignees: Ref<Assignee[]>;
  canChoose: () => boolean;
  canPlan: () => boolean;
  load: () => Promise<void>;
} {
  const session = useSession();
  const self = (): Assignee[] =>
    session.user && ASSIGNABLE.includes(session.user.role)
      ? [{ id: session.user.id, name: session.user.display_name }]
      : [];
  const assignees = ref<Assignee[]>(self());
  const canChoose = () => LISTS_USERS.includes(session.role ?? "");
  const canPlan = () => canChoose() || self().length > 0;
  async function load(): Promise<void> {
    if (!canChoose()) return;
    const { data } = await api().GET("/users", { params: { query: { limit: 100 } } });
    if (!data) return; // the choice stays what it was
    assignees.value = data.items
      .filter((u) => u.active !== false && ASSIGNABLE.includes(u.role) && (u.campus_ids ?? []).includes(campusId()))
      .map((u) => ({ id: u.id, name: u.display_name }));
  }
  return { assignees, canChoose, canPlan, load };
}
