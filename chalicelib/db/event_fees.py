"""Event fees, charged once per booking: the fee item (in the event's partition, keyed by
the appointment) is written in the same transaction as the wallet movement, under
`attribute_not_exists`, with a check that the booking is still booked; a refund turns it
`charged` -> `refunded`, so it happens at most once.

A booking and a fee come back as `TypedDict` records (`BookingRecord`, `FeeRecord`): plain
dicts at run time, as before, whose keys mypy checks where the domain reads them (see
chalicelib/db/cards/records.py for why not pydantic models)."""

from __future__ import annotations

from typing import NotRequired, TypedDict, cast

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.db import keys
from chalicelib.db.convert import values
from chalicelib.db.items import BookingItem, EventFeeItem


class BookingRecord(TypedDict):
    """A lead's booking or waitlist place (`BookingItem`), as `get_booking` reads it."""

    lead_id: str
    lead_name: str
    appointment_id: str
    state: str  # booked | waitlisted
    waited_at: NotRequired[str]
    owner_name: NotRequired[str]
    attendance: NotRequired[str]


class FeeCharge(TypedDict):
    """What `fee_ops` writes of a booking's fee (the item's `state` is `charged`)."""

    appointment_id: str
    lead_id: str
    card_id: str
    credits: int  # hundredths taken
    amount: int  # fen taken
    lots: dict[str, int]  # contract id -> hundredths taken
    charged_at: str


class FeeRecord(FeeCharge):
    """A booking's fee (`EventFeeItem`), as `get_fee` reads it."""

    state: str  # charged | refunded
    refunded_at: NotRequired[str]


def get_booking(tenant: str, event_id: str, lead_id: str) -> BookingRecord | None:
    """A lead's booking (or waitlist place) at an event, strongly consistent."""
    try:
        item = BookingItem.get(keys.event_pk(tenant, event_id), keys.booking_sk(lead_id), consistent_read=True)
    except BookingItem.DoesNotExist:
        return None
    return cast(BookingRecord, values(item))


def fee_ops(
    tenant: str, event_id: str, fee: FeeCharge
) -> tuple[tuple[EventFeeItem, str], tuple[BookingItem, list[Action], Condition, str]]:
    """For a wallet movement's transaction: the once-only fee item of a booking, and a check
    that the booking is still booked (a no-op update under that condition). Labels name the
    conflict each condition means."""
    pk = keys.event_pk(tenant, event_id)
    marker = EventFeeItem(pk, keys.event_fee_sk(fee["appointment_id"]), state="charged", **fee)
    booking = BookingItem(pk, keys.booking_sk(fee["lead_id"]))
    still_booked = (BookingItem.appointment_id == fee["appointment_id"]) & (BookingItem.state == "booked")
    return (
        (marker, "conflict:EVENT_FEE_ALREADY_CHARGED:This booking's event fee was charged already."),
        (booking, [BookingItem.state.set("booked")], still_booked, "conflict:EVENT_NOT_BOOKED:The booking is gone."),
    )


def get_fee(tenant: str, event_id: str, appointment_id: str) -> FeeRecord | None:
    try:
        item = EventFeeItem.get(
            keys.event_pk(tenant, event_id), keys.event_fee_sk(appointment_id), consistent_read=True
        )
    except EventFeeItem.DoesNotExist:
        return None
    return cast(FeeRecord, values(item))


def fee_refund_op(
    tenant: str, event_id: str, appointment_id: str, at: str
) -> tuple[EventFeeItem, list[Action], Condition, str]:
    """The fee item turned `refunded`, only from `charged`: a refund happens at most once."""
    item = EventFeeItem(keys.event_pk(tenant, event_id), keys.event_fee_sk(appointment_id))
    actions: list[Action] = [EventFeeItem.state.set("refunded"), EventFeeItem.refunded_at.set(at)]
    return item, actions, EventFeeItem.state == "charged", "refunded"
