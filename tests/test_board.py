"""Announcements (公告板) and the glossary (常用术语)."""

from __future__ import annotations

import base64
import hashlib
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.conftest import login


def test_an_announcement_greets_everyone_at_sign_in_until_read(school):
    consultant = school.staff("consultant")
    assert consultant.post("/announcements", {"title": "x", "body": "y"}).status_code == 403
    made = school.admin.post("/announcements", {"title": "元旦放假通知", "body": "1月1日至3日放假，4日正常上课。"})
    assert made.status_code == 201, made.body
    notice = made.json_body
    signed_in = login(school.client, school.slug, consultant.user["username"], consultant.password).json_body
    assert [a["title"] for a in signed_in["unread_announcements"]] == ["元旦放假通知"]
    read = consultant.post(f"/announcements/{notice['id']}/read")
    assert read.status_code == 200 and read.json_body["read"] is True
    again = login(school.client, school.slug, consultant.user["username"], consultant.password).json_body
    assert again["unread_announcements"] == []
    board = consultant.get("/announcements").json_body["items"]
    assert [(a["title"], a["read"]) for a in board] == [("元旦放假通知", True)]
    assert consultant.post("/announcements/nope/read").status_code == 404
    assert school.admin.delete(f"/announcements/{notice['id']}").status_code == 204
    assert consultant.get("/announcements").json_body["items"] == []


def test_the_glossary_is_searched_by_category_and_words(school):
    manager = school.staff("manager")
    consultant = school.staff("consultant")
    assert consultant.post("/glossary", {"category": "invitation", "text": "x"}).status_code == 403
    manager.post("/glossary", {"category": "invitation", "text": "您好，想邀请宝宝来体验一节免费的亲子课。"})
    manager.post("/glossary", {"category": "invitation", "text": "本周六上午有 Lego 体验课，名额有限。"})
    phrase = manager.post("/glossary", {"category": "aftercare", "text": "宝宝最近上课开心吗？"}).json_body
    assert (phrase["category"], phrase["category_label"]) == ("aftercare", "售后回访")
    calls = consultant.get("/glossary?category=invitation").json_body["items"]
    assert len(calls) == 2 and {p["category_label"] for p in calls} == {"电话邀约"}
    lego = consultant.get("/glossary?q=lego 名额").json_body["items"]
    assert [p["text"] for p in lego] == ["本周六上午有 Lego 体验课，名额有限。"]
    assert len(consultant.get("/glossary?q=邀约").json_body["items"]) == 2  # the category's name is searched too
    assert manager.delete(f"/glossary/{phrase['id']}").status_code == 204
    assert manager.delete(f"/glossary/{phrase['id']}").status_code == 404
    assert {p["category"] for p in consultant.get("/glossary").json_body["items"]} == {"invitation"}


# --- the glossary's categories (a school list) and editing a phrase ---------------------


def _phrase(session, category="pricing", text="首期课程 3980 元，含教材。"):
    answer = session.post("/glossary", {"category": category, "text": text})
    assert answer.status_code == 201, answer.body
    return answer.json_body


def test_categories_are_the_schools_list_and_a_phrase_must_use_one(school):
    listed = school.admin.get("/settings/dictionaries/glossary_categories").json_body
    assert [e["key"] for e in listed["entries"]][:3] == ["invitation", "course_intro", "pricing"]
    assert {e["label"] for e in listed["entries"]} >= {"课程介绍", "价格", "异议处理", "常见问题", "其他"}
    for bad in ("电话 邀约", "no_such_category", "x" * 41):
        answer = school.admin.post("/glossary", {"category": bad, "text": "x"})
        assert answer.status_code == 400, bad
        assert answer.json_body["error"]["details"][0]["field"] == "category", bad
    # GIVEN the school adds a category of its own and retires 价格
    entries = [{**e, "retired": e["key"] == "pricing"} for e in listed["entries"]]
    entries.append({"key": "trial", "label": "试听跟进"})
    put = school.admin.put("/settings/dictionaries/glossary_categories", {"entries": entries})
    assert put.status_code == 200, put.body
    # THEN phrases go under the new one, not under the retired one
    assert _phrase(school.admin, "trial")["category_label"] == "试听跟进"
    assert school.admin.post("/glossary", {"category": "pricing", "text": "x"}).status_code == 400
    # AND a category in use is retired, never deleted
    used = school.admin.get("/settings/dictionaries/glossary_categories").json_body["used"]
    assert used == ["trial"]
    gone = school.admin.put("/settings/dictionaries/glossary_categories", {"entries": entries[:-1]})
    assert gone.status_code == 409 and gone.json_body["error"]["code"] == "VALUE_IN_USE"


def test_phrases_from_before_the_list_keep_reading_with_their_own_words(school):
    from chalicelib.db import board as board_db

    # GIVEN phrases written with free words as their category (before the list)
    for n, words in enumerate(("电话邀约", "老带新话术")):
        board_db.put_phrase(
            school.slug,
            {
                "id": f"OLD{n}",
                "category": words,
                "text": f"旧话术 {n}",
                "created_by": "u",
                "created_at": "2026-01-01T00:00:00Z",
            },
        )
    # THEN they read by the entry whose label their words are, else as written
    shown = {p["id"]: p for p in school.admin.get("/glossary").json_body["items"]}
    assert (shown["OLD0"]["category"], shown["OLD0"]["category_label"]) == ("invitation", "电话邀约")
    assert (shown["OLD1"]["category"], shown["OLD1"]["category_label"]) == ("老带新话术", "老带新话术")
    assert [p["id"] for p in school.admin.get("/glossary?category=invitation").json_body["items"]] == ["OLD0"]
    assert [p["id"] for p in school.admin.get("/glossary?category=老带新话术").json_body["items"]] == ["OLD1"]
    # AND an edit of the text alone keeps the old category; a new category must be from the list
    edited = school.admin.patch("/glossary/OLD1", {"text": "老带新：推荐一位朋友，双方各得 2 节课。"})
    assert edited.status_code == 200, edited.body
    assert (edited.json_body["category"], edited.json_body["text"][:3]) == ("老带新话术", "老带新")
    assert school.admin.patch("/glossary/OLD1", {"category": "老带新话术", "text": "y"}).status_code == 200
    assert school.admin.patch("/glossary/OLD1", {"category": "另一个"}).status_code == 400
    moved = school.admin.patch("/glossary/OLD1", {"category": "other"}).json_body
    assert (moved["category"], moved["category_label"]) == ("other", "其他")


def test_admins_and_managers_edit_a_phrase(school):
    manager, consultant = school.staff("manager"), school.staff("consultant")
    phrase = _phrase(school.admin)
    # WHEN a manager changes its text and category
    edited = manager.patch(f"/glossary/{phrase['id']}", {"text": "  首期 3680 元（限时）。 ", "category": "faq"})
    # THEN the phrase reads so, with who changed it and when
    assert edited.status_code == 200, edited.body
    body = edited.json_body
    assert (body["text"], body["category"], body["category_label"]) == ("首期 3680 元（限时）。", "faq", "常见问题")
    assert body["updated_by"] == manager.user["id"] and body["updated_at"]
    assert body["created_by"] == school.admin.user["id"] and body["created_at"] == phrase["created_at"]
    [listed] = consultant.get("/glossary").json_body["items"]
    assert listed == body
    # consultants read, never edit; bad input is a 400 and changes nothing
    assert consultant.patch(f"/glossary/{phrase['id']}", {"text": "x"}).status_code == 403
    for bad in ({}, {"text": ""}, {"text": "x" * 1001}, {"text": "a\x00b"}, {"colour": "red"}, {"category": "nope"}):
        answer = manager.patch(f"/glossary/{phrase['id']}", bad)
        assert answer.status_code == 400, (bad, answer.body)
    assert consultant.get("/glossary").json_body["items"] == [body]
    # a removed phrase is not edited back into being
    assert manager.delete(f"/glossary/{phrase['id']}").status_code == 204
    assert manager.patch(f"/glossary/{phrase['id']}", {"text": "复活"}).status_code == 404
    assert manager.patch(f"/glossary/{phrase['id']}", {"category": "nope"}).status_code == 404
    assert consultant.get("/glossary").json_body["items"] == []


def test_two_edits_at_once_each_keep_what_they_wrote(school):
    import threading

    first, second = school.staff("manager"), school.staff("manager")
    for round_ in range(5):
        phrase = _phrase(school.admin, text=f"第 {round_} 轮")
        gate = threading.Barrier(2)
        answers = {}

        def edit(who, session, body, phrase_id=phrase["id"], gate=gate, answers=answers):
            gate.wait()
            answers[who] = session.patch(f"/glossary/{phrase_id}", body).status_code

        threads = [
            threading.Thread(target=edit, args=("text", first, {"text": f"改过的第 {round_} 轮"})),
            threading.Thread(target=edit, args=("category", second, {"category": "objections"})),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # THEN both succeed and the phrase has both changes (field-level last writer wins)
        assert answers == {"text": 200, "category": 200}
        [now] = [p for p in school.admin.get("/glossary").json_body["items"] if p["id"] == phrase["id"]]
        assert (now["text"], now["category"]) == (f"改过的第 {round_} 轮", "objections")


# --- attachments -------------------------------------------------------------------------

PDF = b"%PDF-1.4\n" + "2027年春季课表".encode() + b"\n%%EOF\n"


@pytest.fixture
def file_server(monkeypatch):
    """The local stand-in for S3 presigned URLs, as `make run` starts it, on a free port."""
    from chalicelib.settings import reset_settings
    from chalicelib.storage import store
    from infra.local import files
    from infra.local.dynamodb import free_port

    port = free_port()
    monkeypatch.setenv("CRM_FILES_URL", f"http://127.0.0.1:{port}")
    reset_settings()
    server = files.serve(store(), port)
    yield
    server.shutdown()
    monkeypatch.undo()
    reset_settings()


def _http(method: str, url: str, data: bytes | None = None, content_type: str | None = None, **headers: str):
    assert url.startswith("http://127.0.0.1:")  # the local file server only
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310
    if content_type:
        request.add_header("Content-Type", content_type)
    for name, value in headers.items():
        request.add_header(name.replace("_", "-"), value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def _as_kwargs(headers: dict[str, str]) -> dict[str, str]:
    """An upload slot's headers as _http's arguments."""
    return {
        "content_type": headers["Content-Type"],
        **{k.replace("-", "_"): v for k, v in headers.items() if k != "Content-Type"},
    }


def test_an_announcement_carries_an_attachment_uploaded_with_a_presigned_url(school, file_server):
    consultant = school.staff("consultant")
    asked = {"file_name": "2027年春季课表.pdf", "content_type": "application/pdf"}
    assert consultant.post("/announcements/attachments", asked).status_code == 403
    assert school.admin.post("/announcements/attachments", {**asked, "content_type": "text/html"}).status_code == 400
    upload = school.admin.post("/announcements/attachments", asked)
    assert upload.status_code == 201, upload.body
    slot = upload.json_body
    # the URL takes only the type it was signed for, and only unaltered
    assert slot["headers"] == {"Content-Type": "application/pdf", "If-None-Match": "*"}
    assert _http("PUT", slot["upload_url"], PDF, "image/png", If_None_Match="*")[0] == 403
    forged = slot["upload_url"].replace("signature=", "signature=0")
    assert _http("PUT", forged, PDF, "application/pdf", If_None_Match="*")[0] == 403
    # publishing before the file is there is refused; so is a name that is no upload's
    ref = {"attachment_id": slot["attachment_id"], **asked}
    climbing = {**ref, "attachment_id": f"../{school.slug}/{slot['attachment_id']}"}
    assert school.admin.post("/announcements", {"title": "x", "body": "y", "attachment": climbing}).status_code == 400
    early = school.admin.post("/announcements", {"title": "课表", "body": "见附件", "attachment": ref})
    assert early.status_code == 400 and early.json_body["error"]["code"] == "ATTACHMENT_NOT_UPLOADED"
    assert _http("PUT", slot["upload_url"], PDF, **_as_kwargs(slot["headers"]))[0] == 200

    made = school.admin.post("/announcements", {"title": "春季课表", "body": "见附件", "attachment": ref})
    assert made.status_code == 201, made.body
    assert made.json_body["attachment"] == {
        "id": slot["attachment_id"],
        "file_name": "2027年春季课表.pdf",
        "content_type": "application/pdf",
        "size": len(PDF),
        "sha256": base64.b64encode(hashlib.sha256(PDF).digest()).decode(),
    }
    # everyone sees it at sign-in and downloads it through a URL of its own
    signed_in = login(school.client, school.slug, consultant.user["username"], consultant.password).json_body
    assert signed_in["unread_announcements"][0]["attachment"]["file_name"] == "2027年春季课表.pdf"
    link = consultant.get(f"/announcements/{made.json_body['id']}/attachment")
    assert link.status_code == 200
    status, body, headers = _http("GET", link.json_body["download_url"])
    assert status == 200 and body == PDF
    assert "2027" in headers["Content-Disposition"] and "%E6%98%A5" in headers["Content-Disposition"]  # 春
    assert _http("GET", link.json_body["download_url"].replace("signature=", "signature=0"))[0] == 403
    plain = school.admin.post("/announcements", {"title": "无附件", "body": "x"}).json_body
    assert consultant.get(f"/announcements/{plain['id']}/attachment").status_code == 404
    # withdrawing the announcement removes its file: even a URL signed before finds nothing
    assert school.admin.delete(f"/announcements/{made.json_body['id']}").status_code == 204
    assert _http("GET", link.json_body["download_url"])[0] == 404


def test_the_s3_store_makes_the_real_calls_and_signs_what_it_promises():
    from botocore.stub import Stubber

    from chalicelib.storage import NotAnUploadKeyError, S3Storage

    s3 = S3Storage("campus-crm-files", "us-east-1")
    with Stubber(s3.client) as stub:
        stub.add_response(
            "put_object",
            {},
            {"Bucket": "campus-crm-files", "Key": "attachments/t/1", "Body": PDF, "ContentType": "application/pdf"},
        )
        stub.add_response(
            "head_object", {"ContentLength": len(PDF)}, {"Bucket": "campus-crm-files", "Key": "attachments/t/1"}
        )
        stub.add_client_error("head_object", "404", http_status_code=404)
        stub.add_response("delete_object", {}, {"Bucket": "campus-crm-files", "Key": "attachments/t/1"})
        s3.put("attachments/t/1", PDF, "application/pdf")
        assert s3.size("attachments/t/1") == len(PDF)
        assert s3.size("attachments/t/2") is None
        s3.delete("attachments/t/1")
        stub.assert_no_pending_responses()
    upload = urllib.parse.urlsplit(s3.upload_url("uploads/attachments/t/1", "application/pdf"))
    query = urllib.parse.parse_qs(upload.query)
    assert upload.netloc.startswith("campus-crm-files.s3") and upload.path == "/uploads/attachments/t/1"
    assert query["X-Amz-Expires"] == ["900"]
    # the type and "write once" are signed: S3 refuses another type, and a PUT onto an existing object
    assert {"content-type", "if-none-match"} <= set(query["X-Amz-SignedHeaders"][0].split(";"))
    # no upload URL is ever made for a published file
    with pytest.raises(NotAnUploadKeyError):
        s3.upload_url("attachments/t/1", "application/pdf")
    download = urllib.parse.parse_qs(urllib.parse.urlsplit(s3.download_url("attachments/t/1", "课表.pdf")).query)
    assert download["response-content-disposition"] == ["attachment; filename*=UTF-8''%E8%AF%BE%E8%A1%A8.pdf"]


def _slot(school, asked=None):
    asked = asked or {"file_name": "2027年春季课表.pdf", "content_type": "application/pdf"}
    upload = school.admin.post("/announcements/attachments", asked)
    assert upload.status_code == 201, upload.body
    return upload.json_body, {"attachment_id": upload.json_body["attachment_id"], **asked}


def test_a_published_attachment_cannot_be_swapped_through_its_upload_url(school, file_server):
    from chalicelib.db import keys
    from chalicelib.storage import store

    # GIVEN an announcement published with an 8-byte-ish PDF through a still-valid upload URL
    slot, ref = _slot(school)
    assert _http("PUT", slot["upload_url"], PDF, **_as_kwargs(slot["headers"]))[0] == 200
    made = school.admin.post("/announcements", {"title": "春季课表", "body": "见附件", "attachment": ref})
    assert made.status_code == 201, made.body

    # WHEN the same URL is used again, within its 15 minutes, for a file over the limit
    swap = b"x" * (21 * 1024 * 1024)
    again = _http("PUT", slot["upload_url"], swap, **_as_kwargs(slot["headers"]))
    # THEN it is refused: an upload URL writes its key once
    assert again[0] == 412
    # AND leaving out the write-once header does not get round it (it is part of what is signed)
    assert _http("PUT", slot["upload_url"], PDF, "application/pdf")[0] == 403

    # AND even if the uploaded object itself were replaced, the published file is a copy of its own
    store().put(keys.attachment_upload(school.slug, ref["attachment_id"]), b"%PDF swapped", "application/pdf")
    link = school.admin.get(f"/announcements/{made.json_body['id']}/attachment").json_body
    status, body, _ = _http("GET", link["download_url"])
    assert status == 200 and body == PDF
    assert link["size"] == len(PDF)
    assert link["sha256"] == base64.b64encode(hashlib.sha256(body).digest()).decode()


def test_an_upload_url_is_good_for_one_file_and_only_under_uploads(school, file_server):
    from chalicelib.db import keys
    from chalicelib.storage import store

    # GIVEN an upload slot, used once
    slot, ref = _slot(school)
    assert _http("PUT", slot["upload_url"], PDF, **_as_kwargs(slot["headers"]))[0] == 200
    # WHEN it is used again before publishing, to replace the file
    # THEN the first file stays; a different file needs a new slot (a fresh key)
    assert _http("PUT", slot["upload_url"], b"%PDF other", **_as_kwargs(slot["headers"]))[0] == 412
    assert store().get(keys.attachment_upload(school.slug, ref["attachment_id"])) == PDF
    second, _ = _slot(school)
    assert second["attachment_id"] != slot["attachment_id"]
    # AND the file server takes no PUT outside uploads/, even one signed by the app's secret
    published = keys.attachment_file(school.slug, ref["attachment_id"])
    signed = store()._url("PUT", published, "application/pdf")
    assert _http("PUT", signed, b"%PDF evil", "application/pdf", If_None_Match="*")[0] == 403
    assert store().get(published) is None


def test_an_attachment_over_the_limit_is_refused_at_publishing_and_nothing_is_published(school, file_server):
    from chalicelib.db import keys
    from chalicelib.schemas.board import MAX_ATTACHMENT_BYTES
    from chalicelib.storage import store

    # GIVEN an upload one byte over 20 MB
    slot, ref = _slot(school)
    big = b"%" * (MAX_ATTACHMENT_BYTES + 1)
    assert _http("PUT", slot["upload_url"], big, **_as_kwargs(slot["headers"]))[0] == 200
    # WHEN it is published
    refused = school.admin.post("/announcements", {"title": "大文件", "body": "x", "attachment": ref})
    # THEN a 400 names the attachment, and neither the announcement nor a published file exists
    assert refused.status_code == 400
    assert refused.json_body["error"]["code"] == "ATTACHMENT_TOO_LARGE"
    assert refused.json_body["error"]["details"][0]["field"] == "attachment"
    assert school.admin.get("/announcements").json_body["items"] == []
    assert store().get(keys.attachment_file(school.slug, ref["attachment_id"])) is None


@pytest.fixture
def s3_store(monkeypatch):
    """The app on the S3 store (CRM_BUCKET set), its client stubbed: the real boto3 calls, no network."""
    from chalicelib.settings import reset_settings
    from chalicelib.storage import store

    monkeypatch.setenv("CRM_BUCKET", "campus-crm-files")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    reset_settings()
    yield store()
    monkeypatch.undo()
    reset_settings()


def test_publishing_on_s3_copies_only_the_object_it_measured_to_a_key_no_upload_url_reaches(school, s3_store):
    from botocore.stub import Stubber

    slot, ref = _slot(school)
    upload_key = f"uploads/attachments/{school.slug}/{ref['attachment_id']}"
    published_key = f"attachments/{school.slug}/{ref['attachment_id']}"
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(slot["upload_url"]).query)
    assert urllib.parse.urlsplit(slot["upload_url"]).path == "/" + upload_key
    assert "if-none-match" in query["X-Amz-SignedHeaders"][0]
    digest = base64.b64encode(hashlib.sha256(PDF).digest()).decode()
    with Stubber(s3_store.client) as stub:
        # GIVEN S3 holds the upload (HeadObject: its size and ETag)
        stub.add_response(
            "head_object",
            {"ContentLength": len(PDF), "ETag": '"etag-1"'},
            {"Bucket": "campus-crm-files", "Key": upload_key},
        )
        # THEN publishing copies that very object (if it still has that ETag), S3 computing its SHA-256
        stub.add_response(
            "copy_object",
            {"CopyObjectResult": {"ETag": '"etag-2"', "ChecksumSHA256": digest}},
            {
                "Bucket": "campus-crm-files",
                "Key": published_key,
                "CopySource": {"Bucket": "campus-crm-files", "Key": upload_key},
                "CopySourceIfMatch": '"etag-1"',
                "ChecksumAlgorithm": "SHA256",
            },
        )
        made = school.admin.post("/announcements", {"title": "课表", "body": "见附件", "attachment": ref})
        stub.assert_no_pending_responses()
    assert made.status_code == 201, made.body
    assert made.json_body["attachment"]["size"] == len(PDF) and made.json_body["attachment"]["sha256"] == digest
    # AND downloads are of the published copy
    link = school.admin.get(f"/announcements/{made.json_body['id']}/attachment").json_body
    assert urllib.parse.urlsplit(link["download_url"]).path == "/" + published_key

    # WHEN the upload changes between measuring and copying (S3: 412 on CopySourceIfMatch)
    slot, ref = _slot(school)
    with Stubber(s3_store.client) as stub:
        stub.add_response("head_object", {"ContentLength": len(PDF), "ETag": '"etag-3"'})
        stub.add_client_error("copy_object", "PreconditionFailed", http_status_code=412)
        changed = school.admin.post("/announcements", {"title": "课表", "body": "见附件", "attachment": ref})
        stub.assert_no_pending_responses()
    # THEN nothing is published, and the caller is told to upload again
    assert changed.status_code == 400 and changed.json_body["error"]["code"] == "ATTACHMENT_NOT_UPLOADED"
    # AND a 21 MB upload is refused on its measured size, without copying it
    slot, ref = _slot(school)
    with Stubber(s3_store.client) as stub:
        stub.add_response("head_object", {"ContentLength": 21 * 1024 * 1024, "ETag": '"etag-4"'})
        big = school.admin.post("/announcements", {"title": "大", "body": "x", "attachment": ref})
        stub.assert_no_pending_responses()
    assert big.status_code == 400 and big.json_body["error"]["code"] == "ATTACHMENT_TOO_LARGE"
    assert [a["title"] for a in school.admin.get("/announcements").json_body["items"]] == ["课表"]


def test_the_dashboard_shows_tomorrow_when_asked_so_tomorrow_can_be_planned(school):
    from datetime import UTC, datetime

    from chalicelib.domain import clock
    from tests.test_leads import lead_body

    alice = school.staff("consultant", display_name="Alice")
    with clock.frozen(datetime(2032, 6, 1, 2, 0, tzinfo=UTC)):  # 10:00 on Tuesday 1 June in Shanghai
        alice = school.sign_in(alice.user["username"], alice.password)
        today_lead = alice.post("/leads", lead_body(name="今天参观")).json_body
        tomorrow_lead = alice.post("/leads", lead_body(name="明天参观")).json_body
        for lead, at in ((today_lead, "2032-06-01T15:00"), (tomorrow_lead, "2032-06-02T10:00")):
            booked = alice.post(f"/leads/{lead['id']}/appointments", {"kind": "visit", "at": at})
            assert booked.status_code == 201, booked.body
        call_back = {"method": "phone", "content": "明早回电", "next_follow_up_at": "2032-06-02T09:00"}
        assert alice.post(f"/leads/{tomorrow_lead['id']}/follow-ups", call_back).status_code == 201
        today = alice.get("/dashboard/today").json_body
        tomorrow = alice.get("/dashboard/today?date=2032-06-02")
        too_far = alice.get("/dashboard/today?date=2033-06-03")
        not_a_day = alice.get("/dashboard/today?date=明天")
    assert today["date"] == "2032-06-01"
    assert [v["lead_name"] for v in today["visits"]["items"]] == ["今天参观"]
    assert today["contacts_due"]["items"] == []
    assert tomorrow.status_code == 200, tomorrow.body
    assert tomorrow.json_body["date"] == "2032-06-02"
    assert [v["lead_name"] for v in tomorrow.json_body["visits"]["items"]] == ["明天参观"]
    assert [c["name"] for c in tomorrow.json_body["contacts_due"]["items"]] == ["明天参观"]
    for refused in (too_far, not_a_day):
        assert refused.status_code == 400, refused.body
        assert refused.json_body["error"]["details"][0]["field"] == "date"
