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
