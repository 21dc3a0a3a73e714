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
MANAGE_SCHEDULE = frozenset({Role.admin, Role.manager})
