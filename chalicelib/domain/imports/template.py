"""The import's columns (names, aliases, the example row), the template to fill in, and
who may import."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from chalicelib import sheets
from chalicelib.domain import config as tenant_config
from chalicelib.domain.auth import Principal
from chalicelib.errors import ForbiddenError
from chalicelib.schemas.settings import DictionaryKind


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    example: str
    aliases: tuple[str, ...] = ()
    required: bool = False


COLUMNS = (
    Column("name", "姓名", "Name", "王小明", ("学员姓名", "学员", "learner", "student"), required=True),
    Column("gender", "性别", "Gender", "男"),
    Column("birthday", "生日", "Birthday", "2019-05-20", ("出生日期", "date of birth")),
    Column("guardian", "家长", "Guardian", "王妈妈", ("家长姓名", "联系人", "parent")),
    Column("relation", "关系", "Relation", "母亲"),
    Column("phone", "电话", "Phone", "138 0013 8000", ("手机", "手机号", "联系电话", "mobile"), required=True),
    Column("other_phones", "其他电话", "Other phones", "", ("other phone",)),
    Column("email", "邮箱", "Email", "", ("e-mail", "电子邮件")),
    Column("school", "学校", "School", "南山实验幼儿园"),
    Column("grade", "年级", "Grade", "中班"),
    Column("source", "来源", "Source", "转介绍"),
    Column("status", "状态", "Status", "潜在"),
    Column("importance", "重要程度", "Importance", "一般"),
    Column("stage", "阶段", "Stage", ""),
    Column("tags", "标签", "Tags", "乐高, 周末"),
    Column("owner", "顾问", "Consultant", "", ("课程顾问", "owner")),
    Column("notes", "备注", "Notes", "朋友介绍，想周末上课"),
)
DICTIONARY_COLUMNS = {
    "source": DictionaryKind.sources,
    "status": DictionaryKind.statuses,
    "importance": DictionaryKind.importance,
    "stage": DictionaryKind.stages,
}


CUSTOM = "custom."  # a column of the school's own lead fields: custom.<key>


def custom_columns(config: tenant_config.TenantConfig) -> list[Column]:
    """One column per field of the school's own that is not retired, titled by its label
    (its key also names it); none for a school without: its import reads as before."""
    return [Column(CUSTOM + f.key, f.label, f.label, "", (f.key,)) for f in config.lead_fields if not f.retired]


def custom_choices(config: tenant_config.TenantConfig) -> dict[str, dict[str, str]]:
    """Per list column of the school's own fields: every way of writing a live entry -> its key."""
    out = {}
    for f in config.lead_fields:
        if f.retired or not f.list or f.list not in config.dictionaries:
            continue
        ways: dict[str, str] = {}
        for entry in config.dictionaries[f.list].entries:
            if not entry.retired:
                ways.setdefault(_norm(entry.label), entry.key)
                ways.setdefault(_norm(entry.key), entry.key)
        out[CUSTOM + f.key] = ways
    return out


def all_columns(extra: Sequence[Column] = ()) -> tuple[Column, ...]:
    return (*COLUMNS, *extra)


def _norm(text: Any) -> str:
    """Headers and choices compare without case, spaces, punctuation or the * of required."""
    return re.sub(r"[\W_]+", "", str(text or "").casefold())


def _text(value: Any) -> str:
    """A cell as text: 13800138000.0 -> '13800138000', dates as ISO, full-width spaces gone."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).replace("\u3000", " ").strip()


# --- who may import ------------------------------------------------------------------


def _may_import(principal: Principal) -> tenant_config.TenantConfig:
    config = tenant_config.load(principal.tenant)
    if principal.role.value not in config.lead_settings.import_roles:
        raise ForbiddenError("Your school does not let your role import leads.", code="IMPORT_FORBIDDEN")
    return config


# --- the template --------------------------------------------------------------------


EXAMPLE_EN = {"name": "Wang Xiaoming", "gender": "male", "guardian": "Mrs Wang", "relation": "mother",
              "school": "", "grade": "", "source": "referral", "status": "potential", "importance": "normal",
              "tags": "lego, weekend", "notes": "Wants weekend classes"}  # fmt: skip


def template(principal: Principal, lang: str) -> bytes:
    """The columns (required ones starred), an example row, and a sheet of the school's
    choices for the dictionary columns."""
    config = _may_import(principal)
    zh = lang == "zh"
    columns = all_columns(custom_columns(config))
    header = [(c.zh if zh else c.en) + (" *" if c.required else "") for c in columns]
    example = [c.example if zh else EXAMPLE_EN.get(c.key, c.example) for c in columns]
    choices = [
        [column.zh if zh else column.en, entry.label, entry.key]
        for column in COLUMNS
        if column.key in DICTIONARY_COLUMNS
        for entry in config.dictionaries[DICTIONARY_COLUMNS[column.key]].entries
        if not entry.retired
    ]
    for f in config.lead_fields:  # the list fields of the school's own
        if not f.retired and f.list in config.dictionaries:
            choices += [[f.label, e.label, e.key] for e in config.dictionaries[f.list or ""].entries if not e.retired]
    return sheets.workbook(
        sheets.Tab("导入 Import" if zh else "Import", header, [example], [14] * len(columns)),
        sheets.Tab("选项 Choices" if zh else "Choices", ["列" if zh else "Column", "名称 Label", "Key"], choices),
    )
