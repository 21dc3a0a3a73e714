"""Reading the file (header, rows) and checking each row, as a lead typed in by hand."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from chalicelib import sheets
from chalicelib.domain import config as tenant_config
from chalicelib.domain import phones
from chalicelib.domain.imports.template import COLUMNS, CUSTOM, DICTIONARY_COLUMNS, Column, _norm, _text, all_columns
from chalicelib.errors import ValidationFailedError
from chalicelib.schemas.common import INPUT, control_character
from chalicelib.schemas.leads import LeadCreateRequest

MAX_ROWS = 10_000


GENDERS = {
    "male": ("男", "male", "m", "boy", "男孩", "男生"),
    "female": ("女", "female", "f", "girl", "女孩", "女生"),
    "other": ("其他", "other"),
}
POOL_WORDS = ("公海", "pool", "public pool")
DATE_PATTERNS = (
    re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
SPLIT = re.compile(r"[,，;；、/|]+|\s{2,}")


# --- reading the file ----------------------------------------------------------------


@dataclass
class Table:
    header: list[str]
    columns: dict[str, int]  # column key -> index
    ignored: list[str]
    rows: list[tuple[int, list[Any]]]  # (spreadsheet row number, cells) of non-blank rows
    blank: int
    titles: dict[str, str] = field(default_factory=dict)  # the school's own fields' columns: key -> label


def _blank(cells: Iterable[Any]) -> bool:
    return all(_text(c) == "" for c in cells)


def read_table(data: bytes, extra: Sequence[Column] = ()) -> Table:
    """The header (the first row with anything in it) mapped to our columns (and `extra`: the
    school's own fields, template.custom_columns), and the non-blank rows, read lazily: more
    than MAX_ROWS is refused as soon as it is seen, and a long run of blank rows ends the
    sheet (a stray cell far below costs nothing)."""
    raw = enumerate(sheets.read(data), start=1)
    found = next(((n, row) for n, row in raw if not _blank(row)), None)
    if found is None:
        raise ValidationFailedError(
            "The file has no header row.", code="UNREADABLE_FILE", details=[{"field": "file", "message": "empty"}]
        )
    header = [_text(h) for h in found[1]]
    names: dict[str, str] = {}
    for column in (*extra, *COLUMNS):  # the built-in names win over a school's label
        for name in (column.zh, column.en, column.zh + column.en, *column.aliases):
            names[_norm(name)] = column.key
    columns, ignored = {}, []
    for index, title in enumerate(header):
        key = names.get(_norm(title))
        if key and key not in columns:
            columns[key] = index
        elif title:
            ignored.append(title)
    missing = [f"{c.zh} {c.en}" for c in COLUMNS if c.required and c.key not in columns]
    if missing:
        raise ValidationFailedError(
            "The header row lacks: " + ", ".join(missing) + ". Start from GET /leads/import-template.",
            code="MISSING_COLUMNS",
            details=[{"field": "header", "message": f"missing {m}"} for m in missing],
        )
    rows, blank, run = [], 0, 0
    for number, cells in raw:
        if not _blank(cells):
            blank, run = blank + run, 0  # blank rows count only between rows with data
            rows.append((number, list(cells)))
            if len(rows) > MAX_ROWS:
                raise ValidationFailedError(
                    f"The file has more than {MAX_ROWS:,} rows; import at most {MAX_ROWS:,} at a time.",
                    code="TOO_MANY_ROWS",
                    details=[{"field": "file", "message": "too many rows"}],
                )
        else:
            run += 1
            if run > sheets.MAX_BLANK_RUN:
                break
    titles = {c.key: c.zh for c in extra}
    return Table(header=header, columns=columns, ignored=ignored, rows=rows, blank=blank, titles=titles)


# --- checking one row ----------------------------------------------------------------


@dataclass
class Row:
    number: int  # as the spreadsheet shows it
    cells: list[Any]
    values: dict[str, Any] = field(default_factory=dict)
    phones: list[tuple[str, str]] = field(default_factory=list)  # (e164, as written)
    owner: Any = None  # a UserRecord, or None: the default owner
    to_pool: bool = False
    reasons: list[str] = field(default_factory=list)
    kind: str = ""  # why rejected: invalid, duplicate_in_file, already_in_school, conflict


def _label(key: str, titles: dict[str, str] | None = None) -> str:
    if titles and key in titles:
        return titles[key]
    column = next(c for c in all_columns() if c.key == key)
    return f"{column.zh} {column.en}"


def _date(text: str) -> date:
    for pattern in DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            return date(*(int(g) for g in match.groups()))  # ValueError for 2015-13-45
    raise ValueError(text)


def _choices(config: tenant_config.TenantConfig) -> dict[str, dict[str, str]]:
    """Per dictionary column: every way of writing a live entry (label, key) -> its key."""
    out = {}
    for column, kind in DICTIONARY_COLUMNS.items():
        ways: dict[str, str] = {}
        for entry in config.dictionaries[kind].entries:
            if not entry.retired:
                ways.setdefault(_norm(entry.label), entry.key)
                ways.setdefault(_norm(entry.key), entry.key)
        out[column] = ways
    return out


@dataclass
class Context:
    tenant: str
    region: str
    choices: dict[str, dict[str, str]]
    owners: dict[str, Any]  # normalised username / display name -> UserRecord
    today: date  # in the school's time zone: no birthday after it
    config: tenant_config.TenantConfig | None = None  # checks the school's own fields' values
    custom_choices: dict[str, dict[str, str]] = field(default_factory=dict)  # template.custom_choices


def _check(row: Row, table: Table, ctx: Context) -> None:
    def cell(key: str) -> str:
        index = table.columns.get(key)
        return _text(row.cells[index]) if index is not None and index < len(row.cells) else ""

    def bad(key: str, message: str) -> None:
        row.reasons.append(f"{_label(key, table.titles)}: {message}")

    for key, index in table.columns.items():  # as typed in by hand: no control characters
        raw = row.cells[index] if index < len(row.cells) else None
        found = control_character(raw) if isinstance(raw, str) else None
        if found:
            bad(key, f"含控制字符 contains a control character ({found})")
    values: dict[str, Any] = {"name": cell("name")}
    if not values["name"]:
        bad("name", "必填 required")
    gender = _norm(cell("gender"))
    if gender:
        values["gender"] = next((g for g, words in GENDERS.items() if gender in {_norm(w) for w in words}), None)
        if values["gender"] is None:
            bad("gender", f"“{cell('gender')}” 应为 男/女 (male/female)")
    birthday_at = table.columns.get("birthday")
    raw_birthday = row.cells[birthday_at] if birthday_at is not None and birthday_at < len(row.cells) else None
    if isinstance(raw_birthday, datetime | date):
        values["birthday"] = raw_birthday.date() if isinstance(raw_birthday, datetime) else raw_birthday
    elif cell("birthday"):
        try:
            values["birthday"] = _date(cell("birthday"))
        except ValueError:
            bad("birthday", f"“{cell('birthday')}” 不是日期 is not a date (2019-05-20)")
    if values.get("birthday") and not date(1900, 1, 1) <= values["birthday"] <= ctx.today:
        bad("birthday", f"“{values['birthday']}” 不在合理范围 is out of range")
    for key in ("school", "grade", "notes"):
        if cell(key):
            values[key] = cell(key)
    if cell("tags"):
        values["tags"] = [t.strip() for t in SPLIT.split(cell("tags")) if t.strip()]
    for key in DICTIONARY_COLUMNS:
        written = cell(key)
        if written:
            values[key] = ctx.choices[key].get(_norm(written))
            if values[key] is None:
                bad(key, f"“{written}” 不是学校的选项 is not one of the school's choices")
    if table.titles and ctx.config is not None:
        _check_custom(row, table, ctx, values, bad)
    written_phones = [cell("phone"), *SPLIT.split(cell("other_phones"))]
    for raw in (p.strip() for p in written_phones):
        if not raw:
            continue
        try:
            e164 = phones.normalise(raw, ctx.region)
        except ValidationFailedError:
            bad("phone" if raw == cell("phone") else "other_phones", f"“{raw}” 不是电话号码 is not a phone number")
            continue
        if e164 not in {p for p, _ in row.phones}:
            row.phones.append((e164, raw))
    if not cell("phone"):
        bad("phone", "必填 required")
    owner = _norm(cell("owner"))
    if owner in {_norm(w) for w in POOL_WORDS}:
        row.to_pool = True
    elif owner:
        row.owner = ctx.owners.get(owner)
        if row.owner is None:
            bad("owner", f"“{cell('owner')}” 不是本校区的顾问 is not a consultant of the campus")
    guardian: dict[str, str | list[str] | None] = {
        "name": cell("guardian") or "家长",
        "relation": cell("relation") or None,
    }
    guardian["phones"] = [raw for _, raw in row.phones]
    if cell("email"):
        guardian["email"] = cell("email")
    values["guardians"] = [guardian]
    if not row.reasons:
        try:  # lengths and formats, exactly as a lead typed in by hand
            LeadCreateRequest.model_validate({**values, "to_pool": True}, context=INPUT)
        except ValidationError as exc:
            for err in exc.errors(include_url=False, include_context=False, include_input=False):
                where = ".".join(str(p) for p in err["loc"])
                key = "email" if where.endswith("email") else where.split(".")[0]
                key = key if any(c.key == key for c in COLUMNS) else "guardian"
                bad(key, err["msg"])
    row.values = values
    if row.reasons:
        row.kind = "invalid"


def _check_custom(row: Row, table: Table, ctx: Context, values: dict[str, Any], bad: Any) -> None:
    """The columns of the school's own fields: a list's label or key, a number, a date, text;
    checked as the API checks a lead's `custom` (domain.config.custom_value)."""
    assert ctx.config is not None
    custom: dict[str, Any] = {}
    for column in table.titles:
        index = table.columns.get(column)
        raw = row.cells[index] if index is not None and index < len(row.cells) else None
        written = _text(raw)
        if not written:
            continue
        key = column.removeprefix(CUSTOM)
        definition = ctx.config.lead_field(key)
        value: Any = written
        if definition is not None and definition.type == "list":
            value = ctx.custom_choices.get(column, {}).get(_norm(written))
            if value is None:
                bad(column, f"“{written}” 不是学校的选项 is not one of the school's choices")
                continue
        elif definition is not None and definition.type == "number":
            try:
                number = float(written.replace(",", ""))
            except ValueError:
                bad(column, f"“{written}” 不是数字 is not a number")
                continue
            value = int(number) if number.is_integer() and abs(number) < 1e15 else number
        elif definition is not None and definition.type == "date":
            if isinstance(raw, datetime | date):
                value = (raw.date() if isinstance(raw, datetime) else raw).isoformat()
            else:
                try:
                    value = _date(written).isoformat()
                except ValueError:
                    bad(column, f"“{written}” 不是日期 is not a date (2019-05-20)")
                    continue
        try:
            custom[key] = tenant_config.custom_value(ctx.config, key, value)
        except ValidationFailedError as exc:
            bad(column, str(exc))
    if custom:
        values["custom"] = custom


def _reject(row: Row, kind: str, reason: str) -> None:
    row.kind = kind
    row.reasons.append(reason)
