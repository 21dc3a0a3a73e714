from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.routing import Call, endpoint
from chalicelib.domain import roles
from chalicelib.schemas.campuses import Campus, CampusCreateRequest, CampusPatchRequest
from chalicelib.schemas.common import Page, PageQuery
from chalicelib.schemas.users import Role

bp = Blueprint(__name__)
CAMPUS_EDITORS = frozenset({Role.admin, Role.manager})


@endpoint(
    bp,
    "POST",
    "/campuses",
    summary="Open a campus (校区)",
    tags=["campuses"],
    roles_allowed=roles.MANAGE_CAMPUSES,
    body=CampusCreateRequest,
    response=Campus,
    status=201,
)
def create_campus(call: Call[CampusCreateRequest, None]) -> Campus:
    from chalicelib.domain import tenants

    return tenants.create_campus(call.principal, call.body)


@endpoint(bp, "GET", "/campuses", summary="List campuses", tags=["campuses"], query=PageQuery, response=Page[Campus])
def list_campuses(call: Call[None, PageQuery]) -> Page[Campus]:
    from chalicelib.domain import tenants

    return tenants.list_campuses(call.principal, call.query.limit, call.query.cursor)


@endpoint(
    bp,
    "PATCH",
    "/campuses/{campus_id}",
    summary="Change a campus: name, address, phone (admins) or duty consultant (值班顾问, gets its web applications)",
    tags=["campuses"],
    roles_allowed=CAMPUS_EDITORS,
    body=CampusPatchRequest,
    response=Campus,
)
def patch_campus(call: Call[CampusPatchRequest, None]) -> Campus:
    from chalicelib.domain import tenants

    return tenants.patch_campus(call.principal, call.params["campus_id"], call.body)
