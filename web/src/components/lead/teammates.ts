import { ref, type Ref } from "vue";
import { api } from "../../api/client";
import { useSession } from "../../stores/session";

export interface Assignee {
  id: string;
  name: string;
}

// GET /users answers these roles only (others get 403): the rest are offered only themselves.
const LISTS_USERS = ["admin", "manager", "supervisor"];

/** Who a plan may be given to: the school's active staff when the role may list users, else yourself. */
export function useAssignees(): { assignees: Ref<Assignee[]>; canChoose: () => boolean; load: () => Promise<void> } {
  const session = useSession();
  const self = (): Assignee[] => (session.user ? [{ id: session.user.id, name: session.user.display_name }] : []);
  const assignees = ref<Assignee[]>(self());
  const canChoose = () => LISTS_USERS.includes(session.role ?? "");
  async function load(): Promise<void> {
    if (!canChoose()) return;
    const { data } = await api().GET("/users", { params: { query: { limit: 100 } } });
    if (!data) return; // the choice stays "yourself"
    const staff = data.items.filter((u) => u.active !== false).map((u) => ({ id: u.id, name: u.display_name }));
    if (staff.length) assignees.value = staff;
  }
  return { assignees, canChoose, load };
}
