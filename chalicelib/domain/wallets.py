"""The arithmetic of a card's wallets, free of I/O (and so property-tested on its own).

Amounts are whole hundredths (`units`): 1 lesson credit = 100, ¥1 = 100. A card's credits
are held in lots, one per contract (or `manual`), each valid until its contract's end.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import cast

from chalicelib.db.cards.records import LotRecord

CENT = Decimal("0.01")
MANUAL = "manual"  # the lot adjustments add to when they name no contract


def units(value: Decimal | int | str) -> int:
    return int((Decimal(value) * 100).to_integral_value(rounding=ROUND_HALF_UP))


def decimal(value: int | None) -> Decimal:
    return (Decimal(int(value or 0)) / 100).quantize(CENT)


class Insufficient(Exception):
    def __init__(self, wanted: int, available: int):
        super().__init__(f"wanted {wanted}, available {available}")
        self.wanted = wanted
        self.available = available


def usable(lot: LotRecord, today: str, course_id: str | None = None) -> bool:
    """A lot can be spent while its contract is in force (and, for a class, covers its course)."""
    if lot.get("ends_on") and lot["ends_on"] < today:
        return False
    courses = lot.get("courses") or []
    return not (course_id and courses and course_id not in courses)


def ordered(lots: Mapping[str, LotRecord], order: str) -> list[tuple[str, LotRecord]]:
    """The lots in the order deductions take them: the contract that ends first, or the one
    that started first (a tenant setting); lots without an end (manual) last."""

    def key(pair: tuple[str, LotRecord]) -> tuple[str, str, str]:
        contract_id, lot = pair
        ends, starts = lot.get("ends_on") or "9999-12-31", lot.get("starts_on") or "9999-12-31"
        return (ends, starts, contract_id) if order == "expiring_first" else (starts, ends, contract_id)

    return sorted(lots.items(), key=key)


def available(lots: Mapping[str, LotRecord], today: str, course_id: str | None = None) -> int:
    return sum(int(lot.get("units") or 0) for lot in lots.values() if usable(lot, today, course_id))


def take(
    lots: Mapping[str, LotRecord], wanted: int, today: str, order: str, course_id: str | None = None
) -> dict[str, int]:
    """Which lots a deduction of `wanted` units takes from: {contract id: -units}."""
    if wanted <= 0:
        return {}
    have = available(lots, today, course_id)
    if have < wanted:
        raise Insufficient(wanted, have)
    taken: dict[str, int] = {}
    left = wanted
    for contract_id, lot in ordered(lots, order):
        if left == 0:
            break
        if not usable(lot, today, course_id):
            continue
        part = min(int(lot.get("units") or 0), left)
        if part:
            taken[contract_id] = -part
            left -= part
    return taken


def expired(lots: Mapping[str, LotRecord], today: str) -> dict[str, int]:
    """Credits of contracts that have ended, to be written off: {contract id: -units}."""
    return {
        contract_id: -int(lot["units"])
        for contract_id, lot in lots.items()
        if int(lot.get("units") or 0) > 0 and lot.get("ends_on") and lot["ends_on"] < today
    }


def apply(
    lots: Mapping[str, LotRecord], changes: dict[str, int], new: Mapping[str, LotRecord] | None = None
) -> dict[str, LotRecord]:
    """The lots after a movement (what DynamoDB computes; used by tests and previews)."""
    result = {k: cast(LotRecord, dict(v)) for k, v in lots.items()}  # copies
    for contract_id, lot in (new or {}).items():
        result[contract_id] = cast(LotRecord, dict(lot))
    for contract_id, delta in changes.items():
        result[contract_id]["units"] = int(result[contract_id].get("units") or 0) + delta
    return result
