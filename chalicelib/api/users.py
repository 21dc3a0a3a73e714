from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.routing import Call, endpoint
from chalicelib.domain import roles
from chalicelib.schemas.common import Page
from chalicelib.schemas.users import PasswordResetRequest, User, UserCreateRequest, UserListQuery, UserPatchRequest

bp = Blueprint(__name__)


@endpoint(
    bp,
    "POST",
    "/users",
    summary="Create a staff account",
    tags=["users"],
    roles_allowed=roles.MANAGE_USERS,
    body=UserCreateRequest,
    response=User,
    status=201,
)
def create_user(call: Call[UserCreateRequest, None]) -> User:
    from chalicelib.domain import users

    return users.create_user(call.principal, call.body)


@endpoint(
    bp,
    "GET",
    "/users",
    summary="List staff (optionally one supervisor's team)",
    tags=["users"],
    roles_allowed=roles.READ_USERS,
    query=UserListQuery,
    response=Page[User],
)
def list_users(call: Call[None, UserListQuery]) -> Page[User]:
    from chalicelib.domain import users

    return users.list_users(call.principal, call.query)


@endpoint(bp, "GET", "/users/{user_id}", summary="One staff account", tags=["users"], response=User)
def get_user(call: Call[None, None]) -> User:
    from chalicelib.domain import users

    return users.get_user(call.principal, call.params["user_id"])


@endpoint(
    bp,
    "PATCH",
    "/users/{user_id}",
    summary="Change role, team, campuses or disable an account",
    tags=["users"],
    roles_allowed=roles.MANAGE_USERS,
    body=UserPatchRequest,
    response=User,
)
def patch_user(call: Call[UserPatchRequest, None]) -> User:
    from chalicelib.domain import users

    return users.patch_user(call.principal, call.params["user_id"], call.body)


@endpoint(
    bp,
    "POST",
    "/users/{user_id}/password",
    summary="Set a staff account's password (it forgot its own); every session of it ends",
    tags=["users"],
    roles_allowed=roles.MANAGE_USERS,
    body=PasswordResetRequest,
    response=User,
)
def reset_password(call: Call[PasswordResetRequest, None]) -> User:
    from chalicelib.domain import users

    return users.reset_password(call.principal, call.params["user_id"], call.body.password)
