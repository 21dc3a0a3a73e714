"""The OpenAPI document is generated from the routes and models, and never drifts."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from chalicelib import error_catalogue
from chalicelib.api.openapi import build
from chalicelib.schemas.common import DECIMAL_PATTERN
from chalicelib.schemas.reports import FinanceReport, Funnel
from tests.conftest import ListedErrorsOnly

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "openapi.json"


def test_every_route_is_in_the_served_document(client, app):
    served = client.http.get("/openapi.json")
    assert served.status_code == 200
    doc = served.json_body
    assert doc["openapi"].startswith("3.1")
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    routes = {(m, p) for p, methods in app.routes.items() for m in methods if m != "OPTIONS"}
    assert routes <= documented


def test_the_committed_document_matches_the_code(app):
    # Regenerate with `make openapi` after changing a route or a model.
    assert json.loads(DOC.read_text(encoding="utf-8")) == json.loads(json.dumps(build()))


def test_protected_routes_declare_bearer_auth_roles_and_the_error_envelope(client):
    doc = client.http.get("/openapi.json").json_body
    create_user = doc["paths"]["/users"]["post"]
    assert create_user["security"] == [{"bearer": []}]
    assert create_user["x-roles"] == ["admin"]
    assert create_user["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("UserCreateRequest")
    conflict = create_user["responses"]["409"]["content"]["application/json"]["schema"]
    assert conflict["allOf"][0]["$ref"].endswith("ErrorResponse409")
    assert doc["paths"]["/auth/login"]["post"]["security"] == []
    for ref in _refs(doc):
        _, _, kind, name = ref.split("/")
        assert name in doc["components"][kind], ref


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_every_answer_a_route_gives_is_documented_with_its_content_type(school):
    # GIVEN the document a generated client (and a fuzzer) trusts
    paths = school.client.http.get("/openapi.json").json_body["paths"]

    def content(path, method, status):
        return set(paths[path][method]["responses"][status].get("content", {}))

    # THEN a dry run's 200 beside the send's 201, and every ?format= of a page or a file
    assert "DryRun" in json.dumps(paths["/messages"]["post"]["responses"]["200"])
    for report in ("funnel", "consultants", "sources", "finance"):
        assert content(f"/reports/{report}", "get", "200") == {"application/json", "text/html", XLSX}
    assert content("/events/{event_id}/sign-in-sheet", "get", "200") == {"text/html", "text/csv"}
    assert "text/csv" in content("/leads/export", "get", "200")
    # AND what the API answers matches: a dry run is a 200, an HTML report is text/html
    preview = school.admin.post(
        "/messages?dry_run=true", {"channel": "sms", "text": "您好", "recipients": {"phones": ["13800138000"]}}
    )
    assert preview.status_code == 200, preview.body
    page = school.admin.get("/reports/funnel?from=2026-12-01&to=2026-12-01&format=html")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")


# --- the contract a generated client relies on (docs/api-contract.md) -----------------


def _operations(doc):
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            yield path, method, op


def _schema(doc, node):
    while "$ref" in node:
        node = doc["components"]["schemas"][node["$ref"].split("/")[-1]]
    return node


def test_headers_a_route_reads_are_parameters_idempotency_key_on_money_moves_accept_language_everywhere():
    doc = build()
    honoured = set()
    for path, method, op in _operations(doc):
        refs = [p.get("$ref") for p in op["parameters"]]
        assert "#/components/parameters/AcceptLanguage" in refs, (method, path)
        if "#/components/parameters/IdempotencyKey" in refs:
            honoured.add((method.upper(), path))
    assert honoured == {
        ("POST", "/contracts/{contract_id}/payments"),
        ("POST", "/contracts/{contract_id}/refunds"),
        ("POST", "/cards/{card_id}/movements"),
        ("POST", "/cards/{card_id}/contracts"),
        ("POST", "/sessions/{session_id}/check-ins"),
        ("POST", "/enrolments/{enrolment_id}/payments"),
    }
    header = doc["components"]["parameters"]["IdempotencyKey"]
    assert (header["in"], header["name"], header["required"]) == ("header", "Idempotency-Key", False)
    assert doc["components"]["parameters"]["AcceptLanguage"]["name"] == "Accept-Language"


def test_website_routes_declare_the_api_key_scheme_and_staff_routes_the_bearer_token(client):
    doc = build()
    assert doc["components"]["securitySchemes"]["apiKey"] == {
        **doc["components"]["securitySchemes"]["apiKey"],
        "type": "apiKey",
        "in": "header",
        "name": "X-Api-Key",
    }
    for path in ("/public/cohorts", "/public/applications"):
        for op in doc["paths"][path].values():
            assert op["security"] == [{"apiKey": []}], path
            assert "401" in op["responses"]
    # a website route without the key is refused, as the document says
    refused = client.http.get("/public/cohorts")
    assert refused.status_code == 401
    assert refused.json_body["error"]["code"] in _codes(doc, "/public/cohorts", "get", "401")
    schemes = {json.dumps(op["security"]) for _, _, op in _operations(doc)}
    assert schemes == {"[]", '[{"bearer": []}]', '[{"apiKey": []}]'}


def _codes(doc, path, method, status):
    """The codes an operation lists for a status: the status's envelope, `code` narrowed."""
    answer = doc["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
    envelope, narrowed = answer["allOf"]
    assert envelope["$ref"] == f"#/components/schemas/ErrorResponse{status}"
    error = _schema(doc, envelope)["properties"]["error"]
    assert _schema(doc, error["allOf"][0])["properties"]["code"]["type"] == "string"  # the shared ErrorBody
    return narrowed["properties"]["error"]["properties"]["code"]["enum"]


def test_every_error_answer_lists_the_codes_that_route_can_answer(school):
    doc = build()
    errors = 0
    for path, method, op in _operations(doc):
        listed = set()
        for status in op["responses"]:
            if int(status) < 400:
                continue
            errors += 1
            codes = _codes(doc, path, method, status)
            # codes of that status, each once: a generated client's union type
            assert codes and set(codes) <= set(error_catalogue.codes_for_status(int(status))), (path, status)
            assert len(codes) == len(set(codes))
            listed |= set(codes)
        assert sorted(listed) == op["x-error-codes"], (path, method)
    assert errors > 500
    # each route its own: a deep rule's code on the route that reaches it, not on every route
    booking = set(doc["paths"]["/leads/{lead_id}/appointments"]["post"]["x-error-codes"])
    assert {"SESSION_FULL", "LEAD_NOT_FOUND", "TOKEN_EXPIRED", "ROLE_FORBIDDEN"} <= booking
    reading = set(doc["paths"]["/leads/{lead_id}"]["get"]["x-error-codes"])
    assert "LEAD_NOT_FOUND" in reading and "READ_LIMIT_REACHED" in reading  # a customer read
    assert not {"SESSION_FULL", "USERNAME_TAKEN", "CARD_NOT_FOUND"} & reading
    assert "USERNAME_TAKEN" in _codes(doc, "/users", "post", "409")
    # a local variable is not the module's function of that name (a phone `claim` is no pool claim)
    assert "OWNER_CAP_REACHED" not in doc["paths"]["/leads"]["get"]["x-error-codes"]
    assert "OWNER_CAP_REACHED" in doc["paths"]["/leads/{lead_id}/claim"]["post"]["x-error-codes"]
    assert "TOKEN_MISSING" not in doc["paths"]["/auth/login"]["post"]["x-error-codes"]  # public
    # AND what the API answers is among them: a taken username (409), an unknown lead (404)
    school.staff("consultant", username="dup-user")
    body = {"username": "dup-user", "password": "pass-123456", "display_name": "小王", "role": "consultant"}
    taken = school.admin.post("/users", {**body, "campus_ids": [school.campus["id"]]})
    assert taken.status_code == 409 and taken.json_body["error"]["code"] in _codes(doc, "/users", "post", "409")
    missing = school.admin.get("/leads/nope")
    assert missing.status_code == 404
    assert missing.json_body["error"]["code"] in _codes(doc, "/leads/{lead_id}", "get", "404")


class _Answers:
    """An HTTP side that answers every request with one error."""

    def __init__(self, status: int, code: str):
        self.status, self.code = status, code

    def request(self, method, path, **kwargs):
        body = json.dumps({"error": {"code": self.code, "message": "", "details": []}})
        return type("Answer", (), {"status_code": self.status, "body": body})()


def test_the_suite_fails_on_an_error_code_its_route_does_not_list():
    # the suite's client checks every error it receives against the route's operation
    assert ListedErrorsOnly(_Answers(404, "LEAD_NOT_FOUND")).get("/leads/abc?x=1").status_code == 404
    with pytest.raises(AssertionError, match="does not list"):
        ListedErrorsOnly(_Answers(404, "CARD_NOT_FOUND")).get("/leads/abc")
    with pytest.raises(AssertionError, match="does not list"):
        ListedErrorsOnly(_Answers(409, "SESSION_FULL")).post("/users")
    assert ListedErrorsOnly(_Answers(404, "ROUTE_NOT_FOUND")).get("/no/such/route").status_code == 404


def test_no_field_is_named_from_underscore_and_a_report_reads_back_its_from(school):
    text = json.dumps(build())
    assert "from_" not in text
    day = "2026-12-01"
    finance = school.admin.get(f"/reports/finance?from={day}&to={day}")
    assert finance.status_code == 200, finance.body
    assert finance.json_body["from"] == day and "from_" not in finance.json_body
    # a client (or a test) that reads the answer with the same model gets the period back
    assert FinanceReport.model_validate(finance.json_body).from_ == date(2026, 12, 1)
    funnel = school.admin.get(f"/reports/funnel?from={day}&to={day}").json_body
    assert Funnel.model_validate(funnel).from_ == date(2026, 12, 1)


MONEY = {"price", "discount", "net_price", "paid", "refunded", "balance_due", "amount", "cash", "agreed_price"}
MONEY |= {"credits", "gift_credits", "usable_credits", "clawed_back", "unallocated_credits", "lesson_cost"}
MONEY |= {"fee_credits", "fee_amount", "exchange_rate", "revenue", "refunds", "net", "contract_value"}
MONEY |= {"credits_consumed"}


def _decimal_kinds(doc, prop):
    """The non-null alternatives of a property (through anyOf and $ref)."""
    prop = _schema(doc, prop)
    if "anyOf" in prop:
        return [k for alt in prop["anyOf"] for k in _decimal_kinds(doc, alt) if k.get("type") != "null"]
    return [prop]


def test_money_and_credits_are_decimal_strings_with_a_pattern(school):
    doc = build()
    checked = 0
    for name, schema in doc["components"]["schemas"].items():
        for field, prop in schema.get("properties", {}).items():
            if field not in MONEY or prop.get("type") in ("integer", "array"):
                continue  # counts (refunds: 2) are integers; lists of refunds are not money
            for kind in _decimal_kinds(doc, prop):
                if kind.get("type") == "object":
                    continue
                assert kind.get("type") == "string" and kind.get("pattern"), (name, field, kind)
                assert re.fullmatch(kind["pattern"].strip("^$"), "48"), (name, field)
                checked += 1
    assert checked > 40
    # AND the API answers strings that match, and refuses an amount it would not answer
    course = school.admin.post("/courses", {"name": "亲子早教 A", "lesson_cost": "1.5"})
    assert course.status_code == 201, course.body
    assert isinstance(course.json_body["lesson_cost"], str)
    assert re.fullmatch(DECIMAL_PATTERN, course.json_body["lesson_cost"])
    exponent = school.admin.post("/courses", {"name": "亲子早教 B", "lesson_cost": "1e1"})
    assert exponent.status_code == 400
    assert exponent.json_body["error"]["details"][0]["field"] == "lesson_cost"


def test_downloads_document_their_content_and_file_name():
    doc = build()
    downloads = 0
    for path, method, op in _operations(doc):
        for status, answer in op["responses"].items():
            if not status.startswith("2") or status == "204":
                continue
            assert answer.get("content"), (method, path, status)
            for kind, media in answer["content"].items():
                if kind == "application/json":
                    continue
                downloads += 1
                assert media["schema"]["type"] == "string", (path, kind)
                if not kind.startswith("text/"):
                    assert media["schema"]["format"] == "binary", (path, kind)
    assert downloads >= 8
    export = doc["paths"]["/leads/export"]["get"]["responses"]["200"]
    assert "Content-Disposition" in export["headers"]


def test_servers_and_a_description_for_every_operation():
    doc = build()
    assert doc["servers"][0]["url"] == "http://127.0.0.1:8000"
    deployed = doc["servers"][1]
    assert set(re.findall(r"{(\w+)}", deployed["url"])) == set(deployed["variables"])
    for path, method, op in _operations(doc):
        assert op["description"].strip(), (method, path)
    # the view's docstring when it has one
    assert doc["paths"]["/openapi.json"]["get"]["description"].startswith("The document itself")


def test_the_document_passes_the_openapi_linter(tmp_path):
    redocly = ROOT / "infra" / "local" / "node_modules" / ".bin" / "redocly"
    assert redocly.exists() and shutil.which("node"), "run `make lint` once: npm installs @redocly/cli"
    built = tmp_path / "openapi.json"
    built.write_text(json.dumps(build(), ensure_ascii=False), encoding="utf-8")
    env = {**os.environ, "REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"}
    config = str(ROOT / "redocly.yaml")
    lint = subprocess.run(
        [str(redocly), "lint", str(built), "--config", config, "--format", "stylish"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    print(lint.stdout[-3000:], lint.stderr[-3000:])
    assert lint.returncode == 0
    assert "warning" not in lint.stdout
