import createClient, { type Middleware } from "openapi-fetch";
import { currentLocale } from "../i18n";
import { router } from "../router";
import { useSession } from "../stores/session";
import type { components, paths } from "./schema";

export type ErrorBody = components["schemas"]["ErrorBody"];

interface RuntimeConfig {
  apiBaseUrl: string;
}

/** The API's base URL comes from /config.json beside index.html, so one build serves every stage. */
export async function loadConfig(): Promise<RuntimeConfig> {
  const response = await fetch(`${import.meta.env.BASE_URL}config.json`, { cache: "no-store" });
  if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
  const config = (await response.json()) as RuntimeConfig;
  return { apiBaseUrl: config.apiBaseUrl.replace(/\/+$/, "") };
}

const auth: Middleware = {
  onRequest({ request }) {
    const session = useSession();
    if (session.token) request.headers.set("Authorization", `Bearer ${session.token}`);
    request.headers.set("Accept-Language", currentLocale() === "en" ? "en" : "zh-CN");
    return request;
  },
  async onResponse({ request, response }) {
    const signingIn = new URL(request.url).pathname.endsWith("/auth/login");
    if (response.status === 401 && !signingIn) {
      useSession().signOut();
      const current = router.currentRoute.value;
      if (current.name !== "sign-in") {
        await router.push({ name: "sign-in", query: { redirect: current.fullPath } });
      }
    } else if (response.status === 423) {
      const body = (await response.clone().json().catch(() => null)) as { error?: ErrorBody } | null;
      if (body?.error?.code === "ACCOUNT_FROZEN") {
        useSession().signOut();
        await router.push({ name: "frozen" });
      }
    }
    return response;
  },
};

export type Api = ReturnType<typeof createClient<paths>>;
let client: Api | null = null;

export function configureApi(baseUrl: string): Api {
  client = createClient<paths>({ baseUrl });
  client.use(auth);
  return client;
}

export function api(): Api {
  if (!client) throw new Error("the API client is used before config.json was loaded");
  return client;
}

/** The API's error envelope as one message for an alert (or a generic one if there is none). */
export function errorOf(error: unknown): ErrorBody | null {
  if (error && typeof error === "object" && "error" in error) {
    const body = (error as { error: ErrorBody }).error;
    if (body && typeof body.message === "string") return body;
  }
  return error ? { code: "UNKNOWN", message: String(error) } : null;
}
