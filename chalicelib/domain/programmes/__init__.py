"""Programmes (课程), their cohorts (班级) and enrolments (报名).

A cohort opens on a date with a price, instalment options and seats. A lead is enrolled
pending, then confirmed (takes a seat, never more than there are) or declined (gives a
confirmed seat back). A confirmed enrolment may carry a reminder: an SMS to the guardian
a set time before the first session, made and sent by the messaging machinery under a
deterministic id, and stopped when the enrolment is declined or the cohort cancelled.

By sub-feature: catalogue.py (programmes), cohorts.py, enrolments.py, reminders.py, and
common.py (what they share). Callers use `programmes.enrol(...)`: the package re-exports
what they call.
"""

from chalicelib.domain.programmes.catalogue import create_programme, get_programme, list_programmes, patch_programme
from chalicelib.domain.programmes.cohorts import (
    cohort_for_application,
    create_cohort,
    get_cohort,
    list_cohorts,
    open_cohorts,
    patch_cohort,
)
from chalicelib.domain.programmes.common import ENROLLERS, MANAGERS, TRIES
from chalicelib.domain.programmes.enrolments import confirm, decline, enrol, list_enrolments
from chalicelib.domain.programmes.payments import pay_enrolment

__all__ = [
    "ENROLLERS",
    "MANAGERS",
    "TRIES",
    "cohort_for_application",
    "confirm",
    "create_cohort",
    "create_programme",
    "decline",
    "enrol",
    "get_cohort",
    "get_programme",
    "list_cohorts",
    "list_enrolments",
    "list_programmes",
    "open_cohorts",
    "patch_cohort",
    "patch_programme",
    "pay_enrolment",
]
