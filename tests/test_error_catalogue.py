"""Error messages in Chinese and English from one catalogue keyed by code (issue 15): the
catalogue holds every code the source can answer, the language follows Accept-Language,
and the code and details never change with it.
These tests are the API's answers; the catalogue on its own is tests/unit/test_error_catalogue.py."""

from __future__ import annotations

import http.client
import json
import secrets

import pytest

from tests.test_local_server import local_api  # noqa: F401 - the local API server, for the gateway's answers


def _phone() -> str:
    return "139" + "".join(secrets.choice("0123456789") for _ in range(8))


def _lead(phone: str, name: str = "王小明") -> dict:
    return {"name": name, "guardians": [{"name": "王妈妈", "relation": "mother", "phones": [phone]}]}


def test_a_duplicate_phone_in_chinese_keeps_the_code_and_details_of_the_english_answer(school):
    consultant = school.staff("consultant", display_name="顾问小李")
    phone = _phone()
    assert consultant.post("/leads", _lead(phone)).status_code == 201
    english = consultant.post("/leads", _lead(phone, "李雷"))
    chinese = consultant.post("/leads", _lead(phone, "李雷"), headers={"Accept-Language": "zh-CN"})
    assert english.status_code == chinese.status_code == 409
    en, zh = english.json_body["error"], chinese.json_body["error"]
    assert en["code"] == zh["code"] == "DUPLICATE_PHONE"
    assert en["details"] == zh["details"]  # field names stay the API's English names
    assert "already belongs to another lead" in en["message"]  # the raise site's own English
    masked = f"{phone[:3]}****{phone[-4:]}"
    assert zh["message"] == f"电话 {masked} 已属于本校的另一位客户「王小明」，负责顾问：顾问小李"
    assert chinese.headers["Content-Language"] == "zh-CN"
    assert english.headers["Content-Language"] == "en"


@pytest.mark.parametrize("header", [None, "en", "en-US,en;q=0.9", "fr"])
def test_english_or_no_accept_language_answers_in_english(school, header):
    headers = {"Accept-Language": header} if header else {}
    response = school.staff("teacher").post("/campuses", {"name": "x"}, headers=headers)
    assert response.status_code == 403
    assert response.json_body["error"] == {
        "code": "ROLE_FORBIDDEN",
        "message": "Your role may not do this.",
        "details": [],
    }
    assert response.headers["Content-Language"] == "en"


def test_q_values_choose_chinese_over_a_less_wanted_english(school):
    response = school.staff("teacher").post(
        "/campuses", {"name": "x"}, headers={"Accept-Language": "en;q=0.5, zh;q=0.9"}
    )
    assert response.status_code == 403
    assert response.json_body["error"] == {"code": "ROLE_FORBIDDEN", "message": "您的角色无权执行此操作", "details": []}


def test_a_validation_error_in_chinese_names_the_field(school):
    body = {**_lead(_phone()), "favourite_colour": "x"}
    response = school.staff("consultant").post("/leads", body, headers={"Accept-Language": "zh"})
    assert response.status_code == 400
    error = response.json_body["error"]
    assert error["code"] == "VALIDATION_FAILED"
    assert error["details"][0]["field"] == "favourite_colour"
    assert error["message"] == "输入有误：favourite_colour（不接受此字段）"
    missing = school.admin.post("/campuses", {}, headers={"Accept-Language": "zh-CN"}).json_body["error"]
    assert missing["message"] == "输入有误：name（必填）"


def test_a_405_from_the_app_follows_the_language(school):
    zh = school.admin.request("PUT", "/campuses", {"name": "x"}, headers={"Accept-Language": "zh-CN"})
    en = school.admin.request("PUT", "/campuses", {"name": "x"})
    assert zh.status_code == en.status_code == 405
    assert zh.json_body["error"]["code"] == en.json_body["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert zh.json_body["error"]["message"] == "此地址不支持该请求方法"
    assert en.json_body["error"]["message"] == "This path does not take that method."
    assert zh.json_body["error"]["details"] == en.json_body["error"]["details"]
    assert zh.headers["Content-Language"] == "zh-CN"


def _ask(port: int, method: str, path: str, lang: str | None) -> tuple[int, dict, str | None]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, headers={"Accept-Language": lang} if lang else {})
    response = conn.getresponse()
    return response.status, json.loads(response.read()), response.getheader("Content-Language")


def test_the_local_servers_route_not_found_follows_the_language(local_api):  # noqa: F811
    for path, status in (("/no/such/route", 403), ("/templates/", 404)):
        zh = _ask(local_api, "GET", path, "zh-CN,zh;q=0.9")
        en = _ask(local_api, "GET", path, None)
        assert zh[0] == en[0] == status
        assert zh[1]["error"]["code"] == en[1]["error"]["code"] == "ROUTE_NOT_FOUND"
        assert zh[1]["error"]["message"] == "没有这个接口地址" and zh[2] == "zh-CN"
        assert en[1]["error"]["message"] != zh[1]["error"]["message"] and en[2] == "en"
