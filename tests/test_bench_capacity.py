"""Calls recorded against DynamoDB Local, priced by bench/capacity.py (its rules on hand-made calls:
tests/unit/test_capacity_model.py)."""

from __future__ import annotations

import secrets

import pytest

from bench import capacity

# --- a recorded call ----------------------------------------------------------------------


def test_a_recorded_getitem_keeps_its_item_and_is_priced_half_a_unit(table):
    from chalicelib.db import keys, telemetry
    from chalicelib.db import tenants as tenants_db
    from chalicelib.domain.tenants import create_tenant

    # GIVEN a tenant in DynamoDB Local
    slug = "cap-" + secrets.token_hex(3)
    create_tenant(
        slug=slug,
        name="容量测试学校",
        timezone="Asia/Shanghai",
        phone_region="CN",
        admin_username="admin",
        admin_password="admin-pass-" + secrets.token_hex(4),
    )
    # WHEN it is read through the app's pynamodb model while recording
    with telemetry.record() as rec:
        tenant = tenants_db.get(slug)
    # THEN one GetItem was recorded, with the item DynamoDB returned
    assert tenant is not None and tenant.slug == slug
    assert rec.operations == ["GetItem"]
    call = rec.calls[0]
    assert call.error is None
    assert call.response is not None
    assert call.response["Item"]["PK"] == {"S": keys.tenant_pk(slug)}
    assert call.response["Item"]["name"] == {"S": "容量测试学校"}
    # AND by AWS's rules it costs 0.5 RRU (a small item, eventually consistent), as DynamoDB Local says
    cost = capacity.cost_call(call)
    assert cost.rru == 0.5
    assert cost.total == pytest.approx(call.capacity_units)


def test_nested_recorders_each_see_their_calls(table):
    # GIVEN two recorders, one inside the other, that see identical calls
    from chalicelib.db import telemetry, tenants

    with telemetry.record() as outer:
        with telemetry.record() as inner:
            tenants.get("no-such-school")
        tenants.get("no-such-school")
    # THEN leaving the inner one does not drop the outer one, and each has its own count
    assert inner.operations == ["GetItem"]
    assert outer.operations == ["GetItem", "GetItem"]
