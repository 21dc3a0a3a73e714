from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.routing import Call, endpoint
from chalicelib.domain import auth, users
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
    errors=[401, 429],
)
def login(call: Call) -> LoginResponse:
    result = auth.login(call.body)
    count("SignIns")
    return result


@endpoint(bp, "GET", "/me", summary="The signed-in user and their school", tags=["auth"], response=MeResponse)
def get_me(call: Call) -> MeResponse:
    return users.me(call.principal)
