import { defineStore } from "pinia";
import type { components } from "../api/schema";

export type User = components["schemas"]["User"];
export type Announcement = components["schemas"]["Announcement"];
const KEY = "crm.session";

interface Saved {
  token: string;
  tenant: string;
  user: User;
  timezone?: string;
}

function load(): Saved | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Saved) : null;
  } catch {
    return null;
  }
}

/** Who is signed in: the token lives in sessionStorage (one tab, gone with it). */
export const useSession = defineStore("session", {
  state: () => {
    const saved = load();
    return {
      token: saved?.token ?? "",
      tenant: saved?.tenant ?? "",
      user: (saved?.user ?? null) as User | null,
      timezone: saved?.timezone ?? "",
      announcements: [] as Announcement[],
    };
  },
  getters: {
    signedIn: (state) => Boolean(state.token && state.user),
    role: (state) => state.user?.role ?? null,
  },
  actions: {
    signIn(token: string, tenant: string, user: User) {
      this.token = token;
      this.tenant = tenant;
      this.user = user;
      sessionStorage.setItem(KEY, JSON.stringify({ token, tenant, user }));
    },
    /** The school's time zone (from GET /me): every time shown and typed is in it. */
    setTimezone(timezone: string) {
      this.timezone = timezone;
      if (this.user) {
        const saved: Saved = { token: this.token, tenant: this.tenant, user: this.user, timezone };
        sessionStorage.setItem(KEY, JSON.stringify(saved));
      }
    },
    signOut() {
      this.token = "";
      this.user = null;
      this.timezone = "";
      this.announcements = [];
      sessionStorage.removeItem(KEY);
    },
  },
});
