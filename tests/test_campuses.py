from __future__ import annotations


def test_admin_opens_campuses_and_staff_list_them(school):
    response = school.admin.post("/campuses", {"name": "福田分校", "address": "深圳市福田区", "phone": "0755-1234567"})
    assert response.status_code == 201
    campus = response.json_body
    assert campus["name"] == "福田分校"
    consultant = school.staff("consultant")
    names = [c["name"] for c in consultant.get("/campuses").json_body["items"]]
    assert sorted(names) == sorted(["南山校区", "福田分校"])


def test_only_an_admin_opens_a_campus(school):
    manager = school.staff("manager")
    response = manager.post("/campuses", {"name": "x"})
    assert response.status_code == 403
    assert len(school.admin.get("/campuses").json_body["items"]) == 1


def test_a_campus_needs_a_name(school):
    response = school.admin.post("/campuses", {"name": "  "})
    assert response.status_code == 400
    assert response.json_body["error"]["details"][0]["field"] == "name"


def test_campus_list_paginates(school):
    for i in range(4):
        school.admin.post("/campuses", {"name": f"校区 {i}"})
    seen, cursor = [], None
    while True:
        page = school.admin.get("/campuses?limit=2" + (f"&cursor={cursor}" if cursor else "")).json_body
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 5


def test_unknown_query_parameters_are_rejected(school):
    response = school.admin.get("/campuses?limt=2")
    assert response.status_code == 400
    assert response.json_body["error"]["details"][0]["field"] == "limt"
    too_many = school.admin.get("/campuses?limit=1000")
    assert too_many.status_code == 400
    assert too_many.json_body["error"]["details"][0]["field"] == "limit"


def test_an_admin_renames_a_campus_and_changes_only_what_was_sent(school):
    campus = school.admin.post("/campuses", {"name": "福田分校", "address": "深圳市福田区", "phone": "0755-1234567"})
    campus_id = campus.json_body["id"]
    response = school.admin.patch(f"/campuses/{campus_id}", {"name": "福田校区"})
    assert response.status_code == 200
    assert (response.json_body["name"], response.json_body["address"]) == ("福田校区", "深圳市福田区")
    response = school.admin.patch(f"/campuses/{campus_id}", {"address": None, "phone": "0755-7654321"})
    assert (response.json_body["name"], response.json_body["address"], response.json_body["phone"]) == (
        "福田校区",
        None,
        "0755-7654321",
    )
    listed = {c["id"]: c for c in school.admin.get("/campuses").json_body["items"]}
    assert (listed[campus_id]["name"], listed[campus_id]["address"]) == ("福田校区", None)


def test_a_campus_keeps_a_name_and_only_an_admin_renames_it(school):
    campus_id = school.campus["id"]
    for body in ({"name": "  "}, {"name": None}):
        response = school.admin.patch(f"/campuses/{campus_id}", body)
        assert response.status_code == 400, body
        assert response.json_body["error"]["details"][0]["field"] == "name"
    manager = school.staff("manager")
    assert manager.patch(f"/campuses/{campus_id}", {"name": "店长改的名"}).status_code == 403
    assert manager.patch(f"/campuses/{campus_id}", {"duty_consultant_id": None}).status_code == 200  # still theirs
    assert school.admin.get("/campuses").json_body["items"][0]["name"] == school.campus["name"]
    assert school.admin.patch("/campuses/nope", {"name": "x"}).status_code == 404
