"""The printable customer record (客户档案, GET /leads/{id}?format=html): the lead's details
and guardians, its contracts, its cards with their balances and its latest follow-ups, as
plain values ready for a page (times in the school's time zone, list keys as the school's
labels). The API renders them with chalicelib/rendering.py; nothing here knows HTML.

Who may print is who may open the lead's page (plan_access.check: the ordinary rule, or
an open plan's grant). Phones are masked as on the page. A caller who sees the lead only
through a plan sees no contracts or cards (GET /contracts?lead= and GET /cards?lead= refuse
them too), and the record says so.

Reads, bounded whatever the lead's history: the lead (GetItem), its newest follow-ups (one
Query of its partition, PRINTED_FOLLOW_UPS + 1), its contract and card links (a Query each
of its partition) and the contracts and cards themselves (BatchGetItem, at most
PRINTED_RECORDS each). No Scan.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from chalicelib.db import cards as cards_db
from chalicelib.db import followups as followups_db
from chalicelib.db import leads as leads_db
from chalicelib.db import tenants as tenants_db
from chalicelib.db.paging import Scope
from chalicelib.domain import clock
from chalicelib.domain import config as tenant_config
from chalicelib.domain.auth import Principal
from chalicelib.domain.tenants import get_tenant
from chalicelib.schemas.leads import Lead
from chalicelib.schemas.settings import DictionaryKind

PRINTED_FOLLOW_UPS = 200  # the newest; the record says when there are more
PRINTED_RECORDS = 100  # contracts, and cards: a learner has a handful

GENDERS = {"male": "男", "female": "女"}
CONTRACT_STATUSES = {
    "unpaid": "未付款",
    "partly_paid": "部分付款",
    "paid": "已付清",
    "partly_refunded": "部分退费",
    "refunded": "已退费",
    "expired": "已过期",
    "void": "已作废",
}
CARD_STATUSES = {"active": "正常", "lost": "挂失", "frozen": "冻结", "replaced": "已补卡"}


def _local(value: datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else ""


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def _custom(config: tenant_config.TenantConfig, values: dict[str, Any]) -> list[dict[str, str]]:
    """The school's own fields the lead has values for, in the school's order: a list field's
    value by its entry's label; a field retired since keeps its value on the record."""
    shown = []
    for field in config.lead_fields:
        if field.key not in values:
            continue
        value = values[field.key]
        entry = (
            config.entry(field.list, str(value)) if field.type == "list" and field.list in config.dictionaries else None
        )
        shown.append({"label": field.label, "value": entry.label if entry is not None else str(value)})
    return shown


def record(principal: Principal, lead_id: str) -> dict[str, Any]:
    """The record's values; 404 LEAD_NOT_FOUND as GET /leads/{id} answers it."""
    from chalicelib.domain import plan_access
    from chalicelib.domain.cards.common import Context, to_card
    from chalicelib.domain.contracts.common import to_contract
    from chalicelib.domain.leads.visibility import _out

    tenant = principal.tenant
    found = leads_db.get(tenant, lead_id)
    through_plans = plan_access.check(principal, found, "GET /leads/{lead_id}?format=html")
    lead = cast(Lead, found)  # check answered 404 LEAD_NOT_FOUND when there is none
    school = get_tenant(tenant)
    zone = ZoneInfo(school.timezone)
    config = tenant_config.load(tenant)

    def label(kind: DictionaryKind, key: str | None) -> str:
        entry = config.entry(kind, key) if key else None
        return entry.label if entry is not None else (key or "")

    shown = _out(lead)  # phones masked, as on the lead's page
    sub_source = label(DictionaryKind.sources, shown.sub_source)
    campus = tenants_db.get_campus(tenant, lead.campus_id)
    follow_ups, more = followups_db.list_follow_ups(
        tenant,
        lead_id=lead.id,
        where=Scope(),
        limit=PRINTED_FOLLOW_UPS + 1,
        cursor=None,
        scope=f"{tenant}:lead-record:{lead.id}",
        range_from=None,
        range_to=None,
        method=None,
    )
    contracts: list[dict[str, Any]] | None = None
    cards: list[dict[str, Any]] | None = None
    if not through_plans:  # a plan's grant opens the lead's page, not its money
        today = clock.now().astimezone(zone).date()
        contract_ids = cards_db.member_links(tenant, lead.id, "CONTRACT#")[:PRINTED_RECORDS]
        signed = sorted(cards_db.batch_contracts(tenant, contract_ids), key=lambda c: c["signed_at"], reverse=True)
        contracts = []
        for signing in signed:
            c = to_contract(signing, today)
            contracts.append(
                {
                    "signed_on": _day(c.signed_on),
                    "period": f"{_day(c.starts_on)} ~ {_day(c.ends_on)}",
                    "credits": f"{c.credits} + {c.gift_credits}" if c.gift_credits else str(c.credits),  # 赠送
                    "net_price": c.net_price,
                    "paid": c.paid,
                    "balance_due": c.balance_due,
                    "status": CONTRACT_STATUSES.get(c.status, c.status),
                    "signed_by": c.signed_by_name,
                    "learners": "、".join(c.lead_names),
                }
            )
        card_ids = cards_db.member_links(tenant, lead.id, "CARD#")[:PRINTED_RECORDS]
        held = sorted(cards_db.batch_cards(tenant, card_ids), key=lambda c: c["created_at"], reverse=True)
        ctx = Context(tenant)
        cards = []
        for holding in held:
            card = to_card(holding, ctx)
            cards.append(
                {
                    "number": card.number,
                    "status": CARD_STATUSES.get(card.status, card.status),
                    "credits": card.credits,
                    "usable_credits": card.usable_credits,
                    "cash": card.cash,
                    "valid_until": max((_day(lot.ends_on) for lot in card.lots if lot.ends_on), default=""),
                }
            )
    return {
        "school": school.name,
        "printed_at": _local(clock.now(), zone),
        "lead": {
            "id": lead.id,
            "name": shown.name,
            "nickname": shown.nickname or "",
            "gender": GENDERS.get(str(shown.gender or ""), ""),
            "birthday": _day(shown.birthday),
            "age": "" if shown.age is None else str(shown.age),
            "school": shown.school or "",
            "grade": shown.grade or "",
            "status": label(DictionaryKind.statuses, shown.status),
            "source": " / ".join(x for x in (label(DictionaryKind.sources, shown.source), sub_source) if x),
            "importance": label(DictionaryKind.importance, shown.importance),
            "stage": label(DictionaryKind.stages, shown.stage),
            "level": shown.level or "",
            "campus": campus.name if campus else shown.campus_id,
            "owner": shown.owner_name or ("" if shown.owner_id else "公海 public pool"),
            "created_at": _local(shown.created_at, zone),
            "last_contacted_at": _local(shown.last_contacted_at, zone),
            "next_follow_up_at": _local(shown.next_follow_up_at, zone),
            "follow_up_count": shown.follow_up_count,
            "signed_on": _day(shown.signed_on),
            "tags": "、".join(shown.tags),
            "intended_courses": "、".join(shown.intended_courses),
            "notes": shown.notes or "",
            "deleted": shown.deleted_at is not None,
        },
        "custom": _custom(config, lead.custom),
        "guardians": [
            {
                "name": g.name,
                "relation": g.relation or "",
                "phones": " / ".join(g.phones),
                "email": g.email or "",
                "wechat": g.wechat or "",
            }
            for g in shown.guardians
        ],
        "contracts": contracts,  # None: not shown to this caller
        "cards": cards,
        "follow_ups": [
            {
                "at": _local(f.followed_at, zone),
                "method": label(DictionaryKind.follow_up_methods, f.method),
                "by": f.by_name,
                "content": f.content,
            }
            for f in follow_ups[:PRINTED_FOLLOW_UPS]
        ],
        "more_follow_ups": more is not None,
        "follow_ups_shown": min(len(follow_ups), PRINTED_FOLLOW_UPS),
    }
