"""Programmes (课程): creating, reading, listing and changing them."""

from __future__ import annotations

from chalicelib.db import programmes as programmes_db
from chalicelib.domain import clock, ids
from chalicelib.domain.auth import Principal
from chalicelib.domain.programmes.common import _invalid
from chalicelib.errors import NotFoundError
from chalicelib.schemas.common import Page, PageQuery
from chalicelib.schemas.programmes import (
    Programme,
    ProgrammePatch,
    ProgrammeRequest,
)


def _programme_not_found() -> NotFoundError:
    return NotFoundError("No such programme.", code="PROGRAMME_NOT_FOUND")


def create_programme(principal: Principal, request: ProgrammeRequest) -> Programme:
    now = clock.iso(clock.now())
    data = {
        **request.model_dump(),
        "id": ids.new_id(),
        "active": True,
        "created_by": principal.user_id,
        "created_at": now,
        "updated_at": now,
    }
    programmes_db.put_programme(principal.tenant, data)
    return Programme.model_validate(data)


def get_programme(principal: Principal, programme_id: str) -> Programme:
    data = programmes_db.get_programme(principal.tenant, programme_id)
    if data is None:
        raise _programme_not_found()
    return Programme.model_validate(data)


def list_programmes(principal: Principal, query: PageQuery) -> Page[Programme]:
    items, cursor = programmes_db.list_programmes(
        principal.tenant, active=None, limit=query.limit, cursor=query.cursor, scope=f"{principal.tenant}:programmes"
    )
    return Page[Programme](items=[Programme.model_validate(p) for p in items], next_cursor=cursor)


def patch_programme(principal: Principal, programme_id: str, patch: ProgrammePatch) -> Programme:
    changes = patch.model_dump(exclude_unset=True)
    for name in ("name", "kind", "recurrence", "active"):
        if name in changes and changes[name] is None:
            raise _invalid(name, "may not be null")
    if not changes:
        return get_programme(principal, programme_id)
    changes["updated_at"] = clock.iso(clock.now())
    data = programmes_db.update_programme(principal.tenant, programme_id, changes)
    if data is None:
        raise _programme_not_found()
    return Programme.model_validate(data)
