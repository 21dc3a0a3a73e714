"""Leads: the shared customer base, visibility by role, duplicates, the pool."""

from __future__ import annotations

import concurrent.futures
import secrets

import pytest

from chalicelib.db import telemetry
from tests.conftest import race_report, race_rounds


def _phone() -> str:
    return "139" + "".join(secrets.choice("0123456789") for _ in range(8))


def lead_body(name="王小明", phone=None, **extra):
    phone = phone or _phone()
    return {
        "name": name,
        "birthday": "2021-05-03",
        "guardians": [{"name": "王妈妈", "relation": "mother", "phones": [phone]}],
        **extra,
    }


@pytest.fixture
def sales(school):
    """A campus team: a supervisor with two consultants, a consultant outside the team, a manager."""
    school.supervisor = school.staff("supervisor", display_name="主管老周")
    school.alice = school.staff("consultant", display_name="顾问Alice", supervisor_id=school.supervisor.user["id"])
    school.bob = school.staff("consultant", display_name="顾问Bob", supervisor_id=school.supervisor.user["id"])
    school.carol = school.staff("consultant", display_name="顾问Carol")
    school.manager = school.staff("manager")
    return school


def _ids(page):
    return {item["id"] for item in page["items"]}


def test_a_consultant_adds_a_lead_and_owns_it(sales):
    response = sales.alice.post("/leads", lead_body(phone="138 0013 8000"))
    assert response.status_code == 201
    lead = response.json_body
    assert lead["id"] and lead["name"] == "王小明"
    assert lead["owner_id"] == sales.alice.user["id"] and lead["owner_name"] == "顾问Alice"
    assert lead["guardians"][0]["phones"] == ["138****8000"]  # masked
    assert "13800138000" not in response.body.decode()
    detail = sales.alice.get(f"/leads/{lead['id']}").json_body
    assert [h["action"] for h in detail["history"]] == ["created"]


def test_a_duplicate_phone_in_another_format_is_a_409_naming_the_lead(sales):
    first = sales.alice.post("/leads", lead_body(phone="138 0013 8001")).json_body
    response = sales.alice.post("/leads", lead_body(name="李雷", phone="+86 13800138001"))
    assert response.status_code == 409
    error = response.json_body["error"]
    assert error["code"] == "DUPLICATE_PHONE"
    assert error["details"][0]["lead_id"] == first["id"]
    assert error["details"][0]["owner_name"] == "顾问Alice"
    assert error["details"][0]["status"] == "potential"


def test_a_consultant_never_sees_the_full_phone_or_name_of_a_lead_outside_their_view(sales):
    sales.alice.post("/leads", lead_body(name="保密的孩子", phone="13800138002"))
    response = sales.carol.post("/leads", lead_body(phone="13800138002"))
    assert response.status_code == 409
    body = response.body.decode()
    assert "13800138002" not in body and "保密的孩子" not in body
    detail = response.json_body["error"]["details"][0]
    assert detail["visible"] is False and detail["phone"] == "138****8002" and "lead_id" not in detail


def test_a_teacher_told_a_phone_is_taken_learns_whom_to_ask_not_whose_lead_it_is(sales):
    sales.alice.post("/leads", lead_body(name="别人的孩子", phone="13800138004"))
    teacher = sales.staff("teacher", display_name="美术老师")
    response = teacher.post("/leads", lead_body(phone="13800138004"))
    assert response.status_code == 409
    error = response.json_body["error"]
    assert error["code"] == "DUPLICATE_PHONE" and "already a customer of the school" in error["message"]
    manager = sales.manager.user
    assert error["details"][0]["ask_name"] == manager["display_name"] in error["message"]
    assert error["details"][0]["ask_user_id"] == manager["id"]
    body = response.body.decode()
    for secret in ("顾问Alice", sales.alice.user["id"], "potential", "别人的孩子", "13800138004"):
        assert secret not in body
    # the answer tells about a customer: it counts toward the scraping window
    entries = sales.admin.get(f"/audit?user={teacher.user['id']}").json_body["items"]
    assert [(e["route"], e["status"], e["weight"]) for e in entries if e["method"] == "POST"] == [("/leads", 409, 1)]
    # the lead's owner still gets the full answer
    mine = sales.alice.post("/leads", lead_body(phone="13800138004")).json_body["error"]["details"][0]
    assert mine["owner_name"] == "顾问Alice" and mine["name"] == "别人的孩子" and mine["visible"] is True


def test_siblings_may_share_a_guardian_phone(sales):
    twin_a = sales.alice.post("/leads", lead_body(name="大宝", phone="13800138003")).json_body
    twin_b = sales.alice.post("/leads", lead_body(name="二宝", phone="13800138003", sibling_of=twin_a["id"]))
    assert twin_b.status_code == 201
    assert twin_b.json_body["family_id"] == twin_a["family_id"]
    assert sales.alice.get(f"/leads/{twin_a['id']}").json_body["siblings"] == [twin_b.json_body["id"]]
    found = sales.alice.get("/leads?q=13800138003").json_body["items"]
    assert {x["name"] for x in found} == {"大宝", "二宝"}


@race_rounds
def test_two_concurrent_creates_with_one_phone_make_one_lead(sales, race_round):
    from chalicelib.domain import auth, leads
    from chalicelib.errors import ConflictError
    from chalicelib.schemas.leads import LeadCreateRequest

    principal = auth.authenticate(f"Bearer {sales.alice.token}")

    def create(i):
        try:
            leads.create_lead(principal, LeadCreateRequest(**lead_body(name=f"孩子{i}", phone="13800138004")))
            return 201
        except ConflictError as exc:
            assert exc.code == "DUPLICATE_PHONE"
            return 409

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        answers = sorted(pool.map(create, range(2)))
    race_report("creates with one phone (duplicates)", 2, answers.count(201) - 1)
    assert answers == [201, 409]


def test_visibility_by_role(sales):
    alices = sales.alice.post("/leads", lead_body(name="Alice的")).json_body
    carols = sales.carol.post("/leads", lead_body(name="Carol的")).json_body
    pooled = sales.manager.post("/leads", lead_body(name="公海的")).json_body
    assert pooled["owner_id"] is None  # a manager's new lead goes to the pool
    expectations = {
        "alice": {alices["id"], pooled["id"]},
        "bob": {pooled["id"]},
        "carol": {carols["id"], pooled["id"]},
        "supervisor": {alices["id"], pooled["id"]},  # the team, not Carol
        "manager": {alices["id"], carols["id"], pooled["id"]},
        "admin": {alices["id"], carols["id"], pooled["id"]},
    }
    all_ids = {alices["id"], carols["id"], pooled["id"]}
    for who, visible in expectations.items():
        session = getattr(sales, who)
        listed = _ids(session.get("/leads").json_body) & all_ids
        assert listed == visible, who
        for lead_id in all_ids:
            status = session.get(f"/leads/{lead_id}").status_code
            assert status == (200 if lead_id in visible else 404), (who, lead_id)


def test_pool_claim_assign_release_are_recorded(sales):
    lead = sales.manager.post("/leads", lead_body()).json_body
    claimed = sales.bob.post(f"/leads/{lead['id']}/claim")
    assert claimed.status_code == 200 and claimed.json_body["owner_id"] == sales.bob.user["id"]
    # no longer in the pool: Alice cannot claim it, nor see it
    assert sales.alice.post(f"/leads/{lead['id']}/claim").status_code == 404
    moved = sales.supervisor.post(f"/leads/{lead['id']}/assign", {"owner_id": sales.alice.user["id"]})
    assert moved.json_body["owner_name"] == "顾问Alice"
    outsider = sales.supervisor.post(f"/leads/{lead['id']}/assign", {"owner_id": sales.carol.user["id"]})
    assert outsider.status_code == 403  # Carol is not in the supervisor's team
    assert sales.alice.post(f"/leads/{lead['id']}/release").json_body["owner_id"] is None
    history = sales.manager.get(f"/leads/{lead['id']}").json_body["history"]
    assert [(h["action"], h["details"].get("to")) for h in history] == [
        ("created", None),
        ("claimed", sales.bob.user["id"]),
        ("assigned", sales.alice.user["id"]),
        ("released", None),
    ]


def test_a_consultant_cannot_assign(sales):
    lead = sales.alice.post("/leads", lead_body()).json_body
    assert sales.alice.post(f"/leads/{lead['id']}/assign", {"owner_id": sales.bob.user["id"]}).status_code == 403


def test_the_claim_cap_is_enforced_by_the_database(sales, monkeypatch):
    from chalicelib.domain.leads import pool  # where the claim reads the cap

    monkeypatch.setattr(pool, "_cap", lambda tenant: 2)
    sales.bob.post("/leads", lead_body())
    sales.bob.post("/leads", lead_body())
    pooled = sales.manager.post("/leads", lead_body()).json_body
    response = sales.bob.post(f"/leads/{pooled['id']}/claim")
    assert response.status_code == 409
    assert response.json_body["error"]["code"] == "OWNER_CAP_REACHED"
    assert sales.manager.get(f"/leads/{pooled['id']}").json_body["owner_id"] is None


def test_filters_and_name_prefix(sales):
    sales.alice.post("/leads", lead_body(name="张三", status="intent", tags=["钢琴"]))
    sales.alice.post("/leads", lead_body(name="张四", status="potential"))
    sales.alice.post("/leads", lead_body(name="Zhang Wei", tags=["钢琴"]))
    names = lambda q: sorted(i["name"] for i in sales.alice.get(f"/leads?scope=mine&{q}").json_body["items"])  # noqa: E731
    assert names("status=intent") == ["张三"]
    assert names("tag=钢琴") == ["Zhang Wei", "张三"]
    assert names("q=张") == ["张三", "张四"]
    assert names("q=zhang") == ["Zhang Wei"]


def test_pages_return_every_lead_exactly_once_while_leads_are_added(sales):
    for i in range(7):
        sales.alice.post("/leads", lead_body(name=f"初始{i}"))
    for i in range(5):
        sales.manager.post("/leads", lead_body(name=f"公海{i}"))
    seen, cursor, added = [], None, 0
    while True:
        url = "/leads?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = sales.alice.get(url).json_body
        seen += [i["id"] for i in page["items"]]
        if added < 3:  # new leads arrive while the consultant pages (newest first: they sort before the cursor)
            sales.alice.post("/leads", lead_body(name=f"新来的{added}"))
            added += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen))
    assert len(seen) >= 12


def test_every_page_is_a_bounded_number_of_queries_and_never_a_scan(sales):
    for i in range(6):
        sales.alice.post("/leads", lead_body(name=f"线索{i}"))
    with telemetry.record() as rec:
        page = sales.alice.get("/leads?limit=2&status=potential").json_body
    assert len(page["items"]) <= 2
    assert "Scan" not in rec.operations
    queries = [c for c in rec.calls if c.operation == "Query"]
    # one Query per partition of the scope (own leads + the pool of one campus), plus the user lookup
    assert len(queries) <= 2
    assert all(c.params.get("Limit") == 2 for c in queries)


def test_reveal_phone_shows_the_number_and_is_recorded(sales):
    lead = sales.alice.post("/leads", lead_body(phone="13800138005")).json_body
    revealed = sales.alice.post(f"/leads/{lead['id']}/reveal-phone")
    assert revealed.json_body["guardians"][0]["phones"][0]["e164"] == "+8613800138005"
    assert sales.carol.post(f"/leads/{lead['id']}/reveal-phone").status_code == 404
    history = sales.alice.get(f"/leads/{lead['id']}").json_body["history"]
    assert history[-1]["action"] == "phone_revealed" and history[-1]["by"] == sales.alice.user["id"]


def test_delete_moves_to_the_recycle_bin_and_restore_brings_it_back(sales):
    lead = sales.alice.post("/leads", lead_body(phone="13800138006")).json_body
    assert sales.alice.delete(f"/leads/{lead['id']}").status_code == 403
    assert sales.manager.delete(f"/leads/{lead['id']}").status_code == 204
    assert sales.alice.get(f"/leads/{lead['id']}").status_code == 404
    assert lead["id"] not in _ids(sales.alice.get("/leads").json_body)
    assert lead["id"] in _ids(sales.manager.get("/leads/recycle-bin").json_body)
    # the phone is still taken while the lead is in the bin
    dup = sales.bob.post("/leads", lead_body(phone="13800138006"))
    assert dup.json_body["error"]["details"][0]["ask_user_id"] == sales.manager.user["id"]  # bob cannot see the bin
    dup = sales.manager.post("/leads", lead_body(phone="13800138006"))
    assert dup.json_body["error"]["details"][0]["in_recycle_bin"] is True
    restored = sales.manager.post(f"/leads/{lead['id']}/restore")
    assert restored.status_code == 200
    assert sales.alice.get(f"/leads/{lead['id']}").status_code == 200


def test_editing_phones_frees_the_old_number(sales):
    lead = sales.alice.post("/leads", lead_body(phone="13800138007")).json_body
    guardians = [{"name": "王爸爸", "relation": "father", "phones": ["13800138008"]}]
    assert sales.alice.patch(f"/leads/{lead['id']}", {"guardians": guardians}).status_code == 200
    assert sales.bob.post("/leads", lead_body(phone="13800138007")).status_code == 201
    assert sales.bob.post("/leads", lead_body(phone="13800138008")).status_code == 409


def test_guardians_are_edited_with_their_phones_sent_back_masked_as_shown(sales):
    mother, other = _phone(), _phone()
    lead = sales.alice.post("/leads", lead_body(phone=mother)).json_body
    shown = lead["guardians"][0]["phones"][0]
    assert "*" in shown and mother not in str(lead)
    # a form that never saw the full number renames the guardian and adds a second one
    guardians = [
        {"name": "王妈妈（工作日）", "relation": "mother", "phones": [shown]},
        {"name": "王爸爸", "relation": "father", "phones": [other]},
    ]
    edited = sales.alice.patch(f"/leads/{lead['id']}", {"guardians": guardians})
    assert edited.status_code == 200, edited.body
    revealed = sales.alice.post(f"/leads/{lead['id']}/reveal-phone").json_body["guardians"]
    assert [(g["name"], [p["e164"] for p in g["phones"]]) for g in revealed] == [
        ("王妈妈（工作日）", ["+86" + mother]),
        ("王爸爸", ["+86" + other]),
    ]
    # the mother's number still belongs to the lead: nobody else can take it
    assert sales.bob.post("/leads", lead_body(phone=mother)).status_code == 409
    # a masked number that is not one of this lead's is a 400 naming it, and nothing changes
    unlike = mother[:-4] + f"{(int(mother[-4:]) + 1) % 10000:04d}"  # no mask of the lead's numbers shows alike
    stranger = sales.alice.post("/leads", lead_body(phone=unlike)).json_body["guardians"][0]["phones"][0]
    refused = sales.alice.patch(f"/leads/{lead['id']}", {"guardians": [{"name": "x", "phones": [stranger]}]})
    assert refused.status_code == 400
    assert refused.json_body["error"]["details"][0]["field"] == "guardians.0.phones.0"
    assert len(sales.alice.get(f"/leads/{lead['id']}").json_body["guardians"]) == 2


def test_bad_lead_input_names_the_field(sales):
    no_guardian = sales.alice.post("/leads", {"name": "x", "guardians": []})
    assert no_guardian.status_code == 400 and no_guardian.json_body["error"]["details"][0]["field"] == "guardians"
    bad_phone = sales.alice.post("/leads", lead_body(phone="12"))
    assert bad_phone.json_body["error"]["details"][0]["field"] == "guardians.0.phones.0"
    bad_status = sales.alice.post("/leads", lead_body(status="vip"))
    assert bad_status.json_body["error"]["details"][0]["field"] == "status"
    bad_date = sales.alice.post("/leads", lead_body(birthday="2021-13-45"))
    assert bad_date.json_body["error"]["details"][0]["field"] == "birthday"


def test_a_lead_records_who_referred_it_and_referrals_are_listed(sales):
    # GIVEN a member-to-be who tells a friend (转介绍)
    referrer = sales.alice.post("/leads", lead_body(name="老带新")).json_body
    # WHEN the friend's child is added with the referrer
    friend = sales.alice.post("/leads", lead_body(name="新朋友", referrer_lead_id=referrer["id"], source="referral"))
    assert friend.status_code == 201
    # THEN the referrer lists the referral and the new lead names its referrer
    assert sales.alice.get(f"/leads/{referrer['id']}").json_body["referrals"] == [friend.json_body["id"]]
    assert friend.json_body["referrer_lead_id"] == referrer["id"]
    unknown = sales.alice.post("/leads", lead_body(referrer_lead_id="01NOSUCHLEAD00000000000000"))
    assert unknown.json_body["error"]["details"][0]["field"] == "referrer_lead_id"


def test_editing_a_lead_into_a_family_lets_it_share_the_phone(sales):
    # GIVEN two leads added separately, the second without the family's phone
    elder = sales.alice.post("/leads", lead_body(name="哥哥", phone="13800138011")).json_body
    younger = sales.alice.post("/leads", lead_body(name="弟弟", phone="13800138012")).json_body
    shared = [{"name": "妈妈", "phones": ["13800138011", "13800138012"]}]
    # WHEN the younger one gets the elder's phone without saying they are siblings THEN it is a duplicate
    assert sales.alice.patch(f"/leads/{younger['id']}", {"guardians": shared}).status_code == 409
    # WHEN it says so THEN it joins the family, and both phones now belong to the family
    linked = sales.alice.patch(f"/leads/{younger['id']}", {"guardians": shared, "sibling_of": elder["id"]})
    assert linked.status_code == 200, linked.body
    assert linked.json_body["family_id"] == elder["family_id"]
    assert sales.alice.get(f"/leads/{elder['id']}").json_body["siblings"] == [younger["id"]]
    third = sales.alice.post("/leads", lead_body(name="妹妹", phone="13800138012", sibling_of=elder["id"]))
    assert third.status_code == 201
    assert sales.bob.post("/leads", lead_body(phone="13800138012")).status_code == 409
    history = sales.alice.get(f"/leads/{younger['id']}").json_body["history"]
    assert history[-1]["action"] == "edited" and history[-1]["details"]["sibling_of"] == elder["id"]
