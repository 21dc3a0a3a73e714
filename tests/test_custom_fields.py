"""A school's own lists and lead fields (issue 19, part 4): lists beside the five built-in
ones, lead fields that use them (or text, number, date), checked like built-in fields, on
the lead, in the list's filters, in exports and imports."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook

from chalicelib.db import keys, telemetry
from chalicelib.schemas.settings import DictionaryKind
from tests.test_lead_concurrency import _race
from tests.test_leads import lead_body

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
OCCUPATIONS = [
    {"key": "teacher", "label": "教师"},
    {"key": "doctor", "label": "医生"},
    {"key": "chef", "label": "厨师"},
]
FIELDS = [
    {"key": "occupation", "label": "职业", "type": "list", "list": "occupation"},
    {"key": "income", "label": "年收入", "type": "number"},
    {"key": "employer", "label": "单位", "type": "text"},
    {"key": "first_visit", "label": "首次到访", "type": "date"},
]


def _define(school, fields=FIELDS):
    """GIVEN the school's list "occupation" and its four fields."""
    made = school.admin.put("/settings/dictionaries/occupation", {"entries": OCCUPATIONS})
    assert made.status_code == 200, made.body
    defined = school.admin.put("/settings/lead-fields", {"fields": fields})
    assert defined.status_code == 200, defined.body
    return defined.json_body


def _error(response, status: int, code: str = "VALIDATION_FAILED") -> dict:
    assert response.status_code == status, response.body
    assert response.json_body["error"]["code"] == code, response.body
    return response.json_body["error"]


# --- lists -------------------------------------------------------------------------------


def test_an_admin_creates_a_list_of_the_schools_own_and_every_list_is_listed(school):
    consultant = school.staff("consultant")
    # WHEN the admin creates "occupation"
    made = school.admin.put("/settings/dictionaries/occupation", {"entries": OCCUPATIONS})
    # THEN it is a list of the school's own, read by the staff like the built-in ones
    assert made.status_code == 200 and made.json_body["custom"] is True
    assert made.json_body["kind"] == "occupation"
    read = consultant.get("/settings/dictionaries/occupation").json_body
    assert [(e["key"], e["label"]) for e in read["entries"]] == [(e["key"], e["label"]) for e in OCCUPATIONS]
    every = consultant.get("/settings/dictionaries").json_body
    built_in = [k.value for k in DictionaryKind]
    assert [d["kind"] for d in every["items"]] == [*built_in, "occupation"]
    assert [d["custom"] for d in every["items"]] == [False] * len(built_in) + [True] and every["custom_limit"] == 20
    # a list the school has not made is 404; a consultant writes no list
    _error(consultant.get("/settings/dictionaries/industry"), 404, "DICTIONARY_NOT_FOUND")
    _error(consultant.put("/settings/dictionaries/industry", {"entries": OCCUPATIONS}), 403, "ROLE_FORBIDDEN")
    assert consultant.get("/settings/dictionaries/industry").status_code == 404  # nothing was written


@pytest.mark.parametrize("name", ["Occupation", "o", "1st", "my-list", "a" * 33, "职业", "x%20y"])
def test_a_list_name_that_is_not_a_name_is_400(school, name):
    error = _error(school.admin.put(f"/settings/dictionaries/{name}", {"entries": OCCUPATIONS}), 400)
    assert error["details"][0]["field"] == "kind"
    assert school.admin.get(f"/settings/dictionaries/{name}").status_code == 400


def test_a_school_has_at_most_twenty_lists_of_its_own(school):
    for n in range(20):
        assert school.admin.put(f"/settings/dictionaries/list_{n}", {"entries": OCCUPATIONS}).status_code == 200
    # WHEN a 21st is created THEN 400, and nothing is written
    error = _error(school.admin.put("/settings/dictionaries/list_20", {"entries": OCCUPATIONS}), 400)
    assert "20" in error["message"]
    assert school.admin.get("/settings/dictionaries/list_20").status_code == 404
    # changing one of the twenty, and the built-in lists, still works
    assert school.admin.put("/settings/dictionaries/list_3", {"entries": OCCUPATIONS[:1]}).status_code == 200
    assert school.admin.put("/settings/dictionaries/importance", {"entries": OCCUPATIONS}).status_code == 200


def test_another_schools_lists_and_fields_are_not_visible(school, other_school):
    _define(school)
    assert other_school.admin.get("/settings/dictionaries/occupation").status_code == 404
    assert "occupation" not in [d["kind"] for d in other_school.admin.get("/settings/dictionaries").json_body["items"]]
    assert other_school.admin.get("/settings/lead-fields").json_body["fields"] == []
    # the other school's lead cannot use the first school's field
    refused = other_school.admin.post("/leads", lead_body(custom={"occupation": "teacher"}))
    assert _error(refused, 400)["details"][0]["field"] == "custom.occupation"


# --- field definitions -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ([{"key": "occupation", "label": "职业", "type": "list"}], "fields.0"),  # a list field names its list
        ([{"key": "income", "label": "收入", "type": "number", "list": "occupation"}], "fields.0"),
        ([{"key": "hobby", "label": "爱好", "type": "list", "list": "hobbies"}], "fields.0.list"),  # no such list
        ([{"key": "status", "label": "状态", "type": "text"}], "fields.0.key"),  # a built-in field's name
        ([{"key": "custom", "label": "x", "type": "text"}], "fields.0.key"),
        ([{"key": "Bad", "label": "x", "type": "text"}], "fields.0.key"),
        ([{"key": "ok_key", "label": "", "type": "text"}], "fields.0.label"),
        ([{"key": "ok_key", "label": "x", "type": "colour"}], "fields.0.type"),
        ([{"key": "same", "label": "a", "type": "text"}, {"key": "same", "label": "b", "type": "text"}], "fields"),
        ([{"key": f"f_{n}", "label": "x", "type": "text"} for n in range(31)], "fields"),
    ],
)
def test_field_definitions_are_checked(school, fields, where):
    school.admin.put("/settings/dictionaries/occupation", {"entries": OCCUPATIONS})
    error = _error(school.admin.put("/settings/lead-fields", {"fields": fields}), 400)
    assert error["details"][0]["field"].startswith(where), error
    assert school.admin.get("/settings/lead-fields").json_body["fields"] == []


def test_fields_are_read_by_staff_and_written_by_admins(school):
    consultant, manager = school.staff("consultant"), school.staff("manager")
    _define(school)
    assert [f["key"] for f in consultant.get("/settings/lead-fields").json_body["fields"]] == [
        "occupation",
        "income",
        "employer",
        "first_visit",
    ]
    for who in (consultant, manager):
        _error(who.put("/settings/lead-fields", {"fields": []}), 403, "ROLE_FORBIDDEN")
    assert len(school.admin.get("/settings/lead-fields").json_body["fields"]) == 4
    # thirty fields are allowed
    thirty = [{"key": f"f_{n}", "label": f"字段{n}", "type": "text"} for n in range(30)]
    assert school.admin.put("/settings/lead-fields", {"fields": thirty}).status_code == 200


# --- leads -------------------------------------------------------------------------------


def test_a_lead_carries_the_schools_fields_checked_like_built_in_ones(school):
    consultant = school.staff("consultant")
    _define(school)
    custom = {"occupation": "teacher", "income": 120000.5, "employer": "南山小学", "first_visit": "2026-03-01"}
    made = consultant.post("/leads", lead_body(custom=custom))
    assert made.status_code == 201, made.body
    lead = made.json_body
    assert lead["custom"] == custom
    assert consultant.get(f"/leads/{lead['id']}").json_body["custom"] == custom
    # a lead without any: an empty map, and nothing stored for it
    plain = consultant.post("/leads", lead_body()).json_body
    assert plain["custom"] == {}
    from chalicelib.db.items import LeadItem

    assert LeadItem.get(keys.lead_pk(school.slug, plain["id"]), keys.LEAD_SK).custom is None
    # the list entry and the field are marked used: they can no longer be deleted
    assert "teacher" in school.admin.get("/settings/dictionaries/occupation").json_body["used"]
    used = school.admin.get("/settings/lead-fields").json_body["used"]
    assert sorted(used) == ["employer", "first_visit", "income", "occupation"]

    bad = [
        ({"hobby": "piano"}, "custom.hobby"),  # no such field
        ({"occupation": "pilot"}, "custom.occupation"),  # not in the list
        ({"occupation": 3}, "custom.occupation"),
        ({"income": "lots"}, "custom.income"),
        ({"income": 1e13}, "custom.income"),
        ({"employer": 12}, "custom.employer"),
        ({"employer": "x" * 201}, "custom.employer"),
        ({"employer": "a\x07b"}, "custom"),
        ({"first_visit": "2026-02-30"}, "custom.first_visit"),
        ({"first_visit": "2200-01-01"}, "custom.first_visit"),
        ({"first_visit": "01/03/2026"}, "custom.first_visit"),
        ({"Bad": "x"}, "custom"),
        ({"income": True}, "custom.income"),
    ]
    for values, field in bad:
        error = _error(consultant.post("/leads", lead_body(custom=values)), 400)
        assert error["details"][0]["field"].startswith(field), (values, error)
        error = _error(consultant.patch(f"/leads/{lead['id']}", {"custom": values}), 400)
        assert error["details"][0]["field"].startswith(field), (values, error)
    assert consultant.get(f"/leads/{lead['id']}").json_body["custom"] == custom  # nothing half-written


def test_a_patch_changes_only_the_keys_it_sends_and_null_removes_one(school):
    consultant = school.staff("consultant")
    _define(school)
    lead = consultant.post("/leads", lead_body(custom={"occupation": "teacher", "income": 5000})).json_body
    url = f"/leads/{lead['id']}"
    changed = consultant.patch(url, {"custom": {"employer": "南山医院", "income": None}})
    assert changed.status_code == 200, changed.body
    assert changed.json_body["custom"] == {"occupation": "teacher", "employer": "南山医院"}
    assert consultant.patch(url, {"notes": "只改备注"}).json_body["custom"] == {
        "occupation": "teacher",
        "employer": "南山医院",
    }
    history = consultant.get(f"/leads/{lead['id']}/history").json_body["items"]
    edited = [h for h in history if h["action"] == "edited"]
    assert sorted(edited[0]["details"]["fields"]) in (["custom.employer", "custom.income"], ["notes"])
    assert ["custom.employer", "custom.income"] in [sorted(h["details"]["fields"]) for h in edited]
    removed = consultant.patch(url, {"custom": {"occupation": None, "employer": None}}).json_body
    assert removed["custom"] == {}


def test_retired_entries_and_fields_stay_where_they_are_but_cannot_be_newly_chosen(school):
    consultant = school.staff("consultant")
    _define(school)
    lead = consultant.post("/leads", lead_body(custom={"occupation": "chef", "employer": "饭店"})).json_body
    url = f"/leads/{lead['id']}"
    # a used entry and a used field cannot be deleted, nor the field retyped: retire them
    in_use = school.admin.put("/settings/dictionaries/occupation", {"entries": OCCUPATIONS[:2]})
    assert _error(in_use, 409, "VALUE_IN_USE")["details"][0]["key"] == "chef"
    without = [f for f in FIELDS if f["key"] != "employer"]
    assert _error(school.admin.put("/settings/lead-fields", {"fields": without}), 409, "VALUE_IN_USE")
    retyped = [{**f, "type": "number"} if f["key"] == "employer" else f for f in FIELDS]
    assert _error(school.admin.put("/settings/lead-fields", {"fields": retyped}), 409, "VALUE_IN_USE")
    # an unused field can go, and an unused entry
    unused_gone = [f for f in FIELDS if f["key"] != "income"]
    assert school.admin.put("/settings/lead-fields", {"fields": unused_gone}).status_code == 200
    retired = [{**e, "retired": e["key"] == "chef"} for e in OCCUPATIONS]
    assert school.admin.put("/settings/dictionaries/occupation", {"entries": retired}).status_code == 200
    fields = [{**f, "retired": f["key"] == "employer"} for f in unused_gone]
    assert school.admin.put("/settings/lead-fields", {"fields": fields}).status_code == 200
    # the lead keeps both, and an edit of something else keeps them
    assert consultant.patch(url, {"notes": "x", "custom": {"occupation": "chef"}}).status_code == 200
    # neither can be newly set, on this lead or another
    assert _error(consultant.patch(url, {"custom": {"employer": "新饭店"}}), 400)
    other = consultant.post("/leads", lead_body()).json_body
    assert _error(consultant.patch(f"/leads/{other['id']}", {"custom": {"occupation": "chef"}}), 400)
    assert _error(consultant.patch(f"/leads/{other['id']}", {"custom": {"employer": "饭店"}}), 400)
    # removing a retired value is allowed
    assert consultant.patch(url, {"custom": {"employer": None}}).json_body["custom"] == {"occupation": "chef"}


def test_two_edits_of_different_fields_at_once_both_stay_and_of_the_same_field_one_is_told(school):
    consultant = school.staff("consultant")
    _define(school)
    lead = consultant.post("/leads", lead_body(custom={"occupation": "teacher", "income": 1})).json_body
    url = f"/leads/{lead['id']}"
    # WHEN two people edit different fields of the lead at once (both read before either writes)
    answers = _race(
        [
            lambda: consultant.patch(url, {"custom": {"occupation": "doctor"}}),
            lambda: consultant.patch(url, {"custom": {"income": 2}}),
        ]
    )
    # THEN both edits are kept
    assert [a.status_code for a in answers] == [200, 200], [a.body for a in answers]
    assert consultant.get(url).json_body["custom"] == {"occupation": "doctor", "income": 2}
    # WHEN two people set the same field to different values at once
    answers = _race(
        [
            lambda: consultant.patch(url, {"custom": {"occupation": "chef"}}),
            lambda: consultant.patch(url, {"custom": {"occupation": "teacher"}}),
        ]
    )
    # THEN the later is told who changed what, and one value stands
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 409], [a.body for a in answers]
    refused = next(a for a in answers if a.status_code == 409).json_body["error"]
    assert refused["code"] == "EDIT_CONFLICT" and refused["details"][0]["field"] == "custom.occupation"
    assert refused["details"][0]["yours_was"] == "doctor"
    won = next(a for a in answers if a.status_code == 200).json_body["custom"]["occupation"]
    assert consultant.get(url).json_body["custom"] == {"occupation": won, "income": 2}


# --- the list's filters ------------------------------------------------------------------


def test_the_lead_list_filters_by_the_schools_fields_on_the_same_query(school):
    consultant = school.staff("consultant")
    _define(school)
    made = {}
    for name, custom in [
        ("教师甲", {"occupation": "teacher", "income": 100}),
        ("教师乙", {"occupation": "teacher", "income": 200}),
        ("医生丙", {"occupation": "doctor", "income": 100}),
        ("无职业", {}),
    ]:
        made[name] = consultant.post("/leads", lead_body(name=name, custom=custom)).json_body["id"]

    def names(query: str) -> list[str]:
        answer = consultant.get(f"/leads?{query}")
        assert answer.status_code == 200, answer.body
        return sorted(i["name"] for i in answer.json_body["items"])

    assert names("custom=occupation:teacher") == ["教师乙", "教师甲"]
    assert names("custom=occupation:teacher&custom=income:100") == ["教师甲"]  # repeated: all must match
    assert names("custom=income:100") == ["医生丙", "教师甲"]
    assert names("custom=occupation:chef") == []
    assert names("custom=occupation:teacher&sort=next_follow_up") == ["教师乙", "教师甲"]
    # pagination as before (a page reads `limit` leads, then filters): pages of one find both
    seen, cursor, pages = [], "", 0
    while pages < 10:
        page = consultant.get(f"/leads?custom=occupation:teacher&limit=1{cursor}").json_body
        assert len(page["items"]) <= 1
        seen += [i["name"] for i in page["items"]]
        pages += 1
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert sorted(seen) == ["教师乙", "教师甲"]
    # a Query, never a Scan
    with telemetry.record() as rec:
        consultant.get("/leads?custom=occupation:teacher")
    operations = set(rec.operations)
    assert "Scan" not in operations and "Query" in operations
    # bad filters are 400
    for query in ("custom=hobby:piano", "custom=occupation", "custom=income:lots", "custom=occupation:pilot"):
        assert _error(consultant.get(f"/leads?{query}"), 400)["details"][0]["field"].startswith("custom"), query
    four = "&".join(f"custom=income:{n}" for n in range(4))
    assert _error(consultant.get(f"/leads?{four}"), 400)


# --- export and import -------------------------------------------------------------------


def test_the_export_has_a_column_per_live_field_with_list_labels_and_cells_as_data(school):
    manager = school.staff("manager")
    fields = [*FIELDS, {"key": "old_field", "label": "旧字段", "type": "text", "retired": True}]
    _define(school, fields)
    custom = {"occupation": "teacher", "income": 5000, "employer": '=HYPERLINK("x")', "first_visit": "2026-03-01"}
    manager.post("/leads", lead_body(name="王小明", custom=custom))
    got = manager.request("GET", "/leads/export?format=xlsx", headers={"Accept": XLSX})
    assert got.status_code == 200, got.body[:300]
    rows = list(load_workbook(io.BytesIO(got.body)).active.iter_rows(values_only=True))
    header = list(rows[0])
    assert header[-4:] == ["职业", "年收入", "单位", "首次到访"] and "旧字段" not in header
    row = dict(zip(header, rows[1], strict=True))
    assert row["职业"] == "教师" and row["年收入"] == 5000 and row["首次到访"] == "2026-03-01"
    assert row["单位"] == '=HYPERLINK("x")'  # text, never a formula
    book = load_workbook(io.BytesIO(got.body))
    cell = book.active.cell(row=2, column=header.index("单位") + 1)
    assert cell.data_type == "s"
    text = manager.get("/leads/export?format=csv").body.decode("utf-8").lstrip("\ufeff")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0][-4:] == ["职业", "年收入", "单位", "首次到访"] and lines[1][-4] == "教师"
    assert not lines[1][-2].startswith("=")  # neutralised in CSV (sheets.safe)


def _xlsx(header: list, rows: list) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_import_reads_the_schools_columns_by_label_or_key(school):
    manager = school.staff("manager")
    _define(school)
    template = manager.get("/leads/import-template?lang=zh", headers={"Accept": XLSX})
    book = load_workbook(io.BytesIO(template.body))
    header = [c.value for c in next(book.worksheets[0].iter_rows(max_row=1))]
    assert header[-4:] == ["职业", "年收入", "单位", "首次到访"]
    choices = list(book.worksheets[1].iter_rows(values_only=True))
    assert ("职业", "教师", "teacher") in choices
    data = _xlsx(
        ["姓名", "电话", "职业", "income", "单位", "首次到访"],
        [
            ["王一", "13800138001", "教师", 3000, "南山小学", "2026-03-01"],  # by label
            ["王二", "13800138002", "doctor", "1,500.5", None, None],  # by key
            ["王三", "13800138003", "飞行员", None, None, None],  # not one of the choices
            ["王四", "13800138004", None, "很多", None, "2026-13-01"],  # not a number, not a date
        ],
    )
    result = manager.post("/leads/imports", data, headers={"Content-Type": XLSX}).json_body
    assert result["counts"]["imported"] == 2, result
    assert result["counts"]["invalid"] == 2
    leads = {i["name"]: i for i in manager.get("/leads?limit=100").json_body["items"]}
    assert leads["王一"]["custom"] == {
        "occupation": "teacher",
        "income": 3000,
        "employer": "南山小学",
        "first_visit": "2026-03-01",
    }
    assert leads["王二"]["custom"] == {"occupation": "doctor", "income": 1500.5}
    assert "teacher" in school.admin.get("/settings/dictionaries/occupation").json_body["used"]
    rejected = manager.get(f"/leads/imports/{result['id']}/errors", headers={"Accept": XLSX})
    reasons = [r[1] for r in list(load_workbook(io.BytesIO(rejected.body)).active.iter_rows(values_only=True))[1:]]
    assert any("职业" in r and "飞行员" in r for r in reasons)
    assert any("年收入" in r for r in reasons) and any("首次到访" in r for r in reasons)


def test_erasing_a_lead_keeps_its_list_fields_for_the_books_and_drops_the_rest(school):
    consultant = school.staff("consultant")
    _define(school)
    custom = {"occupation": "teacher", "income": 5000, "employer": "南山小学", "first_visit": "2026-03-01"}
    lead = consultant.post("/leads", lead_body(custom=custom)).json_body
    erased = school.admin.post(f"/leads/{lead['id']}/erase", {"reason": "家长要求删除"})
    assert erased.status_code == 200, erased.body
    assert school.admin.get(f"/leads/{lead['id']}").json_body["custom"] == {"occupation": "teacher"}


def test_the_printable_record_shows_the_schools_fields_by_their_labels(school):
    consultant = school.staff("consultant")
    _define(school)
    custom = {"occupation": "doctor", "income": 5000, "employer": "<b>市医院</b>"}
    lead = consultant.post("/leads", lead_body(name="王小明", custom=custom)).json_body
    page = consultant.get(f"/leads/{lead['id']}?format=html").body.decode("utf-8")
    assert '<th>职业</th><td colspan="3">医生</td>' in page  # the entry's label, not its key
    assert '<th>年收入</th><td colspan="3">5000</td>' in page
    assert "&lt;b&gt;市医院&lt;/b&gt;" in page and "<b>市医院</b>" not in page  # escaped
    assert "首次到访" not in page  # no value, no row
