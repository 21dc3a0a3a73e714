"""Lead export (导出): the lead list's filters, every match (up to 10,000), as .xlsx or .csv.

Only roles the school permits may export (default: managers and admins). An export holds
full phone numbers, so it is audited like every request and weighs one read per row for
anti-scraping (refused whole when it does not fit the caller's read windows).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib import sheets
from chalicelib.db import leads as leads_db
from chalicelib.db import tenants as tenants_db
from chalicelib.domain import config, leads
from chalicelib.domain.auth import Principal
from chalicelib.domain.tenants import get_tenant
from chalicelib.errors import ForbiddenError, ValidationFailedError
from chalicelib.schemas.leads import Lead, LeadExportQuery
from chalicelib.schemas.settings import DictionaryKind

MAX_ROWS = 10_000
COLUMNS = (
    ("name", "姓名 Name"),
    ("gender", "性别 Gender"),
    ("birthday", "生日 Birthday"),
    ("guardian", "家长 Guardian"),
    ("phone", "电话 Phone"),
    ("other_phones", "其他电话 Other phones"),
    ("source", "来源 Source"),
    ("status", "状态 Status"),
    ("owner", "顾问 Consultant"),
    ("campus", "校区 Campus"),
    ("created_at", "创建时间 Created"),
    ("next_follow_up_at", "下次跟进 Next follow-up"),
    ("notes", "备注 Notes"),
)


@dataclass
class Export:
    """The rows of an export (by column key) and its columns: the built-in ones, then one per
    field of the school's own that is not retired (custom.<key>, titled by its label)."""

    columns: Sequence[tuple[str, str]] = COLUMNS
    rows: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)


def _custom_cell(settings: config.TenantConfig, key: str, value: Any) -> Any:
    """A custom field's value as the sheet shows it: a list entry by its label."""
    definition = settings.lead_field(key)
    if value is None or definition is None:
        return ""
    if definition.list and definition.list in settings.dictionaries:
        entry = settings.entry(definition.list, str(value))
        return entry.label if entry else value
    return value


def _matching(principal: Principal, query: LeadExportQuery) -> Iterator[Lead]:
    page_query = query.model_copy(update={"limit": 100, "cursor": None})
    count = 0
    while True:
        page = leads.list_leads(principal, page_query)
        for lead in leads_db.batch_get(principal.tenant, [item.id for item in page.items]):
            count += 1
            if count > MAX_ROWS:
                raise ValidationFailedError(
                    f"More than {MAX_ROWS:,} leads match; narrow the filter.",
                    details=[{"field": "filter", "message": "too many rows"}],
                )
            yield lead
        if not page.next_cursor:
            return
        page_query = page_query.model_copy(update={"cursor": page.next_cursor})


def rows(principal: Principal, query: LeadExportQuery) -> Export:
    settings = config.load(principal.tenant)
    if principal.role.value not in settings.lead_settings.export_roles:
        raise ForbiddenError("Your school does not let your role export leads.", code="EXPORT_FORBIDDEN")
    zone = ZoneInfo(get_tenant(principal.tenant).timezone)
    labels = {
        kind: {e.key: e.label for e in settings.dictionaries[kind].entries}
        for kind in (DictionaryKind.sources, DictionaryKind.statuses)
    }
    custom = [f for f in settings.lead_fields if not f.retired]
    out, found = [], []
    for lead in _matching(principal, query):
        numbers = [p.e164 for g in lead.guardians for p in g.phones]
        out.append(
            {
                "name": lead.name,
                "gender": lead.gender.value if lead.gender else "",
                "birthday": lead.birthday.isoformat() if lead.birthday else "",
                "guardian": lead.guardians[0].name if lead.guardians else "",
                "phone": lead.guardians[0].phones[0].e164 if lead.guardians and lead.guardians[0].phones else "",
                "other_phones": " ".join(numbers[1:]),
                "source": labels[DictionaryKind.sources].get(lead.source or "", lead.source or ""),
                "status": labels[DictionaryKind.statuses].get(lead.status, lead.status),
                "owner": lead.owner_name or "公海",
                "campus": lead.campus_id,
                "created_at": lead.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                "next_follow_up_at": (
                    lead.next_follow_up_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if lead.next_follow_up_at else ""
                ),
                "notes": lead.notes or "",
                **{f"custom.{f.key}": _custom_cell(settings, f.key, lead.custom.get(f.key)) for f in custom},
            }
        )
        found.append(lead.campus_id)
    names = {c: campus.name for c, campus in tenants_db.campuses_by_id(principal.tenant, found).items()}
    for row in out:
        row["campus"] = names.get(row["campus"], row["campus"])
    return Export(columns=[*COLUMNS, *((f"custom.{f.key}", f.label) for f in custom)], rows=out)


def as_csv(data: Export) -> str:
    """UTF-8 with a BOM; every cell neutralised (sheets.safe)."""
    columns = data.columns
    return sheets.csv_text([title for _, title in columns], ([row[key] for key, _ in columns] for row in data.rows))


def as_xlsx(data: Export) -> bytes:
    rows = ([row[key] for key, _ in data.columns] for row in data.rows)
    return sheets.xlsx("客户 Leads", [title for _, title in data.columns], rows)
