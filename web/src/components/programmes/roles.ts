// Who may do what with programmes and cohorts, as the API decides (chalicelib/domain/roles.py):
// what a role may not do is not offered.

/** MANAGE_PROGRAMMES: create and change programmes, open and change cohorts */
export const MANAGE_PROGRAMMES = ["admin", "manager"];
/** ENROL: enrol a lead in a cohort, confirm or decline an enrolment */
export const ENROL = ["admin", "manager", "supervisor", "consultant", "frontdesk"];
/** CASHIERS: record payments (a contract's, an enrolment's) and refunds */
export const CASHIERS = ["finance", "manager", "admin"];
