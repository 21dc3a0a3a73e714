from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.routing import Call, endpoint
from chalicelib.db import tenants as tenants_db
from chalicelib.domain import audit, auth, users
from chalicelib.errors import CrmError
from chalicelib.observability import count
from chalicelib.schemas.users import LoginRequest, LoginResponse, MeResponse

bp = Blueprint(__name__)


@endpoint(
    bp,
    "POST",
    "/auth/login",
    summary="Sign in; returns a bearer token",
    tags=["auth"],
    public=True,
    body=LoginRequest,
    response=LoginResponse,
)
def login(call: Call[LoginRequest, None]) -> LoginResponse:
    tenant = call.body.tenant.strip().lower()
    seen = {"username": call.body.username.strip(), "ip": call.source_ip, "user_agent": call.user_agent}
    try:
        result = auth.login(call.body, call.source_ip)
    except CrmError as exc:
        if tenants_db.get(tenant) is not None:  # a school that exists: its audit shows the attempt
            audit.record(tenant, action="sign_in_failed", status=exc.status, details=exc.code, **seen)
        raise
    audit.record(tenant, action="sign_in", status=200, **seen)
    count("SignIns")
    return result


@endpoint(bp, "GET", "/me", summary="The signed-in user and their school", tags=["auth"], response=MeResponse)
def get_me(call: Call[None, None]) -> MeResponse:
    return users.me(call.principal)
