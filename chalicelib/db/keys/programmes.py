"""Programmes and cohorts (课程/班级)."""

from __future__ import annotations

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
