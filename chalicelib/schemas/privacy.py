"""A data subject's rights: a lead's export, its erasure (docs/privacy.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import Field

from chalicelib.schemas.common import Entity, StrictModel


class SubjectExportQuery(StrictModel):
    format: Literal["json", "xlsx"] = Field(default="json", description="json (this schema) or an .xlsx workbook")


class LeadExport(Entity):
    """Everything the school holds about a lead and its guardians (phones in full)."""

    SECTION_NAMES: ClassVar[tuple[str, ...]] = (
        "history",
        "follow_ups",
        "plans",
        "appointments",
        "trials",
        "links",
        "messages",
        "outbox",
        "contracts",
        "cards",
    )

    exported_at: datetime
    lead: dict[str, Any] = Field(description="The lead as stored: learner, guardians with full phones, sales fields")
    sections: dict[str, list[dict[str, Any]]] = Field(
        description="history, follow_ups, plans, appointments, trials, links (siblings, referrals, contracts, cards, "
        "enrolments), messages (each recipient record sent to its guardians), outbox (local and dev stages), "
        "contracts, cards: each a list of records as stored"
    )


class EraseRequest(StrictModel):
    reason: str = Field(
        min_length=1, max_length=300, examples=["家长要求删除个人信息 (GDPR Art. 17 request of 2026-03-01)"]
    )


class ErasureOut(Entity):
    lead_id: str
    erased_at: datetime
    already: bool = Field(description="It had been erased before: nothing was written")
    released_phones: int = Field(default=0, description="Phone claims given up: the numbers are free to use again")
    tombstoned: dict[str, int] = Field(
        default_factory=dict,
        description="Records whose personal data was overwritten: follow_ups, plans, appointments, messages, outbox",
    )
