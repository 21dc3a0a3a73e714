"""Employee records (员工档案): hire date, phone, e-mail, ID number and notes, for admins.

Phone and e-mail stay on the user (where the staff directory shows them); the rest is an
item of its own beside the user (`PROFILE#<user>`), so the user item every request reads
does not grow. The ID number is stored as typed and only ever shown masked
(`1101**********123X`); a form that sends the masked value back keeps the number.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from chalicelib.db import staff as staff_db
from chalicelib.db import users as users_db
from chalicelib.domain import clock
from chalicelib.domain.auth import Principal
from chalicelib.domain.tenants import get_tenant
from chalicelib.errors import NotFoundError, ValidationFailedError
from chalicelib.schemas.staff import EmployeeRecord, EmployeeRecordRequest
from chalicelib.schemas.users import UserRecord

_MAINLAND_ID = re.compile(r"^\d{17}[\dX]$")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def mask(number: str) -> str:
    """The first four and last four characters (of a short number: the last two) shown."""
    if len(number) > 8:
        return number[:4] + "*" * (len(number) - 8) + number[-4:]
    return "*" * (len(number) - 2) + number[-2:]


def _mainland_ok(number: str) -> bool:
    total = sum(int(d) * w for d, w in zip(number[:17], _WEIGHTS, strict=True))
    return _CHECK[total % 11] == number[17]


def _invalid(message: str) -> ValidationFailedError:
    return ValidationFailedError(f"id_number: {message}", details=[{"field": "id_number", "message": message}])


def _id_number(sent: str | None, stored: str | None) -> str | None:
    if sent is None:
        return None
    if "*" in sent:
        if stored is None or mask(stored) != sent:
            raise _invalid("a masked number must be the one on record, as shown")
        return stored
    number = sent.upper()
    mainland = len(number) == 18 and number[:17].isdigit()
    if mainland and not (_MAINLAND_ID.match(number) and _mainland_ok(number)):
        raise _invalid("not a valid mainland ID number (check digit)")
    return number


def _user(principal: Principal, user_id: str, *, consistent: bool = False) -> UserRecord:
    user = users_db.get(principal.tenant, user_id, consistent=consistent)
    if user is None:
        raise NotFoundError("No such user.", code="USER_NOT_FOUND")
    return user


def get_record(principal: Principal, user_id: str, *, consistent: bool = False) -> EmployeeRecord:
    user = _user(principal, user_id, consistent=consistent)
    record = staff_db.employee_record(principal.tenant, user_id, consistent=consistent) or {}
    left_on: date | None = None
    if not user.active:
        offboarding = staff_db.get(principal.tenant, user_id, consistent=consistent)
        if offboarding is not None:
            zone = ZoneInfo(get_tenant(principal.tenant).timezone)
            left_on = datetime.fromisoformat(offboarding["created_at"]).astimezone(zone).date()
    return EmployeeRecord(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role.value,
        active=user.active,
        hire_date=record.get("hire_date"),
        phone=user.phone,
        email=user.email,
        id_number=mask(record["id_number"]) if record.get("id_number") else None,
        notes=record.get("notes"),
        left_on=left_on,
        updated_at=record.get("updated_at"),
        updated_by=record.get("updated_by"),
    )


def put_record(principal: Principal, user_id: str, request: EmployeeRecordRequest) -> EmployeeRecord:
    _user(principal, user_id)
    stored = (staff_db.employee_record(principal.tenant, user_id) or {}).get("id_number")
    record = {
        "hire_date": request.hire_date.isoformat() if request.hire_date else None,
        "id_number": _id_number(request.id_number, stored),
        "notes": request.notes or None,
        "updated_at": clock.iso(clock.now()),
        "updated_by": principal.user_id,
    }
    staff_db.save_employee_record(principal.tenant, user_id, record, request.phone or None, request.email or None)
    return get_record(principal, user_id, consistent=True)
