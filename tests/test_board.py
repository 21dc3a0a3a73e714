"""Announcements (公告板) and the glossary (常用术语)."""

from __future__ import annotations

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
    assert consultant.post("/glossary", {"category": "电话邀约", "text": "x"}).status_code == 403
    manager.post("/glossary", {"category": "电话邀约", "text": "您好，想邀请宝宝来体验一节免费的亲子课。"})
    manager.post("/glossary", {"category": "电话邀约", "text": "本周六上午有 Lego 体验课，名额有限。"})
    phrase = manager.post("/glossary", {"category": "售后回访", "text": "宝宝最近上课开心吗？"}).json_body
    calls = consultant.get("/glossary?category=电话邀约").json_body["items"]
    assert len(calls) == 2
    lego = consultant.get("/glossary?q=lego 名额").json_body["items"]
    assert [p["text"] for p in lego] == ["本周六上午有 Lego 体验课，名额有限。"]
    assert manager.delete(f"/glossary/{phrase['id']}").status_code == 204
    assert manager.delete(f"/glossary/{phrase['id']}").status_code == 404
    assert {p["category"] for p in consultant.get("/glossary").json_body["items"]} == {"电话邀约"}
