"""Seeding a benchmark school fast: background leads (and what goes with each) written with
BatchWriteItem. `write_background` is the one writer; `seed_leads` (dashboard) and the jobs
section's seeding differ only in the fields they give it."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any


def write_background(
    stack,
    start: int,
    stop: int,
    *,
    name: str,
    phone_prefix: str,
    owner: Callable[[int], str],
    fields: Callable[[int, datetime], dict[str, Any]],
    visit_days_ago: int,
    extra: Callable[[Any], Iterable[Any]] | None = None,
) -> float:
    """Leads numbered [start, stop), each `name{n}` with the guardian phone `phone_prefix` + n
    (8 digits), owned by `owner(n)` since now, `fields(n, now)` on top; the items `extra(lead)`
    gives; one past visit per 10 leads, `visit_days_ago + n % 300` days ago. One
    `LeadItem.batch_write()` (BatchWriteItem, 25 items a call); returns items per second."""
    from chalicelib.db import leads as leads_db
    from chalicelib.db import schedule as schedule_db
    from chalicelib.db.items import LeadItem
    from chalicelib.domain import clock, ids
    from chalicelib.schemas.leads import Guardian, Lead, Phone
    from chalicelib.schemas.schedule import Appointment

    now = clock.now()
    began, written = time.perf_counter(), 0
    with LeadItem.batch_write() as batch:
        for n in range(start, stop):
            lead_owner = owner(n)
            lead_id = ids.new_id()
            raw = f"{phone_prefix}{n:08d}"
            lead = Lead(
                id=lead_id,
                name=f"{name}{n}",
                family_id=lead_id,
                campus_id=stack.campus_id,
                owner_id=lead_owner,
                owner_name="x",
                owned_since=now,
                status="potential",
                created_by=lead_owner,
                created_at=now,
                updated_at=now,
                guardians=[Guardian(name="家长", phones=[Phone(e164="+86" + raw, raw=raw)])],
                **fields(n, now),
            )
            batch.save(leads_db.lead_item(stack.tenant, lead))
            written += 1
            for item in extra(lead) if extra else ():
                batch.save(item)
                written += 1
            if n % 10 == 0:
                visit = Appointment(
                    id=f"{lead_id}-{ids.new_id()}",
                    lead_id=lead_id,
                    lead_name=lead.name,
                    kind="visit",
                    at=now - timedelta(days=visit_days_ago + n % 300),
                    campus_id=stack.campus_id,
                    owner_id=lead_owner,
                    status="booked",
                    booked_by=lead_owner,
                    created_at=now,
                )
                batch.save(schedule_db.appointment_item(stack.tenant, visit))
                written += 1
    return written / (time.perf_counter() - began)


def seed_leads(stack, owners: list[str], mine: str, start: int, stop: int) -> float:
    """Leads numbered [start, stop): 80% other consultants', 20% this consultant's but due next
    month; one past visit per 10 leads. Written with BatchWriteItem; returns items per second."""
    return write_background(
        stack,
        start,
        stop,
        name="背景学员",
        phone_prefix="139",
        owner=lambda n: mine if n % 5 == 0 else owners[n % len(owners)],
        fields=lambda n, now: {"next_follow_up_at": now + timedelta(days=30 + n % 30)},
        visit_days_ago=1,
    )


def consultant(stack, name: str) -> tuple[str, str]:
    password = "bench-pass-" + secrets.token_hex(6)
    user = stack.call(
        "POST",
        "/users",
        {
            "username": name,
            "password": password,
            "display_name": name,
            "role": "consultant",
            "campus_ids": [stack.campus_id],
        },
        expect=201,
    ).json_body
    token = stack.login(name, password).json_body["token"]
    return user["id"], token


def as_user(stack, token: str):
    """`call(method, path, body=None, expect=200)` with this user's token, through the handler."""
    import json

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(method, path, body=None, expect=200):
        raw = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        response = stack.http.request(method, path, headers=headers, body=raw)
        if response.status_code != expect:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.body[:200]!r}")
        return response

    return call
