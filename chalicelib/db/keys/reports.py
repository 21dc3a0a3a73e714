"""Derived data (report aggregates, stream markers, access counters, usage) and the audit log."""

from __future__ import annotations

from chalicelib.db.keys.base import sort_key

# --- derived data ----------------------------------------------------------------------
# Report aggregates: one partition per school and period (a day or a month, school time),
# one item per dimension value. Access counters: one partition per user, one item per window.
ALL_DIMENSION = "all#all"


def aggregate_pk(tenant: str, period: str) -> str:
    """A day (yyyy-mm-dd) or a month (yyyy-mm) of a school's figures."""
    return f"T#{tenant}#AGG#{period}"


def dimension_sk(dimension: str, value: str) -> str:
    return f"{dimension}#{value}"


# The breakdown by a lead field (GET /reports/breakdown): in a period's partition, one item
# per list field and campus, `field#<field>|<campus>`, whose counters are named
# `<leads|members>|<value>` (a lead counted under its value, on the day it was made and on the
# day it signed). A field's whole school is the prefix `field#<field>|`.
def breakdown_prefix(field: str) -> str:
    return dimension_sk("field", f"{field}|")


def breakdown_sk(field: str, campus_id: str) -> str:
    return breakdown_prefix(field) + campus_id


def breakdown_counter(figure: str, value: str) -> str:
    """A breakdown item's counter: `leads|<value>` or `members|<value>`."""
    return f"{figure}|{value}"


def breakdown_value(counter: str) -> tuple[str, str]:
    """(figure, value) of a breakdown counter's name."""
    figure, _, value = counter.partition("|")
    return figure, value


STAFF_REFERRER = "user:"


def referrer_dimension(campus_id: str, lead_id: str | None, user_id: str | None) -> str | None:
    """The referral dimension's value, `<campus of the referred lead>|<referrer>`: the
    referring lead's id, or `user:<id>` for a member of staff; None when nobody referred."""
    if user_id:
        return f"{campus_id}|{STAFF_REFERRER}{user_id}"
    return f"{campus_id}|{lead_id}" if lead_id else None


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


def audit_pk(tenant: str, user_id: str | None) -> str:
    """A user's audit entries by time (`audit_sk`); the entries of no user (sign-ins, website
    keys, the console, the stream's freezes) share one partition, which no user id can name."""
    return f"T#{tenant}#AUDIT#U#{user_id}" if user_id else f"T#{tenant}#AUDIT#NOUSER"


def audit_sk(at: str, entry_id: str) -> str:
    """`<at>#<id>` (keys.sort_key): the entry's time and id (the item does not repeat the id)."""
    return sort_key(at, entry_id)


def audit_entry(sk: str) -> tuple[str, str]:
    """(at, id) of an audit entry, from its sort key."""
    at, _, entry_id = sk.partition("#")
    return at, entry_id


def audit_of_lead(tenant: str, lead_id: str) -> str:
    """GSI2 (sparse, keys only read): the audit entries about one lead by time (GSI2SK = SK)."""
    return f"T#{tenant}#AUDITLEAD#{lead_id}"


def frozen_users(tenant: str) -> str:
    """GSI2 (sparse): the school's frozen users."""
    return f"T#{tenant}#FROZEN"
