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
