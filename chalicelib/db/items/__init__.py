"""One pynamodb class per kind of item, by area (one module each). Keys are set from
db.keys only; the table and its indexes are defined once, in db/base.py. Importing this
package defines every class, so each kind of item is known to the table's discriminator."""

from __future__ import annotations

from chalicelib.db.items.audit import AggregateItem, AuditItem, SeenItem
from chalicelib.db.items.board import AnnouncementItem, PhraseItem, ReadItem
from chalicelib.db.items.cards import (
    CardItem,
    ContractItem,
    EventFeeItem,
    IdempotencyItem,
    LedgerItem,
    MemberLinkItem,
    PaymentItem,
)
from chalicelib.db.items.leads import (
    FollowUpItem,
    ImportItem,
    LeadHistoryItem,
    LeadItem,
    LeadLinkItem,
    PhoneItem,
    PlanGrantItem,
    PlanItem,
)
from chalicelib.db.items.messaging import (
    BirthdayItem,
    CounterItem,
    HolidayRunItem,
    JobCursorItem,
    MessageItem,
    OutboxItem,
    RecipientItem,
    TemplateItem,
)
from chalicelib.db.items.privacy import LeadRefItem, RetainItem, RetentionBackfillItem
from chalicelib.db.items.programmes import CohortItem, EnrolmentItem, EnrolmentLinkItem, ProgrammeItem
from chalicelib.db.items.receivables import EnrolmentPaymentItem, ReceivableItem
from chalicelib.db.items.schedule import (
    AppointmentItem,
    BookingItem,
    ClassItem,
    ClassRecordItem,
    CourseItem,
    EventItem,
    NotificationItem,
    SessionItem,
    TrialMarkerItem,
)
from chalicelib.db.items.staff import EmployeeRecordItem, OffboardingItem
from chalicelib.db.items.tenants import (
    ApiKeyItem,
    CampusItem,
    ConfigItem,
    LoginGuardItem,
    TenantItem,
    UniqueItem,
    UserItem,
)

__all__ = [
    "EmployeeRecordItem",
    "OffboardingItem",
    "AggregateItem",
    "AnnouncementItem",
    "ApiKeyItem",
    "AppointmentItem",
    "AuditItem",
    "BirthdayItem",
    "BookingItem",
    "CampusItem",
    "CardItem",
    "ClassItem",
    "ClassRecordItem",
    "CohortItem",
    "ConfigItem",
    "ContractItem",
    "CounterItem",
    "CourseItem",
    "EnrolmentItem",
    "EnrolmentLinkItem",
    "EnrolmentPaymentItem",
    "EventFeeItem",
    "EventItem",
    "FollowUpItem",
    "IdempotencyItem",
    "ImportItem",
    "JobCursorItem",
    "HolidayRunItem",
    "LeadHistoryItem",
    "LeadItem",
    "LeadLinkItem",
    "LeadRefItem",
    "LedgerItem",
    "LoginGuardItem",
    "MemberLinkItem",
    "MessageItem",
    "NotificationItem",
    "OutboxItem",
    "PaymentItem",
    "PhoneItem",
    "PhraseItem",
    "PlanGrantItem",
    "PlanItem",
    "ProgrammeItem",
    "ReadItem",
    "ReceivableItem",
    "RecipientItem",
    "RetainItem",
    "RetentionBackfillItem",
    "SeenItem",
    "SessionItem",
    "TemplateItem",
    "TenantItem",
    "TrialMarkerItem",
    "UniqueItem",
    "UserItem",
]
