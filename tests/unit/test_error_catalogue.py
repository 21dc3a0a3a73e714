"""The error catalogue (issue 15): it holds every code the source can answer, with its statuses, in
Chinese and English; Accept-Language picks the language; a message never breaks for a missing value."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from chalicelib import errors
from chalicelib.api.routing import error_response
from chalicelib.cli import cli
from chalicelib.error_catalogue import CATALOGUE, codes_for_status, language, markdown, message, render

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [*sorted((ROOT / "chalicelib").rglob("*.py")), ROOT / "app.py", ROOT / "infra" / "local" / "api_server.py"]
CODE = re.compile(r"^[A-Z][A-Z0-9_]+$")
LABEL = re.compile(r"^conflict:([A-Z][A-Z0-9_]+):")
CLASS_STATUS = {
    name: cls.status for name, cls in vars(errors).items() if isinstance(cls, type) and issubclass(cls, errors.CrmError)
}


def _first(node: ast.AST) -> ast.AST:
    return node.elts[0] if isinstance(node, ast.Tuple) and node.elts else node


def _constant(node: ast.AST) -> str | None:
    node = _first(node)
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def raised_codes() -> dict[str, set[int | None]]:
    """Every error code the source can answer, with the statuses it can be answered with where
    the source says (None: not known from the raise site): `code="..."` arguments (with the
    raising class's status, or `.with_status(N)`), `code = "..."` in error classes,
    "conflict:CODE:..." transaction labels, {"code": "..."} envelopes built by hand, and the
    codes of the *_CODES / *_ERRORS tables that map other answers to ours."""
    found: dict[str, set[int | None]] = {}
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        tables: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = [t.id for t in targets if isinstance(t, ast.Name)]
                if any(n.endswith(("_CODES", "_ERRORS")) for n in names) and isinstance(node.value, ast.Dict):
                    tables.update(names)
                    for value in node.value.values:
                        if (code := _constant(value)) and CODE.match(code):
                            found.setdefault(code, set()).add(None)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg == "code" and (code := _constant(keyword.value)):
                        func = node.func
                        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                        status = CLASS_STATUS.get(name)
                        parent = parents.get(node)
                        if isinstance(parent, ast.Attribute) and parent.attr == "with_status":
                            status = ast.literal_eval(parents[parent].args[0])
                        found.setdefault(code, set()).add(status)
                if (
                    isinstance(node.func, ast.Attribute)
                    and node.func.attr == "get"
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id in tables
                    and len(node.args) > 1
                    and (code := _constant(node.args[1]))
                ):
                    found.setdefault(code, set()).add(None)
            elif isinstance(node, ast.ClassDef):
                for statement in node.body:
                    if (
                        isinstance(statement, ast.Assign)
                        and any(isinstance(t, ast.Name) and t.id == "code" for t in statement.targets)
                        and (code := _constant(statement.value))
                    ):
                        found.setdefault(code, set()).add(CLASS_STATUS.get(node.name))
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "code" and (code := _constant(value)):
                        found.setdefault(code, set()).add(None)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and (match := LABEL.match(node.value)):
                found.setdefault(match.group(1), set()).add(409)
    return found


def test_every_code_the_source_can_answer_is_in_the_catalogue_with_its_status():
    found = raised_codes()
    # the walk sees each kind of raise site (else it would pass by seeing nothing)
    for code in ("DUPLICATE_PHONE", "SESSION_FULL", "BUSY", "METHOD_NOT_ALLOWED", "ROUTE_NOT_FOUND", "GATEWAY_ERROR"):
        assert code in found, code
    missing = sorted(set(found) - set(CATALOGUE))
    assert missing == [], f"codes raised but not in chalicelib/error_catalogue.py: {missing}"
    stale = sorted(set(CATALOGUE) - set(found))
    assert stale == [], f"codes in the catalogue that nothing raises any more: {stale}"
    wrong = {
        code: sorted(statuses - {None})
        for code, statuses in found.items()
        if not (statuses - {None}) <= set(CATALOGUE[code].all_statuses())
    }
    assert wrong == {}, f"codes answered with a status their catalogue entry does not list: {wrong}"


def test_codes_for_status_lists_a_code_under_every_status_it_is_answered_with():
    assert "ROUTE_NOT_FOUND" in codes_for_status(404) and "ROUTE_NOT_FOUND" in codes_for_status(403)
    assert "COHORT_NOT_OPEN" in codes_for_status(409) and "COHORT_NOT_OPEN" in codes_for_status(400)
    assert codes_for_status(409) == sorted(codes_for_status(409)) and "DUPLICATE_PHONE" in codes_for_status(409)
    assert codes_for_status(418) == []


def test_every_entry_reads_in_both_languages_even_without_any_value():
    for code, entry in CATALOGUE.items():
        for lang in ("en", "zh"):
            text = message(code, lang, {})
            assert text and "{" not in text and "[" not in text, (code, lang, text)
        assert re.search(r"[\u4e00-\u9fff]", entry.zh), code  # the Chinese is Chinese
        assert not re.search(r"[\u4e00-\u9fff]", entry.en), code


def test_docs_errors_md_is_what_the_catalogue_generates():
    result = CliRunner().invoke(cli, ["errors-doc"], catch_exceptions=False)
    assert result.exit_code == 0
    assert result.output == markdown()
    committed = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    assert committed == result.output, "run: python -m chalicelib.cli errors-doc > docs/errors.md"
    for code in CATALOGUE:
        assert f"| `{code}` |" in committed


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        (None, "en"),
        ("", "en"),
        ("en", "en"),
        ("en-GB,en;q=0.8", "en"),
        ("zh", "zh"),
        ("zh-CN", "zh"),
        ("zh-Hans-CN,zh;q=0.9", "zh"),
        ("zh-TW", "zh"),
        ("en;q=0.5, zh;q=0.9", "zh"),
        ("zh;q=0.4, en;q=0.6", "en"),
        ("fr-FR, de;q=0.9", "en"),
        ("fr-FR, zh;q=0.3", "zh"),
        ("zh;q=0, en", "en"),
        ("zh;q=abc, en;q=0.1", "en"),
        ("*", "en"),
        ("zh-CN;q=0.8, en-US;q=0.8", "zh"),  # equal q-values: the first listed
        (",,;;q=,zh-;", "en"),  # malformed: English, never an error
    ],
)
def test_accept_language_picks_the_language_by_q_value(header, lang):
    assert language(header) == lang


def test_a_missing_value_never_breaks_a_message():
    # a required value absent: the status's generic message, not an exception
    error = errors.ConflictError("", code="DUPLICATE_PHONE")
    body = json.loads(error_response(error, "zh").body)
    assert body["error"] == {"code": "DUPLICATE_PHONE", "message": "与现有数据冲突，未做任何修改", "details": []}
    english = json.loads(error_response(error, "en").body)["error"]["message"]
    assert english == "This conflicts with the current data; nothing was changed."  # no message of its own
    # optional parts drop out; values are never formatted again, nor reach attributes
    assert render("还不能登记到课[：{opens_at} 起可登记]", {}) == "还不能登记到课"
    assert render("电话 {phone}", {"phone": "{owner_name}"}) == "电话 {owner_name}"
    assert render("{phone.__class__} {0} {phone!r}", {"phone": "x"}) == "{phone.__class__} {0} {phone!r}"
    # a code outside the catalogue: its status's generic message in Chinese, the raise site's in English
    odd = errors.NotFoundError("No such widget.", code="WIDGET_NOT_FOUND")
    assert odd.to_body("zh")["error"]["message"] == "找不到该记录"
    assert odd.to_body("en")["error"]["message"] == "No such widget."


def test_params_given_by_the_raise_site_fill_the_chinese_message():
    error = errors.ConflictError(
        "Attendance can be marked from 2026-12-05T09:00+08:00 on.",
        code="ATTENDANCE_NOT_OPEN",
        details=[{"field": "attendance", "message": "attendance is not open yet"}],
        params={"opens_at": "2026-12-05T09:00+08:00"},
    )
    assert error.to_body("zh")["error"]["message"] == "还不能登记到课：2026-12-05T09:00+08:00 起可登记"
    assert error.to_body("en")["error"]["message"] == "Attendance can be marked from 2026-12-05T09:00+08:00 on."
