"""A paid event's fee, charged once per booking (issue 14, 5b).

When: the school's `event_fee_charge_at` (card settings): on `booking` (a seat taken, also
a seat passed on from the waitlist) or on `arrival` (attendance marked arrived). Which
wallet: the booked lead's card, when the lead has exactly one; with none or several, the
booking stays unpaid and the front desk charges it with an `event_fee` movement on the
chosen card (which names the event, and the learner if not the holder). Either way the
charge is the same movement: one transaction with its once-only fee item and a check that
the booking is still booked, so a booking is never charged twice and a cancelled one never.
A cancellation before the charge point charges nothing; after it, `event_fee_refund_on_cancel`
decides: `full` gives the fee back to the same lots or cash (once: the fee item turns
`refunded` in the refund's transaction), `none` keeps it.
"""

from __future__ import annotations

from typing import Literal

from chalicelib.db import cards as cards_db
from chalicelib.db import event_fees as event_fees_db
from chalicelib.db import schedule as schedule_db
from chalicelib.db import transactions
from chalicelib.domain import cards, config
from chalicelib.domain.auth import Principal
from chalicelib.errors import CrmError
from chalicelib.schemas.cards import MovementRequest
from chalicelib.schemas.schedule import Appointment


def charge_if_due(principal: Principal, appointment: Appointment, moment: Literal["booking", "arrival"]) -> bool:
    """Charges the booking's fee if the school charges at `moment`, the event has a fee and
    the lead has one card that can pay. True if charged now; a booking that is not charged
    stays booked and unpaid (never an error for the booking or the arrival)."""
    if appointment.kind != "event" or appointment.status != "booked" or not appointment.event_id:
        return False
    if config.load(principal.tenant).card_settings.event_fee_charge_at != moment:
        return False
    event = schedule_db.get_event(principal.tenant, appointment.event_id)
    if event is None or not (event.get("fee_credits") or event.get("fee_amount")):
        return False
    try:
        card_id = cards._only_card(principal, appointment.lead_id)
        request = MovementRequest(kind="event_fee", event_id=appointment.event_id)
        cards.move(principal, card_id, request, key=None)
    except CrmError:  # no card or several, too little on it, frozen, charged already, busy
        return False
    return True


def refund_if_due(principal: Principal, appointment: Appointment) -> bool:
    """After a cancellation: gives a charged fee back by the school's rule, at most once
    (sent again, it finds the fee refunded and does nothing). True if refunded now."""
    if appointment.kind != "event" or not appointment.event_id:
        return False
    fee = event_fees_db.get_fee(principal.tenant, appointment.event_id, appointment.id)
    if fee is None or fee["state"] != "charged":
        return False
    if config.load(principal.tenant).card_settings.event_fee_refund_on_cancel != "full":
        return False
    ctx = cards.Context(principal.tenant)
    credits, amount = int(fee.get("credits") or 0), int(fee.get("amount") or 0)
    lots = {cid: int(units) for cid, units in (fee.get("lots") or {}).items()}
    entry = cards._entry(
        ctx,
        principal,
        fee["card_id"],
        "event_fee",
        credits=credits,
        amount=amount,
        lots=lots,
        event_id=appointment.event_id,
        lead_id=appointment.lead_id,
        reason="活动退费 refund: booking cancelled",
    )
    change = cards_db.WalletChange(fee["card_id"], entry, credits=credits, cash=amount, lots=lots, usable=False)
    refunded = event_fees_db.fee_refund_op(principal.tenant, appointment.event_id, appointment.id, entry["at"])
    try:
        cards_db.move(principal.tenant, [change], updates=[refunded])
    except transactions.TransactionConflict:
        return False  # refunded meanwhile by another request
    return True
