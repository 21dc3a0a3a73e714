from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.routing import Call, endpoint
from chalicelib.domain import roles, tenants
from chalicelib.schemas.campuses import Campus, CampusCreateRequest
from chalicelib.schemas.common import Page, PageQuery

bp = Blueprint(__name__)


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
def create_campus(call: Call) -> Campus:
    return tenants.create_campus(call.principal, call.body)


@endpoint(bp, "GET", "/campuses", summary="List campuses", tags=["campuses"], query=PageQuery, response=Page[Campus])
def list_campuses(call: Call) -> Page[Campus]:
    return tenants.list_campuses(call.principal, call.query.limit, call.query.cursor)
