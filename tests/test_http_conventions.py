"""What every front end can rely on: the error envelope, CORS, Unicode."""

from __future__ import annotations


def test_errors_share_one_envelope(school):
    for response in (
        school.client.http.get("/me"),
        school.admin.get("/users/01NOSUCHUSER00000000000000"),
        school.admin.post("/campuses", {"nom": "x"}),
        school.staff("teacher").post("/campuses", {"name": "x"}),
    ):
        error = response.json_body["error"]
        assert set(error) == {"code", "message", "details"}
        assert isinstance(error["details"], list)
        assert response.headers["Content-Type"].startswith("application/json")


def test_responses_carry_cors_headers_for_browser_front_ends(school):
    response = school.admin.get("/campuses", headers={"Origin": "https://crm.school.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"  # the local/test stage; prod names its origin
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed and "idempotency-key" in allowed


def test_chinese_text_round_trips_unescaped(school):
    response = school.admin.post("/campuses", {"name": "浦东新区校区 🌱"})
    assert "浦东新区校区 🌱" in response.body.decode("utf-8")
    assert response.json_body["name"] == "浦东新区校区 🌱"


def _enveloped(response, status: int, code: str) -> None:
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json_body["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code


def test_an_unknown_method_is_a_405_in_the_envelope(school):
    response = school.admin.request("PUT", "/campuses", {"name": "x"})
    _enveloped(response, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in response.headers["Allow"]


def test_a_body_of_another_content_type_is_a_415_in_the_envelope(school):
    response = school.admin.post("/campuses", "name=x", headers={"Content-Type": "application/x-www-form-urlencoded"})
    _enveloped(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_a_download_works_with_accept_any_and_asks_for_accept_in_the_envelope_without_it(school):
    manager = school.staff("manager")
    response = manager.get("/leads/export?format=xlsx", headers={"Accept": "*/*"})
    assert response.status_code == 200, response.body
    assert response.body[:2] == b"PK"  # an .xlsx (a zip)
    refused = manager.get("/leads/export?format=xlsx", headers={"Accept": "application/json"})
    _enveloped(refused, 406, "NOT_ACCEPTABLE")


def test_answers_use_the_field_names_the_openapi_document_gives(school):
    from chalicelib.domain import clock

    today = clock.now().date().isoformat()
    report = school.admin.get(f"/reports/funnel?from={today}&to={today}")
    assert report.status_code == 200, report.body
    assert report.json_body["from"] == today and "from_" not in report.json_body
    schema = school.client.http.get("/openapi.json").json_body["components"]["schemas"]["Funnel"]
    assert {"from", "to"} <= set(schema["required"])


def test_an_upload_route_asks_for_a_token_before_it_judges_the_content_type(school):
    anonymous = school.client.http.post("/leads/imports", headers={"Content-Type": "application/json"}, body=b"{}")
    _enveloped(anonymous, 401, "TOKEN_MISSING")
    manager = school.staff("manager")
    wrong_type = manager.post("/leads/imports", b"name,phone\n", headers={"Content-Type": "text/plain"})
    _enveloped(wrong_type, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert wrong_type.json_body["error"]["details"][0]["field"] == "Content-Type"


def test_an_id_in_the_path_too_long_for_any_key_is_a_400_naming_it(school):
    response = school.admin.get("/templates/" + "模" * 400)  # 1,200 bytes: longer than any key may be
    _enveloped(response, 400, "VALIDATION_FAILED")
    assert response.json_body["error"]["details"][0]["field"] == "template_id"
    assert school.admin.get("/templates/" + "x" * 40).status_code == 404


def test_an_unknown_query_parameter_is_a_400_naming_it_like_an_unknown_body_field(school):
    manager = school.staff("manager")
    body_extra = school.admin.post("/campuses", {"name": "静安校区", "nom": "x"})
    _enveloped(body_extra, 400, "VALIDATION_FAILED")
    expected = {k: v for k, v in body_extra.json_body["error"]["details"][0].items() if k != "field"}
    for session, path, name in (
        (manager, "/leads?colour=red", "colour"),  # a list route
        (manager, "/reports/funnel?form=html", "form"),  # a report
        (manager, "/dashboard/today?day=2032-06-02", "day"),  # the dashboard, with its own ?date=
        (manager, "/announcements?page=2", "page"),  # a route that takes no parameter at all
        (manager, "/me?晚上=1", "晚上"),
        (school.admin, "/settings/security?verbose=1", "verbose"),
    ):
        response = session.get(path)
        _enveloped(response, 400, "VALIDATION_FAILED")
        detail = response.json_body["error"]["details"][0]
        assert detail == {"field": name, **expected}, (path, detail)
        assert name in response.json_body["error"]["message"]
    # what a route declares is taken as before
    from datetime import timedelta

    from chalicelib.domain import clock

    tomorrow = (clock.now() + timedelta(days=1)).date().isoformat()  # today or tomorrow in school time
    assert manager.get(f"/dashboard/today?date={tomorrow}").status_code == 200
    assert manager.get("/leads?limit=2").status_code == 200


def test_a_query_parameter_given_twice_is_a_400_naming_it_not_the_last_one_silently(school):
    response = school.staff("manager").get("/leads?limit=2&limit=100")
    _enveloped(response, 400, "VALIDATION_FAILED")
    assert response.json_body["error"]["details"][0]["field"] == "limit"


def test_a_public_route_refuses_an_unknown_query_parameter_too(school):
    response = school.client.http.get("/openapi.json?v=2")
    _enveloped(response, 400, "VALIDATION_FAILED")
    assert response.json_body["error"]["details"][0]["field"] == "v"


def test_every_route_documents_exactly_the_query_parameters_it_takes(school):
    from chalicelib.api.routing import REGISTRY, accepted_parameters

    document = school.client.http.get("/openapi.json").json_body
    for spec in REGISTRY:
        operation = document["paths"][spec.path][spec.method.lower()]
        documented = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}  # headers: $ref
        taken = set(accepted_parameters(spec.query)) if spec.query else set()
        assert documented == taken, (spec.method, spec.path)
