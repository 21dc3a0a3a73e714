from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.routing import Call, endpoint
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
    from chalicelib.domain import sign_in

    result = sign_in.attempt(call.body, call.source_ip, call.user_agent)
    count("SignIns")
    return result


@endpoint(bp, "GET", "/me", summary="The signed-in user and their school", tags=["auth"], response=MeResponse)
def get_me(call: Call[None, None]) -> MeResponse:
    from chalicelib.domain import users

    return users.me(call.principal)
