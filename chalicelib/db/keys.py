"""Every key string of the single table is built here and nowhere else.

Keys begin with the tenant (`T#<tenant>#...`) so no query can reach across tenants.
Platform-level partitions (the tenant directory, the cross-tenant `DUE` index) are the
only exceptions and are named as such. See docs/data-model.md.
"""

from __future__ import annotations

from datetime import UTC, datetime


def tenant_pk(tenant: str) -> str:
    return f"T#{tenant}"


# The tenant's own record and its campuses live in the tenant partition.
TENANT_SK = "TENANT"
TENANT_DIRECTORY = "PLATFORM#TENANTS"  # GSI1 partition listing every tenant


def campus_sk(campus_id: str) -> str:
    return f"CAMPUS#{campus_id}"


CAMPUS_PREFIX = "CAMPUS#"


# Staff users: one partition per tenant (staff counts are small), listable in one Query.
def users_pk(tenant: str) -> str:
    return f"T#{tenant}#USERS"


def user_sk(user_id: str) -> str:
    return f"USER#{user_id}"


USER_PREFIX = "USER#"


def team_gsi1pk(tenant: str, supervisor_id: str) -> str:
    """GSI1 partition of a supervisor's team (sparse: only users with a supervisor)."""
    return f"T#{tenant}#TEAM#{supervisor_id}"


# Uniqueness items, written with attribute_not_exists in the same transaction.
UNIQUE_SK = "UNIQUE"


def username_pk(tenant: str, username: str) -> str:
    return f"T#{tenant}#USERNAME#{username.casefold()}"


# Sign-in throttling, per tenant and typed username (whether or not the user exists): one
# guard for the login name from all addresses (GUARD), one per source address (GUARD#<ip>),
# and the addresses this name has signed in from (KNOWN#<ip>).
LOGIN_GUARD_SK = "GUARD"


def login_address_sk(address: str) -> str:
    return f"GUARD#{address}"


def login_known_sk(address: str) -> str:
    return f"KNOWN#{address}"


def login_guard_pk(tenant: str, username: str) -> str:
    return f"T#{tenant}#LOGIN#{username.casefold()}"


def tenant_of_key(key_value: str) -> str | None:
    """The tenant a key belongs to, or None for platform partitions."""
    if not key_value.startswith("T#"):
        return None
    return key_value[2:].split("#", 1)[0]


# The cross-tenant DUE index: date-keyed and sharded so no bucket grows hot.
DUE_SHARDS = 4


def due_pk(kind: str, bucket: str, shard: int) -> str:
    return f"DUE#{kind}#{bucket}#{shard}"


# --- leads -------------------------------------------------------------------------
# A lead's partition holds the lead (SK LEAD) and everything about it (history, links,
# and later follow-ups, appointments, contracts and cards), so one Query reads it all.
LEAD_SK = "LEAD"
NO_DATE = "~"  # sorts after every ISO timestamp: leads with no next follow-up come last


def lead_pk(tenant: str, lead_id: str) -> str:
    return f"T#{tenant}#LEAD#{lead_id}"


def history_sk(at: str | datetime, entry_id: str) -> str:
    return f"HIST#{stamp(at)}#{entry_id}"


def sibling_sk(lead_id: str) -> str:
    return f"SIBLING#{lead_id}"


def referral_sk(lead_id: str) -> str:
    return f"REFERRAL#{lead_id}"


def owner_scope(tenant: str, owner_id: str | None, campus_id: str) -> str:
    """GSI1/GSI2 partition: a consultant's leads, or the public pool of one campus."""
    return f"T#{tenant}#OWNER#{owner_id}" if owner_id else f"T#{tenant}#POOL#{campus_id}"


def campus_scope(tenant: str, campus_id: str) -> str:
    """GSI3/GSI4 partition: every live lead of a campus (managers, admins)."""
    return f"T#{tenant}#CAMPUS#{campus_id}"


def recycle_bin(tenant: str) -> str:
    """GSI1 partition of soft-deleted leads."""
    return f"T#{tenant}#BIN"


def stamp(value: str | datetime | None) -> str | None:
    """One fixed form for times inside keys (UTC, milliseconds, Z), so keys sort by time:
    pydantic writes 10:00:00Z but 10:00:00.5Z, which would not sort as strings."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sort_key(at: str | datetime | None, item_id: str) -> str:
    return f"{stamp(at) or NO_DATE}#{item_id}"


def phone_pk(tenant: str, e164: str) -> str:
    return f"T#{tenant}#PHONE#{e164}"


# Tenant configuration lives in the tenant partition under CONFIG#, read with one Query.
CONFIG_PREFIX = "CONFIG#"
LEAD_SETTINGS_SK = "CONFIG#LEADS"
ASSESSMENT_SK = "CONFIG#ASSESSMENT"
CARD_SETTINGS_SK = "CONFIG#CARDS"
MESSAGING_SETTINGS_SK = "CONFIG#MESSAGING"


def dictionary_sk(kind: str) -> str:
    return f"CONFIG#DICT#{kind}"


BIRTHDAY_SK = "BIRTHDAY"


def birthday_due(month_day: str, lead_pk_value: str) -> tuple[str, str]:
    """DUE keys of a learner's birthday (MM-DD; 02-29 stays 02-29)."""
    return due_pk("BIRTHDAY", month_day, shard_of(lead_pk_value)), lead_pk_value


def reclaim_due(day: str, lead_id: str) -> tuple[str, str]:
    """DUE keys of an owned lead whose protection period ends on `day` (UTC date)."""
    return due_pk("RECLAIM", day, shard_of(lead_id)), lead_id


def shard_of(item_id: str) -> int:
    return sum(item_id.encode()) % DUE_SHARDS


# --- follow-ups and work plans (in the lead's partition) ----------------------------
FOLLOW_UP_PREFIX = "FU#"
PLAN_PREFIX = "PLAN#"


def follow_up_sk(at: str | datetime, follow_up_id: str) -> str:
    return f"FU#{stamp(at)}#{follow_up_id}"


def follow_ups_by(tenant: str, user_id: str) -> str:
    """GSI1: a consultant's follow-ups by time."""
    return f"T#{tenant}#FUBY#{user_id}"


def follow_ups_in(tenant: str, campus_id: str) -> str:
    """GSI3: a campus's follow-ups by time."""
    return f"T#{tenant}#FUCAMPUS#{campus_id}"


def plan_sk(plan_id: str) -> str:
    return f"PLAN#{plan_id}"


def plan_grant_sk(user_id: str) -> str:
    """In the lead's partition: the open plans on it assigned to this user (their access)."""
    return f"GRANT#{user_id}"


def plans_of(tenant: str, user_id: str) -> str:
    """GSI1 (sparse, open plans only): a consultant's plans by planned time."""
    return f"T#{tenant}#PLANS#{user_id}"


# --- courses, classes, sessions, events, appointments ------------------------------
COURSE_PREFIX = "COURSE#"
CLASS_PREFIX = "CLASS#"
SESSION_SK = "SESSION"
EVENT_SK = "EVENT"
BOOKING_PREFIX = "BOOK#"
APPOINTMENT_PREFIX = "APPT#"


def course_sk(course_id: str) -> str:
    return f"COURSE#{course_id}"


def class_sk(class_id: str) -> str:
    return f"CLASS#{class_id}"


def session_pk(tenant: str, session_id: str) -> str:
    return f"T#{tenant}#SESSION#{session_id}"


def sessions_on(tenant: str, day: str) -> str:
    """GSI1: a day's class sessions, sorted by campus and start time."""
    return f"T#{tenant}#SESSIONS#{day}"


def event_pk(tenant: str, event_id: str) -> str:
    return f"T#{tenant}#EVENT#{event_id}"


def events_on(tenant: str, day: str) -> str:
    """GSI1: a day's events, by start time."""
    return f"T#{tenant}#EVENTS#{day}"


def booking_sk(lead_id: str) -> str:
    """In a session's or event's partition: one per lead, so a lead is never booked twice."""
    return f"BOOK#{lead_id}"


def trial_marker_sk(course_id: str) -> str:
    """In a lead's partition while a trial of this course is booked or waitlisted."""
    return f"TRIAL#{course_id}"


def appointment_sk(appointment_id: str) -> str:
    return f"APPT#{appointment_id}"


def appointments_by(tenant: str, owner_id: str) -> str:
    """GSI2: a consultant's appointments by time (visits, trials, events)."""
    return f"T#{tenant}#APPTBY#{owner_id}"


def appointments_in(tenant: str, campus_id: str) -> str:
    """GSI4: a campus's appointments by time."""
    return f"T#{tenant}#APPTC#{campus_id}"


def reminder_due(day: str, appointment_pk: str, appointment_id: str) -> tuple[str, str]:
    """DUE keys of a booked visit, trial or event, by the UTC date it happens on."""
    return due_pk("REMIND", day, shard_of(appointment_id)), f"{appointment_pk}|{appointment_id}"


def told_sk(what: str, when: str) -> str:
    """In the partition of what it is about: a marker that someone was told (once)."""
    return f"TOLD#{what}#{when}"


def notifications_pk(tenant: str, user_id: str) -> str:
    return f"T#{tenant}#NOTIFY#{user_id}"


# --- contracts, cards, the ledger --------------------------------------------------
# A contract and a card each have their own partition: the contract with its payments and
# refunds, the card with its ledger and history. Each learner's partition holds a link to
# every contract and card of theirs (CONTRACT#<id>, CARD#<id>), so the lead's one Query
# reads them too. Card numbers are claimed with a uniqueness item; a replaced number's
# claim stays forever, so it can never be issued again.
CONTRACT_SK = "CONTRACT"
CARD_SK = "CARD"
CONTRACT_LINK_PREFIX = "CONTRACT#"
CARD_LINK_PREFIX = "CARD#"
PAYMENT_PREFIX = "PAY#"
LEDGER_PREFIX = "LEDGER#"
HISTORY_PREFIX = "HIST#"


def contract_pk(tenant: str, contract_id: str) -> str:
    return f"T#{tenant}#CONTRACT#{contract_id}"


def contract_link_sk(contract_id: str) -> str:
    return f"CONTRACT#{contract_id}"


def members_of(tenant: str) -> str:
    """GSI1 (sparse): the contract links of every member, for greetings to all members."""
    return f"T#{tenant}#MEMBERS"


def contracts_in(tenant: str, month: str) -> str:
    """GSI1: contracts signed in a month (yyyy-mm, school time), by signing time."""
    return f"T#{tenant}#CONTRACTS#{month}"


def payment_sk(at: str | datetime, payment_id: str) -> str:
    return f"PAY#{stamp(at)}#{payment_id}"


def payments_in(tenant: str, month: str) -> str:
    """GSI1: payments and refunds of a month (yyyy-mm of the date paid), by date."""
    return f"T#{tenant}#PAYMENTS#{month}"


def card_pk(tenant: str, card_id: str) -> str:
    return f"T#{tenant}#CARD#{card_id}"


def card_link_sk(card_id: str) -> str:
    return f"CARD#{card_id}"


def card_alert_due(day: str, card_pk_value: str) -> tuple[str, str]:
    """DUE keys of a card to look at on a UTC date: low credits, or credits about to expire."""
    return due_pk("CARDALERT", day, shard_of(card_pk_value)), card_pk_value


def card_number_pk(tenant: str, number: str) -> str:
    return f"T#{tenant}#CARDNO#{number.upper()}"


def ledger_sk(at: str | datetime, entry_id: str) -> str:
    return f"LEDGER#{stamp(at)}#{entry_id}"


def idempotency_pk(tenant: str, key: str) -> str:
    return f"T#{tenant}#IDEM#{key}"


IDEMPOTENCY_SK = "IDEM"


# --- messaging -----------------------------------------------------------------------
# Templates live in the tenant partition. A message has its own partition: the header
# (MESSAGE) and one item per recipient (RCPT#<n>), each with its own rendering and status.
# The header carries the DUE keys of the minute it is due in while recipients wait.
TEMPLATE_PREFIX = "TEMPLATE#"
MESSAGE_SK = "MESSAGE"
RECIPIENT_PREFIX = "RCPT#"


def template_sk(template_id: str) -> str:
    return f"TEMPLATE#{template_id}"


def message_pk(tenant: str, message_id: str) -> str:
    return f"T#{tenant}#MSG#{message_id}"


def recipient_sk(n: int) -> str:
    return f"RCPT#{n:05d}"


def messages_of(tenant: str) -> str:
    """GSI1: a tenant's messages, newest first."""
    return f"T#{tenant}#MESSAGES"


def message_due(minute: str, message_pk_value: str) -> tuple[str, str]:
    """DUE keys of a message with recipients waiting in that UTC minute (yyyy-mm-ddThh:mm)."""
    return due_pk("SMS", minute, shard_of(message_pk_value)), message_pk_value


def frequency_pk(tenant: str, destination: str) -> str:
    """Marketing messages sent to one phone or address, one item per school-local day."""
    return f"T#{tenant}#FREQ#{destination.casefold()}"


def outbox_pk(tenant: str) -> str:
    return f"T#{tenant}#OUTBOX"


# Platform job cursors: how far a job has read its buckets (not tenant data).
JOB_CURSOR_PK = "PLATFORM#JOBS"


# --- derived data ----------------------------------------------------------------------
# Report aggregates: one partition per school and period (a day or a month, school time),
# one item per dimension value. Access counters: one partition per user, one item per window.
ALL_DIMENSION = "all#all"


def aggregate_pk(tenant: str, period: str) -> str:
    """A day (yyyy-mm-dd) or a month (yyyy-mm) of a school's figures."""
    return f"T#{tenant}#AGG#{period}"


def dimension_sk(dimension: str, value: str) -> str:
    return f"{dimension}#{value}"


def seen_pk(tenant: str, event_id: str) -> str:
    """Markers of applied stream records, spread over 16 partitions."""
    return f"T#{tenant}#SEEN#{sum(event_id.encode()) % 16}"


def access_pk(tenant: str, user_id: str) -> str:
    """A user's weighted customer-data reads in fixed windows (minute, hour, day; UTC)."""
    return f"T#{tenant}#ACCESS#{user_id}"


def access_sk(window: str, epoch: int, stamp: str) -> str:
    """One window's counter ('m', 'h' or 'd', then the UTC minute, hour or day), in the user's
    access epoch (it moves on each unfreeze, so counting starts afresh)."""
    return f"{window}#{epoch}#{stamp}"


def usage_pk(tenant: str) -> str:
    return f"T#{tenant}#USAGE"


def audit_pk(tenant: str, day: str) -> str:
    """A day (UTC) of a school's audit entries."""
    return f"T#{tenant}#AUDIT#{day}"


def audit_by(tenant: str, user_id: str) -> str:
    """GSI1: a user's audit entries by time."""
    return f"T#{tenant}#AUDITBY#{user_id}"


def audit_of_lead(tenant: str, lead_id: str) -> str:
    """GSI2: the audit entries about one lead by time."""
    return f"T#{tenant}#AUDITLEAD#{lead_id}"


def frozen_users(tenant: str) -> str:
    """GSI2 (sparse): the school's frozen users."""
    return f"T#{tenant}#FROZEN"


SECURITY_SETTINGS_SK = "CONFIG#SECURITY"


# --- announcements and the glossary (tenant partition) ---------------------------------
ANNOUNCEMENT_PREFIX = "ANNOUNCE#"
GLOSSARY_PREFIX = "GLOSSARY#"


def announcement_sk(created_at: str, announcement_id: str) -> str:
    return f"ANNOUNCE#{stamp(created_at)}#{announcement_id}"


def reads_pk(tenant: str, user_id: str) -> str:
    """The announcements a user has read (one item each)."""
    return f"T#{tenant}#READ#{user_id}"


def glossary_sk(phrase_id: str) -> str:
    return f"GLOSSARY#{phrase_id}"


# --- lead imports (批量导入客户) ---------------------------------------------------------
# One item per uploaded file, in its own partition; GSI1 lists a school's imports, newest
# first; while it waits for the `lead_imports` job it is filed on DUE `IMPORT#queued`.
IMPORT_SK = "IMPORT"


def import_pk(tenant: str, import_id: str) -> str:
    return f"T#{tenant}#IMPORT#{import_id}"


def imports_scope(tenant: str) -> str:
    return f"T#{tenant}#IMPORTS"


def import_due(import_pk_value: str) -> tuple[str, str]:
    return due_pk("IMPORT", "queued", shard_of(import_pk_value)), import_pk_value


def import_file(tenant: str, import_id: str, name: str) -> str:
    """Where the uploaded file and its error sheet are stored (S3 key / local path)."""
    return f"imports/{tenant}/{import_id}/{name}"


def attachment_file(tenant: str, attachment_id: str) -> str:
    """Where a published announcement's attachment is stored (S3 key / local path): a copy
    made at publishing, which no upload URL can reach."""
    return f"attachments/{tenant}/{attachment_id}"


UPLOADS_PREFIX = "uploads/"  # the only keys a presigned PUT URL is ever made for


def attachment_upload(tenant: str, attachment_id: str) -> str:
    """Where the browser puts an attachment before it is published (a presigned PUT URL's
    key, written once; the bucket forgets `uploads/` after a day)."""
    return f"{UPLOADS_PREFIX}attachments/{tenant}/{attachment_id}"


# --- programmes and cohorts (课程/班级) --------------------------------------------------
# Programmes live in the tenant partition. A cohort has its own partition: the cohort (SK
# COHORT, with its seat counters) and one enrolment per lead (ENROL#<lead>), so a lead can
# never be enrolled twice. The lead's partition holds a link to each of its enrolments.
PROGRAMME_PREFIX = "PROGRAMME#"
COHORT_SK = "COHORT"
ENROLMENT_PREFIX = "ENROL#"


def programme_sk(programme_id: str) -> str:
    return f"PROGRAMME#{programme_id}"


def cohort_pk(tenant: str, cohort_id: str) -> str:
    return f"T#{tenant}#COHORT#{cohort_id}"


def enrolment_sk(lead_id: str) -> str:
    """In a cohort's partition: one per lead."""
    return f"ENROL#{lead_id}"


def enrolment_link_sk(cohort_id: str) -> str:
    """In a lead's partition: its enrolment in that cohort."""
    return f"ENROL#{cohort_id}"


def cohorts_of(tenant: str) -> str:
    """GSI1: every cohort of a school, by start date."""
    return f"T#{tenant}#COHORTS"


def cohorts_of_programme(tenant: str, programme_id: str) -> str:
    """GSI2: a programme's cohorts, by start date."""
    return f"T#{tenant}#PCOHORTS#{programme_id}"


def open_cohorts(tenant: str) -> str:
    """GSI3 (sparse, open cohorts only): by start date."""
    return f"T#{tenant}#OPENCOHORTS"


def open_cohorts_of_programme(tenant: str, programme_id: str) -> str:
    """GSI4 (sparse, open cohorts only): a programme's, by start date."""
    return f"T#{tenant}#OPENPCOHORTS#{programme_id}"


def cohort_sort(starts_on: str, cohort_id: str) -> str:
    return f"{starts_on}#{cohort_id}"


# --- website integration: public API keys and rate windows ---------------------------
# A public request carries only its key, so the key's lookup item lives in a platform
# partition named by the key's SHA-256 (never the key itself); the tenant's own listing
# item sits in the tenant partition. Rate windows are tenant-scoped counters with a TTL.
API_KEY_SK = "APIKEY"
API_KEY_PREFIX = "APIKEY#"


def api_key_lookup_pk(key_hash: str) -> str:
    """Platform partition: the tenant, campus and state of the key with this SHA-256."""
    return f"PLATFORM#APIKEY#{key_hash}"


def api_key_sk(key_id: str) -> str:
    """In the tenant partition: one of the school's keys, as its admins list it."""
    return f"APIKEY#{key_id}"


def rate_pk(tenant: str, what: str, who: str) -> str:
    """Requests of one key (`KEY`) or one source address (`IP`) to a school's public routes."""
    return f"T#{tenant}#RATE#{what}#{who}"


def event_fee_sk(appointment_id: str) -> str:
    """In an event's partition: the fee charged for one booking (an appointment), at most once."""
    return f"FEE#{appointment_id}"
