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
  referrals: ["admin", "finance", "manager", "supervisor"], // 转介绍: a campus's ranking, as the consultants'
  breakdown: ["admin", "finance", "manager", "supervisor"], // 分类统计: by a list field, per campus as the funnel
  audit: ["admin", "manager"], // GET /audit (系统操作历史): chalicelib/domain/audit.py READERS
};
const REPORTS = {
  funnel: () => import("./views/reports/FunnelReport.vue"),
  consultants: () => import("./views/reports/ConsultantsReport.vue"),
  sources: () => import("./views/reports/SourcesReport.vue"),
  finance: () => import("./views/reports/FinanceReport.vue"),
  referrals: () => import("./views/reports/ReferralsReport.vue"),
  breakdown: () => import("./views/reports/BreakdownReport.vue"),
};

// Settings (设置), each page its own chunk, in the order of their tabs: managers have only the
// frozen accounts of their campuses' staff (智能预警); the rest is the admins' (the API's roles).
const ADMIN_ONLY = ["admin"];
export const SETTINGS_PAGES = [
  { key: "frozen", roles: ["admin", "manager"], component: () => import("./views/settings/FrozenAccounts.vue") },
  { key: "campuses", roles: ADMIN_ONLY, component: () => import("./views/settings/Campuses.vue") },
  { key: "lists", roles: ADMIN_ONLY, component: () => import("./views/settings/Lists.vue") },
  { key: "lead-fields", roles: ADMIN_ONLY, component: () => import("./views/settings/LeadFields.vue") },
  { key: "assessment", roles: ADMIN_ONLY, component: () => import("./views/settings/Assessment.vue") },
  { key: "security", roles: ADMIN_ONLY, component: () => import("./views/settings/Security.vue") },
  { key: "messaging", roles: ADMIN_ONLY, component: () => import("./views/settings/Messaging.vue") },
  { key: "leads", roles: ADMIN_ONLY, component: () => import("./views/settings/LeadSettings.vue") },
  { key: "cards", roles: ADMIN_ONLY, component: () => import("./views/settings/CardSettings.vue") },
  { key: "api-keys", roles: ADMIN_ONLY, component: () => import("./views/settings/ApiKeys.vue") },
  { key: "announcements", roles: ADMIN_ONLY, component: () => import("./views/settings/Announcements.vue") },
  { key: "glossary", roles: ADMIN_ONLY, component: () => import("./views/settings/Glossary.vue") },
  { key: "usage", roles: ADMIN_ONLY, component: () => import("./views/settings/Usage.vue") },
] as const;

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
        // 模板: every sender reads them; admins and managers write them (POST/PUT/DELETE /templates)
        {
          path: "messages/templates",
          name: "message-templates",
          component: () => import("./views/messages/Templates.vue"),
          meta: { roles: MESSAGE_ROLES },
        },
        {
          path: "messages/templates/new",
          name: "message-template-new",
          component: () => import("./views/messages/TemplateEdit.vue"),
          meta: { roles: ["admin", "manager"] },
        },
        {
          path: "messages/templates/:id",
          name: "message-template",
          component: () => import("./views/messages/TemplateEdit.vue"),
          props: true,
          meta: { roles: ["admin", "manager"] },
        },
        {
          path: "messages/:id",
          name: "message",
          component: () => import("./views/messages/MessagePage.vue"),
          props: true,
          meta: { roles: MESSAGE_ROLES },
        },
        { path: "reports", redirect: { name: "report-funnel" } },
        ...(["funnel", "consultants", "sources", "finance", "referrals", "breakdown"] as const).map((report) => ({
          path: `reports/${report}`,
          name: `report-${report}`,
          component: REPORTS[report],
          meta: { roles: REPORT_ROLES[report] },
        })),
        {
          path: "reports/audit",
          name: "report-audit",
          component: () => import("./views/reports/AuditReport.vue"),
          meta: { roles: REPORT_ROLES.audit },
        },
        // 课程/班级: every role reads programmes and cohorts (GET /programmes, /cohorts/{id});
        // the changes and enrolling are offered on the pages to the roles the API lets do them
        { path: "programmes", name: "programmes", component: () => import("./views/programmes/Programmes.vue") },
        {
          path: "programmes/:id",
          name: "programme",
          component: () => import("./views/programmes/ProgrammePage.vue"),
          props: true,
        },
        { path: "cohorts/:id", name: "cohort", component: () => import("./views/programmes/CohortPage.vue"), props: true },
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
        // 应收/欠费: every role but teachers (GET /receivables: READ_RECEIVABLES), each as far as they see
        {
          path: "receivables",
          name: "receivables",
          component: () => import("./views/Receivables.vue"),
          meta: { roles: ["admin", "consultant", "finance", "frontdesk", "manager", "supervisor"] },
        },
        // 我的课程: a teacher's sessions of a day (GET /me/sessions); a roster (点名) for those
        // GET /sessions/{id}/roster answers (ROSTER_READERS)
        { path: "my-sessions", name: "my-sessions", component: () => import("./views/teaching/MySessions.vue"), meta: { roles: ["teacher"] } },
        {
          path: "sessions/:id",
          name: "session-roster",
          component: () => import("./views/teaching/SessionRoster.vue"),
          props: true,
          meta: { roles: ["teacher", "admin", "manager", "frontdesk"] },
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
        {
          // the first settings page the role may see (GET /admin/frozen-users, the unfreeze:
          // admins, and managers for their campuses' staff)
          path: "settings",
          redirect: () => {
            const role = useSession().role ?? "";
            const first = SETTINGS_PAGES.find((p) => (p.roles as readonly string[]).includes(role));
            return { name: first ? `settings-${first.key}` : "today" };
          },
        },
        ...SETTINGS_PAGES.map((p) => ({
          path: `settings/${p.key}`,
          name: `settings-${p.key}`,
          component: p.component,
          meta: { roles: [...p.roles] },
        })),
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
