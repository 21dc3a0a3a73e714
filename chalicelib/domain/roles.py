"""Who may do what. One place, so a rule is written once."""

from __future__ import annotations

from chalicelib.schemas.users import Role

ALL_STAFF = frozenset(Role)
MANAGE_USERS = frozenset({Role.admin})
READ_USERS = frozenset({Role.admin, Role.manager, Role.supervisor})
MANAGE_CAMPUSES = frozenset({Role.admin})
# Roles that work inside campuses must belong to at least one.
NEEDS_CAMPUS = frozenset(Role) - {Role.admin, Role.finance}
MANAGE_SETTINGS = frozenset({Role.admin})
# Who lifts an anti-scraping freeze: admins any account; a campus manager the accounts of
# their campuses' consultants, supervisors, front desk and teachers (never a manager, an
# admin or finance, who belong to no campus)
UNFREEZE_ACCOUNTS = frozenset({Role.admin, Role.manager})
UNFROZEN_BY_MANAGERS = frozenset({Role.consultant, Role.supervisor, Role.frontdesk, Role.teacher})
MANAGE_SCHEDULE = frozenset({Role.admin, Role.manager})
# Here rather than beside their rules (domain.leads, domain.programmes) because the routes
# name them when they register, and importing those packages would load the store at import.
OWN_LEADS = frozenset({Role.consultant, Role.supervisor})  # hold leads of their own (mine, the pool)
ASSIGN_LEADS = frozenset({Role.admin, Role.manager, Role.supervisor})
DELETE_LEADS = frozenset({Role.admin, Role.manager})  # the recycle bin: delete, restore, purge
REVEAL_PHONES = frozenset(Role) - {Role.teacher}
MANAGE_PROGRAMMES = frozenset({Role.admin, Role.manager})
ENROL = frozenset({Role.admin, Role.manager, Role.supervisor, Role.consultant, Role.frontdesk})
# A session's roster (domain.teaching): its own teacher, and admins, managers and the front
# desk of its campus; class records: its teacher, managers of its campus, admins
ROSTER_READERS = frozenset({Role.teacher, Role.admin, Role.manager, Role.frontdesk})
CLASS_RECORD_WRITERS = frozenset({Role.teacher, Role.admin, Role.manager})
CASHIERS = frozenset({Role.finance, Role.manager, Role.admin})  # record payments and refunds
READ_RECEIVABLES = frozenset(Role) - {Role.teacher}  # 应收/欠费: each as far as they see (domain.receivables)
