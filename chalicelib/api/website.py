"""Website integration: the school's public API keys, and the two routes its website calls."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, CORSConfig

from chalicelib.api.routing import Call, endpoint
from chalicelib.schemas.common import Page, PageQuery
from chalicelib.schemas.programmes import PublicCohort
from chalicelib.schemas.users import Role
from chalicelib.schemas.website import (
    ApiKey,
    ApiKeyCreated,
    ApiKeyRequest,
    ApplicationReceipt,
    ApplicationRequest,
    PublicCohortQuery,
)

if TYPE_CHECKING:
    from chalicelib.domain.api_keys import PublicCaller

bp = Blueprint(__name__)
ADMINS = frozenset({Role.admin})
# The form runs on the school's own website: any origin may call, the key decides.
PUBLIC_CORS = CORSConfig(allow_origin="*", allow_headers=["X-Api-Key", "Content-Type"], max_age=600)


def _api_key(headers: dict[str, str], source_ip: str | None) -> PublicCaller:
    """The public routes' gate: the website's X-Api-Key, its origin and rate limits
    (domain.api_keys, loaded by the first public request, not at import)."""
    from chalicelib.domain import api_keys

    return api_keys.authenticate(headers, source_ip)


@endpoint(
    bp,
    "POST",
    "/settings/api-keys",
    summary="Create a public API key for the school's website; the key is shown this once",
    tags=["website"],
    roles_allowed=ADMINS,
    body=ApiKeyRequest,
    response=ApiKeyCreated,
    status=201,
)
def create_key(call: Call[ApiKeyRequest, None]) -> ApiKeyCreated:
    from chalicelib.domain import api_keys

    return api_keys.create_key(call.principal, call.body)


@endpoint(
    bp,
    "GET",
    "/settings/api-keys",
    summary="The school's public API keys (never the keys themselves)",
    tags=["website"],
    roles_allowed=ADMINS,
    query=PageQuery,
    response=Page[ApiKey],
)
def list_keys(call: Call[None, PageQuery]) -> Page[ApiKey]:
    from chalicelib.domain import api_keys

    return api_keys.list_keys(call.principal, call.query.limit, call.query.cursor)


@endpoint(
    bp,
    "DELETE",
    "/settings/api-keys/{key_id}",
    summary="Revoke a public API key: refused from now on",
    tags=["website"],
    roles_allowed=ADMINS,
    status=204,
)
def revoke_key(call: Call[None, None]) -> None:
    from chalicelib.domain import api_keys

    api_keys.revoke_key(call.principal, call.params["key_id"])


@endpoint(
    bp,
    "GET",
    "/public/cohorts",
    summary="Open cohorts with seats left, for the school's website (X-Api-Key)",
    tags=["public"],
    public=True,
    query=PublicCohortQuery,
    response=Page[PublicCohort],
    cors=PUBLIC_CORS,
    gate=_api_key,
)
def public_cohorts(call: Call[None, PublicCohortQuery]) -> Page[PublicCohort]:
    from chalicelib.domain import website

    return website.open_cohorts(call.caller, call.query)


@endpoint(
    bp,
    "POST",
    "/public/applications",
    summary="An application from the school's web form (X-Api-Key): becomes a lead",
    tags=["public"],
    public=True,
    body=ApplicationRequest,
    response=ApplicationReceipt,
    status=202,
    cors=PUBLIC_CORS,
    gate=_api_key,
)
def apply(call: Call[ApplicationRequest, None]) -> ApplicationReceipt:
    from chalicelib.domain import website

    return website.apply(call.caller, call.body)
