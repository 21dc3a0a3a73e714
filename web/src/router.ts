import { createRouter, createWebHistory } from "vue-router";
import { useSession } from "./stores/session";

// Messages to families: every role but teachers (the API refuses them)
const MESSAGE_ROLES = ["admin", "consultant", "finance", "frontdesk", "manager", "supervisor"];
// Members' cards: every role but teachers (GET /cards refuses them)
const CARD_ROLES = ["admin", "consultant", "finance", "frontdesk", "manager", "supervisor"];

// Reports (查询统计), each page its own chunk; ECharts is a chunk of its own that only they load
// (who may read which: chalicelib/domain/reports.py; sources and finance not for supervisors)
const REPORT_ROLES = {
  funnel: ["admin", "finance", "manager", "supervisor"],
  consultants: ["admin", "finance", "manager", "supervisor"],
  sources: ["admin", "finance", "manager"],
  finance: ["admin", "finance", "manager"],
};
const REPORTS = {
  funnel: () => import("./views/reports/FunnelReport.vue"),
  consultants: () => import("./views/reports/ConsultantsReport.vue"),
  sources: () => import("./views/reports/SourcesReport.vue"),
  finance: () => import("./views/reports/FinanceReport.vue"),
};

// Every screen but sign-in is its own chunk: the sign-in page loads only what it shows.
export { REPORT_ROLES };

export const router = createRouter({
  history: createWebHistory(import.meta.env.BASE_URL),
  routes: [
    { path: "/sign-in", name: "sign-in", component: () => import("./views/SignIn.vue"), meta: { public: true } },
    { path: "/frozen", name: "frozen", component: () => import("./views/Frozen.vue"), meta: { public: true } },
    {
      path: "/",
      component: () => import("./views/Layout.vue"),
      children: [
        { path: "", name: "today", component: () => import("./views/Today.vue") },
        { path: "leads", name: "leads", component: () => import("./views/Leads.vue") },
        { path: "leads/imports", name: "imports", component: () => import("./views/Imports.vue") },
        { path: "leads/:id", name: "lead", component: () => import("./views/LeadPage.vue"), props: true },
        {
          path: "appointments",
          name: "appointments",
          component: () => import("./views/Appointments.vue"),
          // teachers see their classes through sessions: GET /appointments refuses them
          meta: { roles: ["admin", "consultant", "finance", "frontdesk", "manager", "supervisor"] },
        },
        { path: "messages", name: "messages", component: () => import("./views/messages/Messages.vue"), meta: { roles: MESSAGE_ROLES } },
        {
          path: "messages/new",
          name: "message-new",
          component: () => import("./views/messages/MessageNew.vue"),
          meta: { roles: MESSAGE_ROLES },
        },
        {
          path: "messages/:id",
          name: "message",
          component: () => import("./views/messages/MessagePage.vue"),
          props: true,
          meta: { roles: MESSAGE_ROLES },
        },
        { path: "reports", redirect: { name: "report-funnel" } },
        ...(["funnel", "consultants", "sources", "finance"] as const).map((report) => ({
          path: `reports/${report}`,
          name: `report-${report}`,
          component: REPORTS[report],
          meta: { roles: REPORT_ROLES[report] },
        })),
        {
          path: "contracts",
          name: "contracts",
          component: () => import("./views/Contracts.vue"),
          meta: { roles: ["admin", "finance", "manager"] }, // GET /contracts: the cashiers' lists
        },
        {
          path: "contracts/:id",
          name: "contract",
          component: () => import("./views/ContractPage.vue"),
          props: true,
        },
        {
          path: "cards",
          name: "cards",
          component: () => import("./views/Cards.vue"),
          meta: { roles: CARD_ROLES },
        },
        {
          path: "cards/:id",
          name: "card",
          component: () => import("./views/CardPage.vue"),
          props: true,
          meta: { roles: CARD_ROLES },
        },
        { path: "settings", redirect: { name: "settings-frozen" } },
        {
          path: "settings/frozen",
          name: "settings-frozen",
          component: () => import("./views/settings/FrozenAccounts.vue"),
          // GET /admin/frozen-users, the unfreeze: admins, and managers for their campuses' staff
          meta: { roles: ["admin", "manager"] },
        },
        {
          path: "staff",
          name: "staff",
          component: () => import("./views/Staff.vue"),
          meta: { roles: ["admin", "manager", "supervisor"] },
        },
      ],
    },
    { path: "/:rest(.*)*", redirect: { name: "today" } },
  ],
});

router.beforeEach((to) => {
  const session = useSession();
  if (!to.meta.public && !session.signedIn) {
    return { name: "sign-in", query: to.fullPath === "/" ? {} : { redirect: to.fullPath } };
  }
  const roles = to.meta.roles as string[] | undefined;
  if (roles && !roles.includes(session.role ?? "")) return { name: "today" };
  return true;
});
