"""Reading an import file (chalicelib/domain/imports.py `read_table`): the header mapped to our
columns by any of their names, the rows with data, and the files refused before any row is checked."""

from __future__ import annotations

import sys

import pytest

from chalicelib.domain import imports
from chalicelib.errors import ValidationFailedError


def _csv(*lines: str) -> bytes:
    return "\n".join(lines).encode("utf-8")


def test_the_header_is_found_by_chinese_english_or_alias_names_and_unknown_columns_are_listed():
    table = imports.read_table(_csv(",,", "姓名 *,Mobile,备注 Notes,微信", "王小明,138 0013 8000,周末,wx1"))
    assert table.columns == {"name": 0, "phone": 1, "notes": 2}
    assert table.ignored == ["微信"]
    assert table.rows == [(3, ["王小明", "138 0013 8000", "周末", "wx1"])]  # numbered as the spreadsheet shows


def test_blank_rows_between_data_are_counted_and_trailing_ones_are_not():
    table = imports.read_table(_csv("Name;Phone", "王小明;13800138000", ";", ";", "李雷;13900139000", ";", ";"))
    assert [number for number, _ in table.rows] == [2, 5]
    assert table.blank == 2


def test_a_header_without_the_required_columns_names_them():
    with pytest.raises(ValidationFailedError) as refused:
        imports.read_table(_csv("姓名,备注", "王小明,hi"))
    assert refused.value.code == "MISSING_COLUMNS"
    assert refused.value.details == [{"field": "header", "message": "missing 电话 Phone"}]


def test_an_empty_file_and_one_with_too_many_rows_are_refused(monkeypatch):
    with pytest.raises(ValidationFailedError) as empty:
        imports.read_table(_csv(",", ","))
    assert empty.value.code == "UNREADABLE_FILE"
    monkeypatch.setattr(sys.modules[imports.read_table.__module__], "MAX_ROWS", 2)  # where read_table reads it
    with pytest.raises(ValidationFailedError) as big:
        imports.read_table(_csv("Name,Phone", *["王小明,13800138000"] * 3))
    assert big.value.code == "TOO_MANY_ROWS"
