"""Templates, sending (bulk, typed, scheduled), quiet hours, caps, at-most-once dispatch."""

from __future__ import annotations

import concurrent.futures
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import jobs
from chalicelib.db import messaging as messaging_db
from chalicelib.domain import clock
from chalicelib.domain import messaging as messaging_domain
from chalicelib.domain.messaging import sending as message_sending
from chalicelib.messaging import ProviderError
from tests.conftest import School, without_quiet_hours
from tests.test_leads import lead_body


def _phone() -> str:
    return f"137{uuid.uuid4().int % 10**8:08d}"


@pytest.fixture
def families(school):
    """A manager, a consultant with three families: one plain, one opted out of SMS, and
    twins sharing one phone."""
    school.manager = school.staff("manager")
    school.alice = school.staff("consultant", display_name="李娜")
    post = school.alice.post
    school.ming = post("/leads", lead_body(name="王小明", phone=_phone())).json_body
    quiet = lead_body(name="陈一一", phone=_phone())
    quiet["guardians"][0]["sms_opt_out"] = True
    school.quiet = post("/leads", quiet).json_body
    shared = _phone()
    school.twin_a = post("/leads", lead_body(name="赵大宝", phone=shared)).json_body
    school.twin_b = post("/leads", lead_body(name="赵二宝", phone=shared, sibling_of=school.twin_a["id"])).json_body
    school.lead_ids = [school.ming["id"], school.quiet["id"], school.twin_a["id"], school.twin_b["id"]]
    without_quiet_hours(school)
    return school


def _outbox(school, reference_prefix=None):
    items = school.manager.get("/outbox?limit=100").json_body["items"]
    return [i for i in items if reference_prefix is None or i["reference"].startswith(reference_prefix)]


# --- templates ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ("{{ learnr.name }}您好", "unknown variable learnr"),
        ("{{ learner.nmae }}", "nmae"),
        ("{{ learner.__class__ }}", "unsafe"),
        ("{{ learner.name ", "line 1"),
        ("{% for x in learner %}{{ x.__init__.__globals__ }}{% endfor %}", "unsafe"),
    ],
)
def test_a_bad_template_is_refused_naming_the_problem(school, body, named):
    response = school.admin.post("/templates", {"name": "坏模板", "channel": "sms", "body": body})
    assert response.status_code == 400, response.body
    assert named in response.json_body["error"]["message"]
    assert response.json_body["error"]["details"][0]["field"] == "body"


def test_a_good_template_shows_its_sample_and_what_one_costs(school):
    body = "{{ guardian.name }}您好，{{ learner.name }}的体验课在{{ appointment.date }} {{ appointment.time }}。"
    created = school.admin.post("/templates", {"name": "试听提醒", "channel": "sms", "kind": "reminder", "body": body})
    assert created.status_code == 201, created.body
    template = created.json_body
    assert template["sample"].startswith("王妈妈您好，王小明的体验课在")
    assert template["variables"] == ["appointment", "guardian", "learner"]
    assert template["segments"] == 1
    email = school.admin.post("/templates", {"name": "邮件", "channel": "email", "body": "你好"})
    assert email.status_code == 400 and "subject" in email.json_body["error"]["message"]
    assert (
        school.staff("consultant").post("/templates", {"name": "x", "channel": "sms", "body": "x"}).status_code == 403
    )


def test_the_variables_offered_are_every_field_of_the_sample_data(school):
    offered = school.staff("teacher").get("/templates/variables")
    assert offered.status_code == 200, offered.body
    items = {v["path"]: v for v in offered.json_body["items"]}
    assert items["learner.name"] == {"path": "learner.name", "variable": "learner", "sample": "王小明"}
    assert {"guardian.relation", "appointment.weekday", "card.expires_on", "work.overdue", "today"} <= set(items)
    # each one offered renders: the preview of all of them together is accepted
    everything = " ".join(f"{{{{ {path} }}}}" for path in items)
    assert school.admin.post("/templates/preview", {"channel": "email", "body": everything}).status_code == 200


def test_a_preview_renders_on_the_sample_data_as_a_saved_template_does(school):
    body = "{{ guardian.name }}您好，{{ learner.name }}的体验课在{{ appointment.date }} {{ appointment.time }}。"
    consultant = school.staff("consultant")  # whoever sends may preview their text
    preview = consultant.post("/templates/preview", {"channel": "sms", "body": body})
    assert preview.status_code == 200, preview.body
    saved = school.admin.post("/templates", {"name": "试听", "channel": "sms", "body": body}).json_body
    assert preview.json_body == {
        "text": saved["sample"],
        "subject": None,
        "segments": saved["segments"],
        "characters": len(saved["sample"]),
        "variables": ["appointment", "guardian", "learner"],
    }
    english = consultant.post("/templates/preview", {"channel": "sms", "body": "Age {{ learner.age }}. " * 16})
    assert english.json_body["characters"] == 16 * len("Age 5. ") - 1  # the body is trimmed, as when saved
    assert english.json_body["segments"] == 1  # GSM-7: 160 characters in one part
    longer = consultant.post("/templates/preview", {"channel": "sms", "body": "Age {{ learner.age }}. " * 24})
    assert longer.json_body["segments"] == 2  # 153 a part when split
    email = consultant.post(
        "/templates/preview", {"channel": "email", "subject": "{{ school.name }}通知", "body": "{{ campus.address }}"}
    ).json_body
    assert (email["subject"], email["text"], email["segments"]) == ("小星星早教中心通知", "深圳市南山区科技园", 0)
    assert school.staff("teacher").post("/templates/preview", {"channel": "sms", "body": "x"}).status_code == 403


def test_a_preview_of_a_non_ascii_body_is_rendered_and_counted_as_ucs2(school):
    body = "🎉 {{ learner.name }}，生日快乐！Ünïcödé ☃"
    preview = school.admin.post("/templates/preview", {"channel": "sms", "body": body})
    assert preview.status_code == 200, preview.body
    assert preview.json_body["text"] == "🎉 王小明，生日快乐！Ünïcödé ☃"
    assert preview.json_body["segments"] == 1
    long_chinese = school.admin.post("/templates/preview", {"channel": "sms", "body": "好" * 71}).json_body
    assert long_chinese["segments"] == 2  # 70 UCS-2 units a part, 67 when split


@pytest.mark.parametrize(
    ("body", "code", "named"),
    [
        ("{{ learner.name ", "VALIDATION_FAILED", "line 1"),
        ("{% if %}", "VALIDATION_FAILED", "line 1"),
        ("{{ learnr.name }}", "VALIDATION_FAILED", "unknown variable learnr"),
        ("{{ learner.__class__.__mro__ }}", "VALIDATION_FAILED", "unsafe"),
        ("{{ learner.name.__class__.__init__.__globals__ }}", "VALIDATION_FAILED", "unsafe"),
        ("{{ learner.update({'name': 'x'}) }}", "VALIDATION_FAILED", "unsafe"),
        ("{{ cycler.__init__.__globals__.os }}", "VALIDATION_FAILED", "unsafe"),
        ("{{ 'x' * 2001 }}", "TEMPLATE_TOO_COSTLY", "2,000 characters"),
        ("{% for i in range(5000) %}x{% endfor %}", "TEMPLATE_TOO_COSTLY", "1,000"),
    ],
)
def test_a_preview_of_a_bad_template_is_a_400_naming_the_problem(school, body, code, named):
    response = school.admin.post("/templates/preview", {"channel": "sms", "body": body})
    assert response.status_code == 400, response.body
    error = response.json_body["error"]
    assert error["code"] == code and named in error["message"], error
    assert error["details"][0]["field"] == "body"


def test_a_preview_is_bounded_in_size_before_it_renders(school):
    too_long = school.admin.post("/templates/preview", {"channel": "sms", "body": "x" * 2001})
    assert too_long.status_code == 400 and too_long.json_body["error"]["details"][0]["field"] == "body"
    email = school.admin.post("/templates/preview", {"channel": "email", "body": "{{ 'a' * 300000 }}"})
    assert email.status_code == 400 and email.json_body["error"]["code"] == "TEMPLATE_TOO_COSTLY"
    assert school.admin.post("/templates/preview", {"channel": "sms", "body": ""}).status_code == 400
    chinese = school.admin.post(
        "/templates/preview", {"channel": "sms", "body": "{{ learner.name "}, headers={"Accept-Language": "zh-CN"}
    )
    assert chinese.status_code == 400
    assert chinese.json_body["error"]["message"].startswith(
        "输入有误：body（第 1 行语法错误：unexpected end of template"
    )


# --- sending -----------------------------------------------------------------------


def test_a_dry_run_counts_recipients_skips_and_segments_and_sends_nothing(families):
    text = "{{ learner.name }}家长您好：本周六上午有免费亲子体验课，欢迎带孩子来玩！" * 3  # 93 characters
    response = families.alice.post(
        "/messages?dry_run=true",
        {"channel": "sms", "text": text, "recipients": {"lead_ids": [*families.lead_ids, "missing-id"]}},
    )
    assert response.status_code == 200, response.body
    preview = response.json_body
    assert preview["recipients"] == 5
    assert preview["would_send"] == 2  # 王小明 and one of the twins
    assert preview["skipped_by_reason"] == {"opted_out": 1, "duplicate": 1, "not_found": 1}
    assert preview["segments"] == 2 * 2  # Chinese: UCS-2, over 70 characters → 2 segments each
    assert [s["name"] for s in preview["samples"]] == ["王小明", "赵大宝"]
    assert preview["samples"][0]["text"].startswith("王小明家长您好")
    assert families.alice.get("/messages").json_body["items"] == []
    assert _outbox(families) == []


def test_each_recipient_gets_their_own_rendering_and_a_send_record(families):
    sent = families.alice.post(
        "/messages",
        {
            "channel": "sms",
            "purpose": "notice",
            "text": "{{ learner.name }}，{{ consultant.name }}老师祝你开心",
            "recipients": {"lead_ids": families.lead_ids},
        },
    )
    assert sent.status_code == 201, sent.body
    message = sent.json_body
    assert (message["status"], message["sent"], message["skipped"], message["queued"]) == ("done", 2, 2, 0)
    bodies = sorted(e["body"] for e in _outbox(families, message["id"]))
    assert bodies == ["王小明，李娜老师祝你开心", "赵大宝，李娜老师祝你开心"]
    record = families.alice.get(f"/messages/{message['id']}").json_body
    statuses = {r["name"]: (r["status"], r["reason"]) for r in record["items"]}
    assert statuses["陈一一"] == ("skipped", "opted_out")
    assert statuses["赵二宝"] == ("skipped", "duplicate")
    assert statuses["王小明"][0] == "sent"
    assert all("****" in r["to"] for r in record["items"] if r["to"])  # phones are masked in the record
    assert families.staff("consultant").get(f"/messages/{message['id']}").status_code == 404


def test_ticked_leads_get_it_and_a_lead_the_sender_may_not_see_is_never_messaged(families):
    bob = families.staff("consultant")
    bobs = bob.post("/leads", lead_body(name="别人的客户", phone=_phone())).json_body
    later = (clock.now() + timedelta(days=2)).replace(hour=3, minute=0, second=0, microsecond=0)  # 11:00 school time
    body = {
        "channel": "sms",
        "text": "{{ learner.name }}您好",
        "recipients": {"lead_ids": [families.ming["id"], bobs["id"]]},
        "send_at": later.isoformat(),
    }
    dry = families.alice.post("/messages?dry_run=true", body).json_body
    assert (dry["would_send"], dry["skipped_by_reason"]) == (1, {"not_found": 1})
    assert [s["name"] for s in dry["samples"]] == ["王小明"]
    message = families.alice.post("/messages", body).json_body
    assert (message["status"], message["queued"], message["skipped_by_reason"]) == ("scheduled", 1, {"not_found": 1})
    record = families.alice.get(f"/messages/{message['id']}").json_body
    assert [(r["lead_id"], r["status"]) for r in record["items"]] == [(families.ming["id"], "queued")]
    with clock.frozen(later + timedelta(seconds=20)):
        jobs.run("scheduled_messages")
    assert [e["body"] for e in _outbox(families, message["id"])] == ["王小明您好"]  # 别人的客户: nothing
    assert families.alice.post("/messages", {**body, "recipients": {"lead_ids": [bobs["id"]]}}).json_body[
        "skipped_by_reason"
    ] == {"not_found": 1}


def test_typed_numbers_are_for_the_front_desk_and_invalid_ones_are_counted(families):
    body = {
        "channel": "sms",
        "purpose": "notice",
        "text": "明天停课一天",
        "recipients": {"phones": ["13800138000", "12"]},
    }
    assert families.alice.post("/messages", body).status_code == 403
    sent = families.manager.post("/messages", body).json_body
    assert (sent["sent"], sent["skipped_by_reason"]) == (1, {"invalid_phone": 1})
    assert _outbox(families, sent["id"])[0]["to"] == "+8613800138000"


def test_quiet_hours_move_a_send_to_the_morning(families):
    families.admin.patch("/settings/messaging", {"quiet_from": "21:00", "quiet_to": "08:00"})  # the default
    evening = datetime(2031, 3, 4, 14, 30, tzinfo=UTC)  # 22:30 in Shanghai
    with clock.frozen(evening):
        alice = families.sign_in(families.alice.user["username"], families.alice.password)
        sent = alice.post(
            "/messages",
            {"channel": "sms", "purpose": "notice", "text": "晚安", "recipients": {"lead_ids": [families.ming["id"]]}},
        ).json_body
    assert sent["moved_by_quiet_hours"] is True and sent["status"] == "scheduled"
    assert sent["send_at"].startswith("2031-03-05T00:00")  # 08:00 the next morning, school time
    assert _outbox(families, sent["id"]) == []
    with clock.frozen(datetime(2031, 3, 5, 0, 0, 20, tzinfo=UTC)):
        jobs.run("scheduled_messages")
    assert len(_outbox(families, sent["id"])) == 1


def test_the_same_instant_is_quiet_in_los_angeles_and_not_in_shanghai(client):
    instant = datetime(2031, 3, 4, 5, 0, tzinfo=UTC)  # 13:00 on the 4th in Shanghai, 21:00 on the 3rd in LA
    outcome = {}
    for zone in ("Asia/Shanghai", "America/Los_Angeles"):
        school = School(client, timezone=zone)
        lead = school.admin.post(
            "/leads",
            {**lead_body(name="Amy", phone="+1 415 555 01" + f"{len(outcome):02d}"), "campus_id": school.campus["id"]},
        )
        assert lead.status_code == 201, lead.body
        with clock.frozen(instant):
            admin = school.sign_in("admin", school.admin_password)
            sent = admin.post(
                "/messages",
                {
                    "channel": "sms",
                    "purpose": "notice",
                    "text": "Hi {{ learner.name }}",
                    "recipients": {"lead_ids": [lead.json_body["id"]]},
                },
            ).json_body
        outcome[zone] = (sent["status"], sent["send_at"][:16])
    assert outcome["Asia/Shanghai"] == ("done", "2031-03-04T05:00")
    assert outcome["America/Los_Angeles"] == ("scheduled", "2031-03-04T16:00")  # 08:00 PST, the next morning


def test_a_scheduled_message_goes_out_once_in_its_minute(families):
    start = datetime(2031, 5, 6, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    with clock.frozen(start):
        alice = families.sign_in(families.alice.user["username"], families.alice.password)
        sent = alice.post(
            "/messages",
            {
                "channel": "sms",
                "purpose": "notice",
                "text": "{{ learner.name }}：两分钟后",
                "send_at": "2031-05-06T10:02:00",
                "recipients": {"lead_ids": [families.ming["id"], families.twin_a["id"]]},
            },
        ).json_body
    assert sent["status"] == "scheduled" and sent["send_at"].startswith("2031-05-06T02:02")
    jobs.run("scheduled_messages", at=start + timedelta(minutes=1))
    assert _outbox(families, sent["id"]) == []
    at = start + timedelta(minutes=2, seconds=3)
    with clock.frozen(at):
        jobs.run("scheduled_messages", at=at)
        jobs.run("scheduled_messages", at=at)  # a retried run
    assert len(_outbox(families, sent["id"])) == 2
    record = families.alice.get(f"/messages/{sent['id']}").json_body
    assert (record["status"], record["sent"]) == ("done", 2)


def test_two_overlapping_runs_send_each_recipient_at_most_once(families):
    at = datetime(2031, 6, 7, 3, 0, tzinfo=UTC)
    with clock.frozen(at - timedelta(minutes=5)):
        alice = families.sign_in(families.alice.user["username"], families.alice.password)
        leads = [alice.post("/leads", lead_body(name=f"学员{i}", phone=_phone())).json_body["id"] for i in range(8)]
        sent = alice.post(
            "/messages",
            {
                "channel": "sms",
                "purpose": "notice",
                "text": "{{ learner.name }}你好",
                "send_at": "2031-06-07T11:00:00",
                "recipients": {"lead_ids": leads},
            },
        ).json_body
    with clock.frozen(at), concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda _: messaging_domain.dispatch(families.slug, sent["id"], at), range(4)))
    entries = _outbox(families, sent["id"])
    assert len(entries) == 8
    assert len({e["reference"] for e in entries}) == 8


def test_the_marketing_cap_skips_the_fourth_message_of_the_day(families):
    families.admin.patch("/settings/messaging", {"marketing_daily_cap": 1})
    body = {"channel": "sms", "text": "周末活动", "recipients": {"lead_ids": [families.ming["id"]]}}
    first = families.alice.post("/messages", body).json_body
    assert first["sent"] == 1
    preview = families.alice.post("/messages?dry_run=true", body).json_body
    assert preview["skipped_by_reason"] == {"frequency_cap": 1}
    notice = families.alice.post("/messages", {**body, "purpose": "notice"}).json_body
    assert notice["sent"] == 1  # notices are not marketing


class Flaky:
    """A provider that refuses `failures` times (retryable or not), then sends."""

    name = "flaky"

    def __init__(self, failures: int, retryable: bool = True):
        self.failures, self.retryable, self.sent = failures, retryable, []

    def send(self, message):
        if self.failures:
            self.failures -= 1
            raise ProviderError("ThrottlingException: slow down", retryable=self.retryable)
        self.sent.append(message)
        return f"flaky-{len(self.sent)}"


def _scheduled(families, at, **extra):
    with clock.frozen(at - timedelta(minutes=1)):
        alice = families.sign_in(families.alice.user["username"], families.alice.password)
        local = (at + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:00")
        return alice.post(
            "/messages",
            {
                "channel": "sms",
                "purpose": "notice",
                "text": "提醒",
                "send_at": local,
                "recipients": {"lead_ids": [families.ming["id"]]},
                **extra,
            },
        ).json_body


def test_a_provider_failure_is_retried_with_back_off_then_sent(families, monkeypatch):
    provider = Flaky(failures=1)
    monkeypatch.setattr(message_sending, "provider_for", lambda channel: provider)
    at = datetime(2031, 7, 8, 2, 0, tzinfo=UTC)
    message = _scheduled(families, at)
    with clock.frozen(at):
        jobs.run("scheduled_messages", at=at)
    first = families.alice.get(f"/messages/{message['id']}").json_body["items"][0]
    assert (first["status"], first["attempts"]) == ("queued", 1) and "Throttling" in first["reason"]
    later = at + timedelta(minutes=1, seconds=5)
    with clock.frozen(later):
        jobs.run("scheduled_messages", at=later)
    done = families.alice.get(f"/messages/{message['id']}").json_body
    assert (done["items"][0]["status"], done["items"][0]["attempts"], done["sent"]) == ("sent", 2, 1)
    assert len(provider.sent) == 1


def test_a_lasting_failure_ends_as_failed_with_its_reason(families, monkeypatch):
    monkeypatch.setattr(message_sending, "provider_for", lambda channel: Flaky(failures=9, retryable=False))
    at = datetime(2031, 7, 9, 2, 0, tzinfo=UTC)
    message = _scheduled(families, at)
    with clock.frozen(at):
        jobs.run("scheduled_messages", at=at)
    done = families.alice.get(f"/messages/{message['id']}").json_body
    assert (done["status"], done["failed"], done["items"][0]["status"]) == ("done", 1, "failed")
    assert "Throttling" in done["items"][0]["reason"]


def test_a_send_interrupted_mid_way_is_marked_failed_never_sent_again(families):
    at = datetime(2031, 7, 10, 2, 0, tzinfo=UTC)
    message = _scheduled(families, at)
    # a run claims the recipient and dies before the provider answers
    claimed = messaging_db.claim(
        families.slug, message["id"], 1, now=clock.iso(at), lease_until=clock.iso(at + timedelta(seconds=90)), cap=None
    )
    assert claimed == "claimed"
    # two minutes on: the lease (90 s) has run out, and the message's minute is among the last
    # three minutes every run reads (whatever runs of other tests left the job's cursor at)
    later = at + timedelta(minutes=2)
    with clock.frozen(later):
        jobs.run("scheduled_messages", at=later)
    done = families.alice.get(f"/messages/{message['id']}").json_body
    assert done["items"][0]["status"] == "failed"
    assert "never sent twice" in done["items"][0]["reason"]
    assert _outbox(families, message["id"]) == []


# --- do not contact ------------------------------------------------------------------


def _set_status(families, lead, status):
    response = families.alice.patch(f"/leads/{lead['id']}", {"status": status})
    assert response.status_code == 200, response.body


def _statuses_with(families, **contact_by_key):
    """The school's statuses, with `contact` set on the keys named (a key not there is added)."""
    entries = families.admin.get("/settings/dictionaries/statuses").json_body["entries"]
    for key, level in contact_by_key.items():
        found = next((e for e in entries if e["key"] == key), None)
        if found is None:
            entries.append(found := {"key": key, "label": "只发通知"})
        found["contact"] = level
    response = families.admin.put("/settings/dictionaries/statuses", {"entries": entries})
    assert response.status_code == 200, response.body
    return {e["key"]: e["contact"] for e in response.json_body["entries"]}


def test_a_blacklisted_lead_gets_no_marketing_and_the_dry_run_says_why(families):
    _set_status(families, families.ming, "blacklist")  # 黑名单
    body = {"channel": "sms", "text": "周末体验课", "recipients": {"lead_ids": [families.ming["id"]]}}
    preview = families.alice.post("/messages?dry_run=true", body).json_body
    assert (preview["would_send"], preview["skipped_by_reason"]) == (0, {"do_not_contact": 1})
    sent = families.alice.post("/messages", body).json_body
    assert (sent["sent"], sent["skipped_by_reason"]) == (0, {"do_not_contact": 1})
    assert _outbox(families, sent["id"]) == []
    record = families.alice.get(f"/messages/{sent['id']}").json_body["items"][0]
    assert (record["status"], record["reason"]) == ("skipped", "do_not_contact")
    notice = families.alice.post("/messages", {**body, "purpose": "notice"}).json_body  # none: not even a notice
    assert (notice["sent"], notice["skipped_by_reason"]) == (0, {"do_not_contact": 1})
    by_filter = families.alice.post(
        "/messages?dry_run=true", {**body, "recipients": {"filter": {"status": "blacklist"}}}
    ).json_body
    assert (by_filter["would_send"], by_filter["skipped_by_reason"]) == (0, {"do_not_contact": 1})


def test_a_transactional_status_gets_notices_not_marketing_until_the_school_changes_it(families):
    assert _statuses_with(families, notices_only="transactional")["blacklist"] == "none"  # the default stays
    _set_status(families, families.ming, "notices_only")
    body = {"channel": "sms", "text": "{{ learner.name }}：周末活动", "recipients": {"lead_ids": [families.ming["id"]]}}
    marketing = families.alice.post("/messages?dry_run=true", body).json_body
    assert (marketing["would_send"], marketing["skipped_by_reason"]) == (0, {"do_not_contact": 1})
    notice = families.alice.post("/messages", {**body, "purpose": "notice", "text": "明天停课"}).json_body
    assert notice["sent"] == 1 and len(_outbox(families, notice["id"])) == 1
    _statuses_with(families, notices_only="all")
    assert families.alice.post("/messages?dry_run=true", body).json_body["would_send"] == 1
    _statuses_with(families, notices_only="none")
    stopped = families.alice.post("/messages?dry_run=true", {**body, "purpose": "notice"}).json_body
    assert stopped["skipped_by_reason"] == {"do_not_contact": 1}


def test_a_lead_blacklisted_after_a_message_was_scheduled_is_not_sent_it(families):
    at = datetime(2031, 7, 11, 2, 0, tzinfo=UTC)
    message = _scheduled(families, at)  # planned while 王小明 could be contacted
    assert message["queued"] == 1
    _set_status(families, families.ming, "blacklist")
    with clock.frozen(at):
        jobs.run("scheduled_messages", at=at, tenant=families.slug)
    done = families.alice.get(f"/messages/{message['id']}").json_body
    assert (done["status"], done["sent"], done["skipped_by_reason"]) == ("done", 0, {"do_not_contact": 1})
    assert done["items"][0]["reason"] == "do_not_contact"
    assert _outbox(families, message["id"]) == []


def test_a_guardian_who_opts_out_after_a_message_was_scheduled_is_not_sent_it(families):
    at = datetime(2031, 7, 12, 2, 0, tzinfo=UTC)
    phone = _phone()
    lead = families.alice.post("/leads", lead_body(name="林小雨", phone=phone)).json_body
    message = _scheduled(families, at, recipients={"lead_ids": [lead["id"]]})
    assert message["queued"] == 1
    opted_out = {"name": "王妈妈", "relation": "mother", "phones": [phone], "sms_opt_out": True}
    assert families.alice.patch(f"/leads/{lead['id']}", {"guardians": [opted_out]}).status_code == 200
    with clock.frozen(at):
        jobs.run("scheduled_messages", at=at, tenant=families.slug)
    done = families.alice.get(f"/messages/{message['id']}").json_body
    assert (done["sent"], done["skipped_by_reason"]) == (0, {"opted_out": 1})
    assert _outbox(families, message["id"]) == []


# --- e-mail: HTML with the school's signature and a plain-text alternative ---------------


def test_an_email_goes_as_html_with_the_signature_and_as_plain_text(families):
    lead = lead_body(name="<b>x</b>", phone=_phone())
    lead["guardians"][0]["email"] = "parent@example.com"
    created = families.alice.post("/leads", lead).json_body
    too_long = families.admin.patch("/settings/messaging", {"email_signature": "签" * 2001})
    assert too_long.status_code == 400
    signature = "李老师 <li@school.cn>\n小星星早教中心"
    saved = families.admin.patch("/settings/messaging", {"email_signature": signature})
    assert saved.status_code == 200 and saved.json_body["email_signature"] == signature
    sent = families.alice.post(
        "/messages",
        {
            "channel": "email",
            "purpose": "notice",
            "subject": "{{ learner.name }}的课程",
            "text": "{{ learner.name }}家长您好\n明天 10:00 上课 & 请带水杯",
            "recipients": {"lead_ids": [created["id"]]},
        },
    ).json_body
    assert sent["sent"] == 1
    [entry] = _outbox(families, sent["id"])
    assert entry["subject"] == "<b>x</b>的课程"
    # the plain-text part: verbatim, the signature under the usual separator
    assert entry["body"] == "<b>x</b>家长您好\n明天 10:00 上课 & 请带水杯\n\n-- \n李老师 <li@school.cn>\n小星星早教中心"
    # the HTML part: everything escaped, line breaks kept, the signature in its own block
    html = entry["html"]
    assert "&lt;b&gt;x&lt;/b&gt;家长您好<br>\n明天 10:00 上课 &amp; 请带水杯" in html
    assert "<b>x</b>" not in html and "<li@school.cn>" not in html
    assert '<div class="signature"' in html and "李老师 &lt;li@school.cn&gt;<br>\n小星星早教中心" in html
    assert "<title>&lt;b&gt;x&lt;/b&gt;的课程</title>" in html
    # an SMS is unchanged: no HTML part, no signature
    sms = families.alice.post(
        "/messages",
        {"channel": "sms", "purpose": "notice", "text": "明天见", "recipients": {"lead_ids": [families.ming["id"]]}},
    ).json_body
    [text_only] = _outbox(families, sms["id"])
    assert (text_only["body"], text_only["html"]) == ("明天见", None)
    # no signature: the text alone, and HTML without the signature block
    families.admin.patch("/settings/messaging", {"email_signature": ""})
    again = families.alice.post(
        "/messages",
        {
            "channel": "email",
            "purpose": "notice",
            "subject": "再见",
            "text": "再见",
            "recipients": {"lead_ids": [created["id"]]},
        },
    ).json_body
    [plain] = _outbox(families, again["id"])
    assert plain["body"] == "再见" and 'class="signature"' not in plain["html"]
