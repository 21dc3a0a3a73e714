"""The OpenAPI document is generated from the routes and models, and never drifts."""

from __future__ import annotations

import json
from pathlib import Path

from chalicelib.api.openapi import build

DOC = Path(__file__).resolve().parents[1] / "docs" / "openapi.json"


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
    assert create_user["responses"]["409"]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorResponse")
    assert doc["paths"]["/auth/login"]["post"]["security"] == []
    for ref in _refs(doc):
        assert ref.split("/")[-1] in doc["components"]["schemas"], ref


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


def test_every_answer_a_route_gives_is_documented_with_its_content_type(school):
    # GIVEN the document a generated client (and a fuzzer) trusts
    paths = school.client.http.get("/openapi.json").json_body["paths"]

    def content(path, method, status):
        return set(paths[path][method]["responses"][status].get("content", {}))

    # THEN a dry run's 200 beside the send's 201, and every ?format= of a page or a file
    assert "DryRun" in json.dumps(paths["/messages"]["post"]["responses"]["200"])
    for report in ("funnel", "consultants", "sources", "finance"):
        assert content(f"/reports/{report}", "get", "200") == {"application/json", "text/html"}
    assert content("/events/{event_id}/sign-in-sheet", "get", "200") == {"text/html", "text/csv"}
    assert "text/csv" in content("/leads/export", "get", "200")
    # AND what the API answers matches: a dry run is a 200, an HTML report is text/html
    preview = school.admin.post(
        "/messages?dry_run=true", {"channel": "sms", "text": "您好", "recipients": {"phones": ["13800138000"]}}
    )
    assert preview.status_code == 200, preview.body
    page = school.admin.get("/reports/funnel?from=2026-12-01&to=2026-12-01&format=html")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
