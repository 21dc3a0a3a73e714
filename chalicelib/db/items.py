"""One pynamodb class per kind of item. Keys are set from db.keys only."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)

from chalicelib.db.base import BaseItem


class TenantItem(BaseItem, discriminator="Tenant"):
    slug = UnicodeAttribute()
    name = UnicodeAttribute()
    timezone = UnicodeAttribute()
    phone_region = UnicodeAttribute()
    plan = UnicodeAttribute(default="standard")
    status = UnicodeAttribute(default="active")
    created_at = UnicodeAttribute()


class CampusItem(BaseItem, discriminator="Campus"):
    id = UnicodeAttribute()
    name = UnicodeAttribute()
    address = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    duty_consultant_id = UnicodeAttribute(null=True)  # where website applications land


class UserItem(BaseItem, discriminator="User"):
    id = UnicodeAttribute()
    username = UnicodeAttribute()
    display_name = UnicodeAttribute()
    role = UnicodeAttribute()
    campus_ids = ListAttribute(of=UnicodeAttribute, default=list)
    supervisor_id = UnicodeAttribute(null=True)
    active = BooleanAttribute(default=True)
    phone = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    password_hash = UnicodeAttribute()
    token_version = NumberAttribute(default=0)
    owned_leads = NumberAttribute(default=0)  # leads this user owns (the claim cap)
    frozen_at = UnicodeAttribute(null=True)  # anti-scraping: GSI2 `T#<t>#FROZEN` while frozen
    frozen_reason = UnicodeAttribute(null=True)
    access_epoch = NumberAttribute(default=0)  # moves on each unfreeze: access counters start afresh
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class UniqueItem(BaseItem, discriminator="Unique"):
    """Claims a value (a login name, later a phone or a card number) for one owner."""

    owner_id = UnicodeAttribute()


class LoginGuardItem(BaseItem, discriminator="LoginGuard"):
    """Failed sign-ins for one typed username; expires by TTL."""

    failures = NumberAttribute(default=0)
    locked_until = NumberAttribute(null=True)


class LeadItem(BaseItem, discriminator="Lead"):
    """A lead (潜在客户). Index keys place it in its owner's (or the pool's) and its campus's lists."""

    id = UnicodeAttribute()
    name = UnicodeAttribute()
    name_key = UnicodeAttribute()  # casefolded name, for prefix search
    nickname = UnicodeAttribute(null=True)
    gender = UnicodeAttribute(null=True)
    birthday = UnicodeAttribute(null=True)
    school = UnicodeAttribute(null=True)
    grade = UnicodeAttribute(null=True)
    age = NumberAttribute(null=True)
    notes = UnicodeAttribute(null=True)
    tags = ListAttribute(of=UnicodeAttribute, default=list)
    guardians = ListAttribute(default=list)  # maps: name, relation, phones [{e164, raw}], ...
    phones = ListAttribute(of=UnicodeAttribute, default=list)  # every guardian phone, E.164
    source = UnicodeAttribute(null=True)
    sub_source = UnicodeAttribute(null=True)
    referrer_lead_id = UnicodeAttribute(null=True)
    family_id = UnicodeAttribute()
    campus_id = UnicodeAttribute()
    owner_id = UnicodeAttribute(null=True)
    owner_name = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    importance = UnicodeAttribute(null=True)
    stage = UnicodeAttribute(null=True)
    level = UnicodeAttribute(null=True)
    intended_courses = ListAttribute(of=UnicodeAttribute, default=list)
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    owned_since = UnicodeAttribute(null=True)
    last_contacted_at = UnicodeAttribute(null=True)
    next_follow_up_at = UnicodeAttribute(null=True)
    follow_up_count = NumberAttribute(null=True)  # ADDed by each follow-up (commutes with other writes)
    signed_on = UnicodeAttribute(null=True)
    conversion_days = NumberAttribute(null=True)
    deleted_at = UnicodeAttribute(null=True)
    reclaim_on = UnicodeAttribute(null=True)  # protection period end (tenant-local date)
    assessments = JSONAttribute(null=True)
    assessment_total = NumberAttribute(null=True)
    version = NumberAttribute(default=0)


class LeadHistoryItem(BaseItem, discriminator="LeadHistory"):
    at = UnicodeAttribute()
    by = UnicodeAttribute(null=True)
    action = UnicodeAttribute()
    details = MapAttribute(default=dict)


class LeadLinkItem(BaseItem, discriminator="LeadLink"):
    """In a lead's partition: a sibling (SIBLING#id) or a lead it referred (REFERRAL#id)."""

    other_id = UnicodeAttribute()


class PhoneItem(BaseItem, discriminator="Phone"):
    """Claims a guardian phone for one family of leads in a tenant (duplicate detection)."""

    family_id = UnicodeAttribute()
    lead_ids = ListAttribute(of=UnicodeAttribute, default=list)


class ConfigItem(BaseItem, discriminator="Config"):
    """A piece of tenant configuration (a dictionary, lead settings, the assessment)."""

    body = JSONAttribute(null=True)  # null: the built-in defaults
    used_keys = UnicodeSetAttribute(null=True)  # dictionaries: keys some lead has used


class FollowUpItem(BaseItem, discriminator="FollowUp"):
    """A contact with a lead (跟进), in the lead's partition; listed by consultant and campus."""

    id = UnicodeAttribute()
    lead_id = UnicodeAttribute()
    lead_name = UnicodeAttribute()
    campus_id = UnicodeAttribute()
    method = UnicodeAttribute()
    content = UnicodeAttribute()
    followed_at = UnicodeAttribute()
    next_follow_up_at = UnicodeAttribute(null=True)
    by = UnicodeAttribute()
    by_name = UnicodeAttribute()
    changes = MapAttribute(default=dict)
    plan_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()


class PlanItem(BaseItem, discriminator="Plan"):
    """A planned contact (工作计划), in the lead's partition; GSI1 only while open."""

    id = UnicodeAttribute()
    lead_id = UnicodeAttribute()
    lead_name = UnicodeAttribute()
    planned_at = UnicodeAttribute()
    purpose = UnicodeAttribute()
    assignee_id = UnicodeAttribute()
    assignee_name = UnicodeAttribute()
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    status = UnicodeAttribute(default="open")
    done_at = UnicodeAttribute(null=True)
    follow_up_id = UnicodeAttribute(null=True)


class PlanGrantItem(BaseItem, discriminator="PlanGrant"):
    """In a lead's partition (GRANT#<user>): the open plans on the lead assigned to that user;
    while there is one, the user may do it (read the lead, record the follow-up)."""

    user_id = UnicodeAttribute()
    plan_ids = UnicodeSetAttribute(null=True)


class CourseItem(BaseItem, discriminator="Course"):
    id = UnicodeAttribute()
    name = UnicodeAttribute()
    lesson_cost = UnicodeAttribute()  # a decimal, as text
    age_min_months = NumberAttribute(null=True)
    age_max_months = NumberAttribute(null=True)
    created_at = UnicodeAttribute()


class ClassItem(BaseItem, discriminator="Class"):
    id = UnicodeAttribute()
    course_id = UnicodeAttribute()
    course_name = UnicodeAttribute()
    campus_id = UnicodeAttribute()
    teacher = UnicodeAttribute()
    room = UnicodeAttribute(null=True)
    capacity = NumberAttribute()
    slots = ListAttribute(default=list)
    start_date = UnicodeAttribute()
    end_date = UnicodeAttribute()
    created_at = UnicodeAttribute()


class SessionItem(BaseItem, discriminator="Session"):
    """One lesson of a class. `taken` (regular + trials) < `capacity` is the booking condition."""

    id = UnicodeAttribute()
    class_id = UnicodeAttribute()
    course_id = UnicodeAttribute()
    course_name = UnicodeAttribute()
    campus_id = UnicodeAttribute()
    teacher = UnicodeAttribute()
    room = UnicodeAttribute(null=True)
    date = UnicodeAttribute()
    start = UnicodeAttribute()
    end = UnicodeAttribute()
    starts_at = UnicodeAttribute()
    capacity = NumberAttribute()
    regular = NumberAttribute(default=0)
    trials = NumberAttribute(default=0)
    taken = NumberAttribute(default=0)
    waitlist = NumberAttribute(default=0)
    cancelled = BooleanAttribute(default=False)


class EventItem(BaseItem, discriminator="Event"):
    id = UnicodeAttribute()
    name = UnicodeAttribute()
    starts_at = UnicodeAttribute()
    capacity = NumberAttribute()
    taken = NumberAttribute(default=0)
    waitlist = NumberAttribute(default=0)
    campus_id = UnicodeAttribute(null=True)
    location = UnicodeAttribute(null=True)
    fee_credits = UnicodeAttribute(null=True)
    fee_amount = UnicodeAttribute(null=True)
    cancelled = BooleanAttribute(default=False)
    created_at = UnicodeAttribute()


class BookingItem(BaseItem, discriminator="Booking"):
    """A lead's seat (or waitlist place) in a session or an event."""

    lead_id = UnicodeAttribute()
    lead_name = UnicodeAttribute()
    appointment_id = UnicodeAttribute()
    state = UnicodeAttribute()  # booked | waitlisted
    waited_at = UnicodeAttribute(null=True)
    owner_name = UnicodeAttribute(null=True)
    attendance = UnicodeAttribute(null=True)


class TrialMarkerItem(BaseItem, discriminator="TrialMarker"):
    appointment_id = UnicodeAttribute()


class AppointmentItem(BaseItem, discriminator="Appointment"):
    id = UnicodeAttribute()
    lead_id = UnicodeAttribute()
    lead_name = UnicodeAttribute()
    appointment_kind = UnicodeAttribute()  # visit | trial | event ("kind" is the item type)
    at = UnicodeAttribute()
    session_id = UnicodeAttribute(null=True)
    event_id = UnicodeAttribute(null=True)
    course_id = UnicodeAttribute(null=True)
    title = UnicodeAttribute(null=True)
    campus_id = UnicodeAttribute()
    owner_id = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    attendance = UnicodeAttribute(null=True)
    arrived_at = UnicodeAttribute(null=True)
    note = UnicodeAttribute(null=True)
    booked_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    cancelled_at = UnicodeAttribute(null=True)


class NotificationItem(BaseItem, discriminator="Notification"):
    id = UnicodeAttribute()
    message = UnicodeAttribute()
    lead_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    read = BooleanAttribute(default=False)


# --- contracts and cards -------------------------------------------------------------
# Money and lesson credits are stored as whole hundredths (fen; 1/100 of a credit) in
# DynamoDB numbers, so sums and conditions are exact integers; the API speaks decimal strings.


class ContractItem(BaseItem, discriminator="Contract"):
    """A contract (合同) signing one or more learners to a package; `version` locks changes."""

    id = UnicodeAttribute()
    lead_ids = ListAttribute(of=UnicodeAttribute)
    lead_names = ListAttribute(of=UnicodeAttribute)
    campus_id = UnicodeAttribute()
    course_ids = ListAttribute(of=UnicodeAttribute, default=list)
    credits = NumberAttribute()  # hundredths of a credit
    gift_credits = NumberAttribute(default=0)
    price = NumberAttribute()  # fen
    discount = NumberAttribute(default=0)
    starts_on = UnicodeAttribute()
    ends_on = UnicodeAttribute()
    instalments = ListAttribute(default=list)  # maps: due_on, amount (fen)
    signed_by = UnicodeAttribute()
    signed_by_name = UnicodeAttribute()
    signed_at = UnicodeAttribute()
    signed_on = UnicodeAttribute()
    paid = NumberAttribute(default=0)
    refunded = NumberAttribute(default=0)
    clawed_back = NumberAttribute(default=0)
    unallocated = NumberAttribute()  # credits not yet put on a card
    card_ids = ListAttribute(of=UnicodeAttribute, default=list)
    conversions = MapAttribute(default=dict)  # lead id -> days from lead to first contract
    note = UnicodeAttribute(null=True)
    voided_at = UnicodeAttribute(null=True)
    void_reason = UnicodeAttribute(null=True)
    version = NumberAttribute(default=0)


class PaymentItem(BaseItem, discriminator="Payment"):
    """A payment or a refund of a contract, in the contract's partition; listed by month."""

    id = UnicodeAttribute()
    contract_id = UnicodeAttribute()
    campus_id = UnicodeAttribute()
    payment_kind = UnicodeAttribute()  # payment | refund
    amount = NumberAttribute()  # fen, positive for both kinds
    method = UnicodeAttribute(null=True)
    paid_on = UnicodeAttribute()
    credits = NumberAttribute(default=0)  # refunds: credits clawed back
    reason = UnicodeAttribute(null=True)
    note = UnicodeAttribute(null=True)
    by = UnicodeAttribute()
    by_name = UnicodeAttribute()
    at = UnicodeAttribute()


class CardItem(BaseItem, discriminator="Card"):
    """A membership card (会员卡) and its two wallets.

    `credits` is the sum of `lots` (credits per contract: units, starts_on, ends_on) and
    `cash` the cash wallet, both in hundredths. A shared sub-card has no wallet of its own:
    its movements land on its primary card."""

    id = UnicodeAttribute()
    number = UnicodeAttribute()
    holder_lead_id = UnicodeAttribute()
    holder_name = UnicodeAttribute()
    campus_id = UnicodeAttribute()
    status = UnicodeAttribute()  # active | lost | frozen | replaced
    credits = NumberAttribute(default=0)
    cash = NumberAttribute(default=0)
    lots = MapAttribute(default=dict)
    primary_card_id = UnicodeAttribute(null=True)
    shared = BooleanAttribute(null=True)  # sub-cards: spends the primary's wallets
    sub_cards = MapAttribute(default=dict)  # primary cards: sub-card id -> holder lead id
    holder_phone = UnicodeAttribute(null=True)
    holder_note = UnicodeAttribute(null=True)
    frozen_reason = UnicodeAttribute(null=True)
    frozen_on = UnicodeAttribute(null=True)
    frozen_until = UnicodeAttribute(null=True)
    replaced_by = UnicodeAttribute(null=True)
    replaces = UnicodeAttribute(null=True)
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class LedgerItem(BaseItem, discriminator="Ledger"):
    """One movement of a card's wallets (消费记录), written in the balance's transaction."""

    id = UnicodeAttribute()
    card_id = UnicodeAttribute()
    movement = UnicodeAttribute()  # contract_credit | deduction | purchase | ...
    credits = NumberAttribute(default=0)  # signed hundredths
    amount = NumberAttribute(default=0)  # signed fen
    lots = MapAttribute(default=dict)  # contract id -> signed hundredths taken or given
    at = UnicodeAttribute()
    by = UnicodeAttribute(null=True)
    by_name = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    lead_id = UnicodeAttribute(null=True)  # the learner who used it
    used_card_id = UnicodeAttribute(null=True)  # a shared sub-card that spent this wallet
    contract_id = UnicodeAttribute(null=True)
    session_id = UnicodeAttribute(null=True)
    event_id = UnicodeAttribute(null=True)
    method = UnicodeAttribute(null=True)
    idempotency_key = UnicodeAttribute(null=True)


class MemberLinkItem(BaseItem, discriminator="MemberLink"):
    """In a learner's partition: one of their contracts (CONTRACT#id) or cards (CARD#id)."""

    other_id = UnicodeAttribute()
    at = UnicodeAttribute()


class IdempotencyItem(BaseItem, discriminator="Idempotency"):
    """A request that was applied once, by its Idempotency-Key; expires by TTL."""

    fingerprint = UnicodeAttribute()
    response = UnicodeAttribute()
    status = NumberAttribute()


# --- messaging -----------------------------------------------------------------------


class TemplateItem(BaseItem, discriminator="Template"):
    id = UnicodeAttribute()
    name = UnicodeAttribute()
    channel = UnicodeAttribute()
    template_kind = UnicodeAttribute()
    subject = UnicodeAttribute(null=True)
    body = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class MessageItem(BaseItem, discriminator="Message"):
    """A send (one or many recipients); its counts move as recipients are sent."""

    id = UnicodeAttribute()
    channel = UnicodeAttribute()
    purpose = UnicodeAttribute()
    template_id = UnicodeAttribute(null=True)
    subject = UnicodeAttribute(null=True)
    created_by = UnicodeAttribute()
    created_by_name = UnicodeAttribute()
    created_at = UnicodeAttribute()
    send_at = UnicodeAttribute()
    moved_by_quiet_hours = BooleanAttribute(default=False)
    recipients = NumberAttribute()
    queued = NumberAttribute()
    sent = NumberAttribute(default=0)
    failed = NumberAttribute(default=0)
    skipped = NumberAttribute()
    skipped_by_reason = MapAttribute(default=dict)
    segments = NumberAttribute(default=0)
    source = UnicodeAttribute(null=True)  # what made it: a user, or a job (birthday, reminder, ...)
    campus_ids = UnicodeSetAttribute(null=True)  # its recipients' campuses (and a typed send's sender's)


class RecipientItem(BaseItem, discriminator="Recipient"):
    """One recipient of a message, with its own rendering; status moves queued → sending →
    sent | failed (or skipped from the start), each step conditional on the one before."""

    n = NumberAttribute()
    lead_id = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    to = UnicodeAttribute(null=True)
    subject = UnicodeAttribute(null=True)
    text = UnicodeAttribute(null=True)
    segments = NumberAttribute(default=0)
    status = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    next_try_at = UnicodeAttribute(null=True)
    lease_until = UnicodeAttribute(null=True)
    sent_at = UnicodeAttribute(null=True)
    provider_id = UnicodeAttribute(null=True)


class CounterItem(BaseItem, discriminator="Counter"):
    """A count in a window (marketing messages to one recipient in a day); expires by TTL."""

    count = NumberAttribute(default=0)


class OutboxItem(BaseItem, discriminator="Outbox"):
    """What the outbox provider 'sent' (local and dev stages); expires by TTL."""

    id = UnicodeAttribute()
    at = UnicodeAttribute()
    channel = UnicodeAttribute()
    to = UnicodeAttribute()
    subject = UnicodeAttribute(null=True)
    body = UnicodeAttribute()
    purpose = UnicodeAttribute()
    reference = UnicodeAttribute()
    segments = NumberAttribute(default=0)
    lead_id = UnicodeAttribute(null=True)  # whom it was for: who may see the full number


class JobCursorItem(BaseItem, discriminator="JobCursor"):
    """How far a platform job has read its time buckets."""

    bucket = UnicodeAttribute()


class BirthdayItem(BaseItem, discriminator="Birthday"):
    """In a lead's partition: files a live lead with a birthday under DUE `BIRTHDAY#<MM-DD>`."""

    month_day = UnicodeAttribute()


# --- derived data (the stream processor) ------------------------------------------------


class AggregateItem(BaseItem, discriminator="Aggregate"):
    """Counters of one period and dimension (report aggregates, access windows, usage). Its
    counters are top-level numbers with free names, added to with `ADD` by the stream
    processor and read raw (db/reports.py)."""


class SeenItem(BaseItem, discriminator="Seen"):
    """A stream record whose effects were applied (written with them); expires by TTL."""


class AuditItem(BaseItem, discriminator="Audit"):
    """Who did or read what, when, from where (系统操作历史); expires after the school's retention."""

    id = UnicodeAttribute()
    at = UnicodeAttribute()
    user_id = UnicodeAttribute(null=True)
    username = UnicodeAttribute(null=True)
    role = UnicodeAttribute(null=True)
    action = UnicodeAttribute()  # read | write | sign_in | sign_in_failed | freeze | unfreeze
    method = UnicodeAttribute(null=True)
    route = UnicodeAttribute(null=True)
    params = MapAttribute(default=dict)
    lead_id = UnicodeAttribute(null=True)
    status = NumberAttribute(null=True)
    ip = UnicodeAttribute(null=True)
    user_agent = UnicodeAttribute(null=True)
    weight = NumberAttribute(default=0)  # what it counts for anti-scraping
    epoch = NumberAttribute(default=0)  # the user's access epoch when it was written
    details = UnicodeAttribute(null=True)
    campus_ids = UnicodeSetAttribute(null=True)  # the acting user's campuses then: who of the managers sees it


class AnnouncementItem(BaseItem, discriminator="Announcement"):
    """公告板: shown to every user at sign-in until they read it."""

    id = UnicodeAttribute()
    title = UnicodeAttribute()
    body = UnicodeAttribute()
    created_by = UnicodeAttribute()
    created_by_name = UnicodeAttribute()
    created_at = UnicodeAttribute()
    attachment = JSONAttribute(null=True)  # {id, file_name, content_type, size, sha256}; the file is in S3


class ReadItem(BaseItem, discriminator="Read"):
    """A user read an announcement."""

    at = UnicodeAttribute()


class PhraseItem(BaseItem, discriminator="Phrase"):
    """常用术语: a standard phrase staff can search, by category."""

    id = UnicodeAttribute()
    category = UnicodeAttribute()
    text = UnicodeAttribute()
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()


class ImportItem(BaseItem, discriminator="Import"):
    """A lead import (批量导入): the uploaded file, its progress and its result."""

    id = UnicodeAttribute()
    status = UnicodeAttribute()  # queued, running, done, failed
    file_name = UnicodeAttribute()
    file_key = UnicodeAttribute()
    campus_id = UnicodeAttribute()
    owner_id = UnicodeAttribute(null=True)  # the default owner; none: the public pool
    rows = NumberAttribute(default=0)
    created_by = UnicodeAttribute()
    created_by_name = UnicodeAttribute()
    created_at = UnicodeAttribute()
    started_at = UnicodeAttribute(null=True)
    finished_at = UnicodeAttribute(null=True)
    lease_until = UnicodeAttribute(null=True)  # a running import whose lease passed is taken up again
    lease_owner = UnicodeAttribute(null=True)  # the run holding the lease: only it renews or finishes
    attempts = NumberAttribute(default=0)
    result = JSONAttribute(null=True)  # counts, ignored columns, whether there is an error sheet
    error = UnicodeAttribute(null=True)


# --- programmes and cohorts (课程/班级) -------------------------------------------------


class ProgrammeItem(BaseItem, discriminator="Programme"):
    """A course, workshop or seminar the school offers, one-off or recurring."""

    id = UnicodeAttribute()
    name = UnicodeAttribute()
    programme_kind = UnicodeAttribute()  # course | workshop | seminar ("kind" is the item type)
    recurrence = UnicodeAttribute()  # one_off | recurring
    description = UnicodeAttribute(null=True)
    active = BooleanAttribute(default=True)
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class CohortItem(BaseItem, discriminator="Cohort"):
    """A group of a programme opening on a date. `confirmed` < `seats` is the enrolment condition."""

    id = UnicodeAttribute()
    programme_id = UnicodeAttribute()
    programme_name = UnicodeAttribute()
    programme_kind = UnicodeAttribute()
    campus_id = UnicodeAttribute()
    campus_name = UnicodeAttribute()
    name = UnicodeAttribute()
    starts_on = UnicodeAttribute()
    ends_on = UnicodeAttribute(null=True)
    starts_at = UnicodeAttribute()  # HH:MM, school time: the first session
    schedule = UnicodeAttribute(null=True)
    teacher_id = UnicodeAttribute(null=True)
    teacher_name = UnicodeAttribute(null=True)
    price = NumberAttribute()  # fen
    instalment_options = ListAttribute(default=list)  # maps: name, count
    seats = NumberAttribute()
    confirmed = NumberAttribute(default=0)
    pending = NumberAttribute(default=0)
    declined = NumberAttribute(default=0)
    status = UnicodeAttribute()  # open | closed | cancelled
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = NumberAttribute(default=0)


class EnrolmentItem(BaseItem, discriminator="Enrolment"):
    """A lead's enrolment (报名) in a cohort, in the cohort's partition; `version` locks changes."""

    id = UnicodeAttribute()
    cohort_id = UnicodeAttribute()
    programme_id = UnicodeAttribute()
    lead_id = UnicodeAttribute()
    lead_name = UnicodeAttribute()
    status = UnicodeAttribute()  # pending | confirmed | declined
    agreed_price = NumberAttribute()  # fen
    instalments = UnicodeAttribute()  # the name of one of the cohort's options
    instalment_count = NumberAttribute()
    notify_before_minutes = NumberAttribute(null=True)
    reminder_message_id = UnicodeAttribute(null=True)
    reminder_at = UnicodeAttribute(null=True)
    note = UnicodeAttribute(null=True)
    created_by = UnicodeAttribute()
    created_by_name = UnicodeAttribute()
    created_at = UnicodeAttribute()
    decided_by = UnicodeAttribute(null=True)
    decided_at = UnicodeAttribute(null=True)
    version = NumberAttribute(default=0)


class EnrolmentLinkItem(BaseItem, discriminator="EnrolmentLink"):
    """In a lead's partition: its enrolment in one cohort."""

    other_id = UnicodeAttribute()
    at = UnicodeAttribute()


# --- website integration ------------------------------------------------------------


class ApiKeyItem(BaseItem, discriminator="ApiKey"):
    """A school's public API key: the listing (tenant partition) and the lookup by hash
    (platform partition) carry the same fields; only the listing is shown to staff."""

    id = UnicodeAttribute()
    tenant = UnicodeAttribute()
    name = UnicodeAttribute()
    prefix = UnicodeAttribute()  # the key's first characters, to recognise it
    key_hash = UnicodeAttribute()  # SHA-256 of the key, hex
    campus_id = UnicodeAttribute()
    allowed_origins = ListAttribute(of=UnicodeAttribute, default=list)
    rate_limit = NumberAttribute()  # requests a minute
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    revoked_at = UnicodeAttribute(null=True)


class EventFeeItem(BaseItem, discriminator="EventFee"):
    """The fee of one event booking, charged once (written with the wallet movement) and
    refunded at most once (`state` charged -> refunded)."""

    appointment_id = UnicodeAttribute()
    lead_id = UnicodeAttribute()
    card_id = UnicodeAttribute()  # the card whose wallets paid (a shared sub-card's primary)
    state = UnicodeAttribute()  # charged | refunded
    credits = NumberAttribute(default=0)  # hundredths taken
    amount = NumberAttribute(default=0)  # fen taken
    lots = MapAttribute(default=dict)  # contract id -> hundredths taken (positive)
    charged_at = UnicodeAttribute()
    refunded_at = UnicodeAttribute(null=True)
