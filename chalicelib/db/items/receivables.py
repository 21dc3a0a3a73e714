"""Receivables (应收): an amount owed on a day, for a contract instalment or an enrolment's,
and an enrolment's payments."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.db.base import BaseItem
from chalicelib.db.items.attributes import unicode_list


class ReceivableItem(BaseItem, discriminator="Receivable"):
    """One instalment owed, in the partition of its contract or cohort; written only in the
    transaction of what changes it (signing, a payment, voiding; confirming, declining, an
    enrolment's payment). `status` open | paid | cancelled; money in fen."""

    id = UnicodeAttribute()
    source = UnicodeAttribute()  # contract | enrolment
    source_id = UnicodeAttribute()  # the contract's or the enrolment's id
    n = NumberAttribute()  # 1-based instalment number
    of = NumberAttribute()  # how many instalments
    title = UnicodeAttribute()
    lead_ids = unicode_list()
    lead_names = unicode_list()
    campus_id = UnicodeAttribute()
    consultant_id = UnicodeAttribute()
    consultant_name = UnicodeAttribute()
    due_on = UnicodeAttribute()  # school date
    amount = NumberAttribute()  # fen
    paid = NumberAttribute(default=0)  # fen covered by payments (in instalment order)
    paid_on = UnicodeAttribute(null=True)  # the day the last of it was paid
    status = UnicodeAttribute()
    payer_name = UnicodeAttribute(null=True)  # 代报名: who pays, when not a guardian of the learner
    payer_phone = UnicodeAttribute(null=True)  # E.164
    payer_relation = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()


class EnrolmentPaymentItem(BaseItem, discriminator="EnrolmentPayment"):
    """A payment of an enrolment's agreed price, in the cohort's partition (`PAY#<lead>#<at>#<id>`)."""

    id = UnicodeAttribute()
    enrolment_id = UnicodeAttribute()
    campus_id = UnicodeAttribute()
    amount = NumberAttribute()  # fen
    method = UnicodeAttribute()
    paid_on = UnicodeAttribute()
    note = UnicodeAttribute(null=True)
    by = UnicodeAttribute()
    by_name = UnicodeAttribute()
    at = UnicodeAttribute()
