"""How `make walkthrough` reads docs/walkthrough.md and compares a block's output with the
document (infra/local/walkthrough.py); the run itself is `make walkthrough`."""

from __future__ import annotations

import json

from infra.local.walkthrough import DOC, Step, compare, json_matches, matches, parse


def test_each_sh_block_takes_the_text_or_json_block_after_it_and_other_fences_are_not_run():
    doc = "```sh\necho a\n```\nprose\n```text\na\n```\n```sh\ntrue\n```\n```console\nmake run\n```\n"
    steps = parse(doc)
    assert [(s.script, s.expected, s.kind) for s in steps] == [("echo a\n", "a\n", "text"), ("true\n", None, "text")]


def test_placeholders_stand_for_one_word_and_the_ellipsis_for_any_text_or_lines():
    assert matches("<at> li.na read 200", "2026-12-04T23:52:44 li.na read 200")
    assert not matches("<at> li.na read 200", "2026-12-04 23:52:44 li.na read 200")
    assert matches("王小…,2021,…", "王小红,2021,x,y")
    assert matches("first\n…\nlast", "first\nlast")
    assert matches("first\n…\nlast", "first\n1\n2\nlast")
    assert not matches("first\nlast", "first\nextra\nlast")
    assert not matches("200", "404")


def test_json_needs_the_keys_shown_unless_an_ellipsis_key_allows_more():
    got = {"id": "01M9", "name": "王小明", "tags": [1, 2]}
    assert json_matches({"id": "<id>", "name": "王小明", "tags": [1, "…"]}, got)
    assert json_matches({"name": "王小明", "…": "…"}, got)
    assert not json_matches({"name": "王小明"}, got)
    assert not json_matches({"id": "<id>", "name": "王小红", "…": "…"}, got)
    assert not json_matches({"ok": 1}, {"ok": True})


def test_a_block_with_no_expected_output_must_print_nothing():
    assert compare(Step(1, "true"), "")
    assert not compare(Step(1, "true"), "surprise\n")
    assert not compare(Step(1, "x", '{"a": 1}', "json"), "not json")
    assert compare(Step(1, "x", '{"a": 1}', "json"), json.dumps({"a": 1}))


def test_the_walkthrough_document_has_steps_and_every_expected_json_block_parses():
    steps = parse(DOC.read_text(encoding="utf-8"))
    assert len(steps) > 40
    for step in steps:
        if step.kind == "json":
            json.loads(step.expected or "")
