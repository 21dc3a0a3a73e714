"""Do not contact: what a lead may be sent, by the `contact` of its status (per school).

Each entry of a school's `statuses` list says `contact`: `all`, `transactional` or `none`
(default `all`; the built-in `blacklist`, 黑名单, `none`). A message is one of two kinds:

- marketing: a `marketing` send, and the birthday and holiday greetings;
- transactional: a `notice` send, appointment and cohort reminders and card alerts (about
  the learner's own appointments, programmes and card).

A lead whose status says `all` gets both, `transactional` only the transactional kind,
`none` nothing. A guardian's own opt-out (`sms_opt_out`, `email_opt_out`) stops every
message to that guardian on that channel. Both are checked when a message is planned and
again just before each recipient is sent, so a lead blacklisted (or a guardian opted out)
after a message was scheduled is not sent it.
"""

from __future__ import annotations

from chalicelib.db import leads as leads_db
from chalicelib.db.messaging_records import RecipientRecord
from chalicelib.domain.config import TenantConfig
from chalicelib.schemas.leads import Lead

GREETINGS = frozenset({"birthday", "holiday"})
DO_NOT_CONTACT = "do_not_contact"


def kind_of(purpose: str, source: str | None) -> str:
    """`marketing` (marketing sends and greetings) or `transactional` (the rest)."""
    return "marketing" if purpose == "marketing" or source in GREETINGS else "transactional"


def allowed(contact: str, kind: str) -> bool:
    return contact == "all" or (contact == "transactional" and kind == "transactional")


def skip_reason(school: TenantConfig, lead: Lead, kind: str) -> str | None:
    """`do_not_contact` when the lead's status forbids this kind of message, else None."""
    return None if allowed(school.contact(lead.status), kind) else DO_NOT_CONTACT


def _opted_out(lead: Lead, channel: str, to: str | None) -> bool:
    """Whether the guardian this address belongs to has opted out of the channel since."""
    for guardian in lead.guardians:
        if channel == "sms" and any(p.e164 == to for p in guardian.phones):
            return guardian.sms_opt_out
        if channel == "email" and guardian.email and to and guardian.email.casefold() == to.casefold():
            return guardian.email_opt_out
    return False


def withdrawn(
    school: TenantConfig, lead: Lead | None, recipient: RecipientRecord, channel: str, kind: str
) -> str | None:
    """At send time: why a planned recipient may no longer be sent (its lead's status or
    its guardian's opt-out changed since), or None."""
    if lead is None:
        return None
    reason = skip_reason(school, lead, kind)
    if reason is None and _opted_out(lead, channel, recipient.get("to")):
        reason = "opted_out"
    return reason


def current_leads(tenant: str, recipients: list[RecipientRecord]) -> dict[str, Lead]:
    """The leads of these recipients as they are now (one BatchGetItem per 100)."""
    wanted = [r["lead_id"] for r in recipients if r.get("lead_id")]
    return {lead.id: lead for lead in leads_db.batch_get(tenant, wanted)} if wanted else {}
