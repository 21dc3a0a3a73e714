from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.routing import Call, endpoint
from chalicelib.domain import roles
from chalicelib.schemas.common import Page
from chalicelib.schemas.staff import EmployeeRecord, EmployeeRecordRequest, Offboarding, OffboardRequest
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


@endpoint(
    bp,
    "POST",
    "/users/{user_id}/offboard",
    summary="Staff leaving (离职交接): disable the account and hand its leads, open plans and future "
    "appointments to a consultant or the pool",
    tags=["users"],
    roles_allowed=roles.MANAGE_USERS,
    body=OffboardRequest,
    response=Offboarding,
    status=202,
)
def offboard_user(call: Call[OffboardRequest, None]) -> Offboarding:
    from chalicelib.domain import offboarding

    return offboarding.start(call.principal, call.params["user_id"], call.body)


@endpoint(
    bp,
    "GET",
    "/users/{user_id}/offboarding",
    summary="A leaving user's handover: its state and what it moved",
    tags=["users"],
    roles_allowed=roles.MANAGE_USERS,
    response=Offboarding,
)
def get_offboarding(call: Call[None, None]) -> Offboarding:
    from chalicelib.domain import offboarding

    return offboarding.get(call.principal, call.params["user_id"])


@endpoint(
    bp,
    "GET",
    "/users/{user_id}/record",
    summary="Employee record (员工档案): hire date, phone, e-mail, ID number (masked), notes",
    tags=["users"],
    roles_allowed=roles.MANAGE_USERS,
    response=EmployeeRecord,
)
def get_employee_record(call: Call[None, None]) -> EmployeeRecord:
    from chalicelib.domain import employee_records

    return employee_records.get_record(call.principal, call.params["user_id"])


@endpoint(
    bp,
    "PUT",
    "/users/{user_id}/record",
    summary="Set an employee record (员工档案); the ID number sent back masked keeps it",
    tags=["users"],
    roles_allowed=roles.MANAGE_USERS,
    body=EmployeeRecordRequest,
    response=EmployeeRecord,
)
def put_employee_record(call: Call[EmployeeRecordRequest, None]) -> EmployeeRecord:
    from chalicelib.domain import employee_records

    return employee_records.put_record(call.principal, call.params["user_id"], call.body)
