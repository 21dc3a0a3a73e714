"""What a write costs by AWS's rules with the table's own index projections (issue 17), and the
lists that the narrower indexes changed: each index holds keys and filter attributes only
(infra/table.yml), GSI2/GSI4 only leads with a next follow-up.

Costs are priced by bench/capacity.py from the calls recorded with telemetry.record(), with
the projections read from infra/table.yml: a Put costs 1 WRU per KB, twice in a transaction,
plus a write per index the item is in, of its projected size."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import capacity
from infra.local.table import ensure_table, load_template, table_properties
from tests.test_appointments import centre  # noqa: F401 - the fixture
from tests.test_cards import _card, _contract, _move
from tests.test_leads import lead_body


def _write_units(rec: Any) -> capacity.Cost:
    indexes = capacity.indexes_from_table(table_properties())
    return capacity.cost_calls([c for c in rec.calls if c.operation in capacity.WRITE_OPERATIONS], indexes=indexes)


def _lead_put(rec: Any) -> dict[str, Any]:
    for call in rec.calls:
        for action in call.params.get("TransactItems") or []:
            item = action.get("Put", {}).get("Item") or {}
            if item.get("SK") == {"S": "LEAD"}:
                return dict(item)
    raise AssertionError("no lead written")


def test_creating_a_lead_costs_at_most_12_write_units_and_its_index_copies_one_each(school):
    from chalicelib.db import telemetry

    # GIVEN a consultant whose school has a protection period (the lead is filed for its reclaim)
    alice = school.staff("consultant")
    alice.post("/leads", lead_body())  # the dictionaries' first use is marked once, not per lead
    # WHEN they add a lead with a phone, as the bench does, and one with long notes
    body = {"name": "新学员", "guardians": [{"name": "家长", "phones": [f"137{uuid.uuid4().int % 10**8:08d}"]}]}
    with telemetry.record() as rec:
        assert alice.post("/leads", body).status_code == 201
    noted = lead_body(notes="家长希望周末上课，对美术和书法都有兴趣。" * 20)
    with telemetry.record() as noted_rec:
        assert alice.post("/leads", noted).status_code == 201
    # THEN by AWS rules the whole request writes at most 12 units (22 before issue 17): the
    # lead (under 1 KB), its phone claim, its history and the owner counter in one transaction
    # (2 units each), one unit for each of the 3 indexes it is in, and the audit entry
    cost = _write_units(rec)
    assert cost.wru + cost.gsi_wru <= 12, cost.as_dict()
    lead = _lead_put(rec)
    assert capacity.item_size(lead) <= 1024
    # AND a lead without a next follow-up is not copied into GSI2/GSI4
    assert not {"GSI2PK", "GSI4PK"} & set(lead)
    # AND notes stay out of the index copies: the noted lead's copies cost 1 unit each
    noted_cost = _write_units(noted_rec)
    assert noted_cost.gsi_wru <= cost.gsi_wru + 1  # + the birthday marker's DUE copy
    assert capacity.item_size(_lead_put(noted_rec)) > 1024


def test_editing_a_leads_notes_writes_no_index_copy(school):
    from chalicelib.db import telemetry

    # GIVEN a lead
    alice = school.staff("consultant")
    lead = alice.post("/leads", lead_body()).json_body
    # WHEN only its notes change
    with telemetry.record() as rec:
        response = alice.patch(f"/leads/{lead['id']}", {"notes": "周末上课"})
    assert response.status_code == 200, response.body
    # THEN the write changes no attribute any index holds (its keys, the table's keys, its
    # INCLUDE list), so AWS writes no index copy
    held = set()
    for index in capacity.indexes_from_table(table_properties()).values():
        held |= {k for k in index if k} | set(index.table_keys) | set(index.include)
    changed = set()
    for call in rec.calls:
        for action in call.params.get("TransactItems") or []:
            if "Update" in action and action["Update"]["Key"]["SK"] == {"S": "LEAD"}:
                changed |= {name for clause, name, _ in capacity.update_actions(action["Update"])}
    assert "notes" in changed
    assert not changed & held, changed & held


def test_a_trial_booking_costs_at_most_13_write_units(centre):  # noqa: F811 - the fixture
    from chalicelib.db import telemetry

    # GIVEN a lead and a class session with seats
    lead = centre.alice.post("/leads", lead_body(name="试听")).json_body
    # WHEN the consultant books a trial
    with telemetry.record() as rec:
        response = centre.alice.post(
            f"/leads/{lead['id']}/appointments", {"kind": "trial", "session_id": centre.sessions[0]["id"]}
        )
    assert response.status_code == 201, response.body
    # THEN by AWS rules it writes at most 13 units (booking, trial marker, appointment and
    # seat count in one transaction, the appointment's 3 index copies, the audit entry)
    cost = _write_units(rec)
    assert cost.wru + cost.gsi_wru <= 13, cost.as_dict()


def test_a_card_deduction_costs_at_most_5_write_units(school):
    from chalicelib.db import telemetry

    # GIVEN a member's card with credits
    alice, front = school.staff("consultant"), school.staff("frontdesk")
    lead = alice.post("/leads", lead_body(name="持卡")).json_body
    card = _card(front, lead["id"], [_contract(alice, [lead["id"]], credits="10")["id"]])
    assert _move(front, card["id"], kind="deduction", credits="1").status_code == 201
    # WHEN a lesson is deducted
    with telemetry.record() as rec:
        assert _move(front, card["id"], kind="deduction", credits="1").status_code == 201
    # THEN by AWS rules it writes at most 5 units: the card and its ledger entry in one
    # transaction, and the audit entry; neither is in an index
    cost = _write_units(rec)
    assert cost.wru + cost.gsi_wru <= 5, cost.as_dict()
    assert cost.gsi_wru == 0


def _next_follow_up(session, lead_id: str, when: datetime) -> None:
    body = {"method": "phone", "content": "约好再联系", "next_follow_up_at": when.isoformat()}
    response = session.post(f"/leads/{lead_id}/follow-ups", body)
    assert response.status_code == 201, response.body


def _all_pages(session, path: str, limit: int) -> list[str]:
    from urllib.parse import quote

    seen, cursor = [], None
    for _ in range(20):
        page = session.get(f"{path}&limit={limit}" + (f"&cursor={quote(cursor, safe='')}" if cursor else "")).json_body
        seen += [lead["id"] for lead in page["items"]]
        cursor = page.get("next_cursor")
        if not cursor:
            return seen
    raise AssertionError("the list did not end")


def test_by_next_follow_up_dated_leads_come_soonest_first_then_the_others_each_once(school):
    # GIVEN five leads of a consultant, three with a next follow-up (not in creation order)
    alice = school.staff("consultant")
    manager = school.staff("manager")
    made = [alice.post("/leads", lead_body(name=f"学员{i}")).json_body["id"] for i in range(5)]
    soon = datetime.now(UTC) + timedelta(days=2)
    _next_follow_up(alice, made[3], soon)
    _next_follow_up(alice, made[1], soon + timedelta(hours=1))
    _next_follow_up(alice, made[4], soon + timedelta(hours=2))
    expected = [made[3], made[1], made[4], made[0], made[2]]
    # WHEN the consultant and the manager page through the list by next follow-up, 2 at a time
    # (so a page spans the dated leads and those without a date)
    for session in (alice, manager):
        for limit in (2, 3, 50):
            # THEN the dated leads come soonest first, then the others oldest first, each once
            listed = _all_pages(session, "/leads?sort=next_follow_up", limit)
            assert [i for i in listed if i in made] == expected, (session.user["role"], limit)
    # AND a range with an end keeps only the dated leads within it
    until = (soon + timedelta(hours=1, minutes=30)).isoformat()
    from urllib.parse import quote

    ranged = alice.get(f"/leads?sort=next_follow_up&next_to={quote(until)}").json_body
    assert [i["id"] for i in ranged["items"]] == [made[3], made[1]]
    assert ranged.get("next_cursor") is None


def test_the_bootstrap_rebuilds_an_index_whose_projection_changed_keeping_the_items(ddb_client, tmp_path):
    import yaml

    # GIVEN a local table made when every index projected ALL, holding a lead
    older = load_template()
    for gsi in older["Resources"]["CrmTable"]["Properties"]["GlobalSecondaryIndexes"]:
        gsi["Projection"] = {"ProjectionType": "ALL"}
    older_path = tmp_path / "older.yml"
    older_path.write_text(yaml.safe_dump(older), encoding="utf-8")
    name = f"projection-{secrets.token_hex(4)}"
    ensure_table(ddb_client, name, older_path)
    try:
        item = {
            "PK": {"S": "T#t1#LEAD#1"},
            "SK": {"S": "LEAD"},
            "type": {"S": "Lead"},
            "status": {"S": "potential"},
            "notes": {"S": "长长的备注"},
            "GSI3PK": {"S": "T#t1#CAMPUS#c"},
            "GSI3SK": {"S": "2026-01-01#1"},
        }
        ddb_client.put_item(TableName=name, Item=item)
        # WHEN the bootstrap runs with the current definition
        after = ensure_table(ddb_client, name)
        # THEN every index has the projection infra/table.yml gives it
        wanted = {g["IndexName"]: g["Projection"] for g in table_properties()["GlobalSecondaryIndexes"]}
        got = {g["IndexName"]: g["Projection"] for g in after["GlobalSecondaryIndexes"]}
        assert {k: (v["ProjectionType"], sorted(v.get("NonKeyAttributes", []))) for k, v in got.items()} == {
            k: (v["ProjectionType"], sorted(v.get("NonKeyAttributes", []))) for k, v in wanted.items()
        }
        # AND the item is still there, found through the rebuilt index without its notes
        assert ddb_client.get_item(TableName=name, Key={"PK": item["PK"], "SK": item["SK"]})["Item"] == item
        found = ddb_client.query(
            TableName=name,
            IndexName="GSI3",
            KeyConditionExpression="GSI3PK = :p",
            ExpressionAttributeValues={":p": item["GSI3PK"]},
        )["Items"]
        assert [f["status"] for f in found] == [item["status"]]
        assert "notes" not in found[0]
    finally:
        ddb_client.delete_table(TableName=name)


def test_the_models_project_what_infra_defines():
    # GIVEN the pynamodb index classes and infra/table.yml
    from chalicelib.db.base import BaseItem

    defined = {g["IndexName"]: g["Projection"] for g in table_properties()["GlobalSecondaryIndexes"]}
    for index in (BaseItem.gsi1, BaseItem.gsi2, BaseItem.gsi3, BaseItem.gsi4, BaseItem.due):
        schema = index._get_schema()
        # THEN each holds the same attributes, and together they stay within AWS's 100
        projection = defined[schema["index_name"]]
        assert schema["projection"]["ProjectionType"] == projection["ProjectionType"]
        assert sorted(schema["projection"]["NonKeyAttributes"]) == sorted(projection["NonKeyAttributes"])
    assert sum(len(p.get("NonKeyAttributes", [])) for p in defined.values()) <= 100


def test_a_page_leaves_out_a_lead_that_left_the_partition_it_was_read_from(school):
    from chalicelib.db import hydrate, keys
    from chalicelib.db.items import LeadItem

    # GIVEN a consultant's lead with notes, as their list's index partition holds it (no notes)
    alice = school.staff("consultant")
    lead = alice.post("/leads", lead_body(name="要转走的", notes="只给本人看的备注")).json_body
    partition, pk = keys.owner_scope(school.slug, alice.user["id"], ""), keys.lead_pk(school.slug, lead["id"])
    read = [i for i in LeadItem.gsi1.query(partition) if pk == i.PK]
    assert len(read) == 1 and read[0].notes is None
    # WHEN completed from the table it is the whole lead
    assert [i.notes for i in hydrate.full(read, "GSI1")] == ["只给本人看的备注"]
    # AND once the lead has left that partition (released to the pool) before the page is completed
    assert alice.post(f"/leads/{lead['id']}/release").status_code == 200
    # THEN the page leaves it out rather than show the lead as it is now
    assert hydrate.full(read, "GSI1") == []
