"""Programmes (课程), cohorts (班级) and enrolments (报名)."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.routing import Call, endpoint
from chalicelib.domain import roles
from chalicelib.schemas.common import Page, PageQuery
from chalicelib.schemas.programmes import (
    Cohort,
    CohortListQuery,
    CohortPatch,
    CohortRequest,
    Enrolment,
    EnrolmentRequest,
    OpenCohortQuery,
    Programme,
    ProgrammePatch,
    ProgrammeRequest,
    PublicCohort,
)

bp = Blueprint(__name__)
MANAGERS = roles.MANAGE_PROGRAMMES
ENROLLERS = roles.ENROL


@endpoint(
    bp,
    "POST",
    "/programmes",
    summary="Create a programme: a course, workshop or seminar (课程)",
    tags=["programmes"],
    roles_allowed=MANAGERS,
    body=ProgrammeRequest,
    response=Programme,
    status=201,
)
def create_programme(call: Call[ProgrammeRequest, None]) -> Programme:
    from chalicelib.domain import programmes

    return programmes.create_programme(call.principal, call.body)


@endpoint(
    bp,
    "GET",
    "/programmes",
    summary="Programmes, oldest first",
    tags=["programmes"],
    query=PageQuery,
    response=Page[Programme],
)
def list_programmes(call: Call[None, PageQuery]) -> Page[Programme]:
    from chalicelib.domain import programmes

    return programmes.list_programmes(call.principal, call.query)


@endpoint(
    bp,
    "GET",
    "/programmes/{programme_id}",
    summary="A programme",
    tags=["programmes"],
    response=Programme,
)
def get_programme(call: Call[None, None]) -> Programme:
    from chalicelib.domain import programmes

    return programmes.get_programme(call.principal, call.params["programme_id"])


@endpoint(
    bp,
    "PATCH",
    "/programmes/{programme_id}",
    summary="Change a programme (inactive: no new cohorts)",
    tags=["programmes"],
    roles_allowed=MANAGERS,
    body=ProgrammePatch,
    response=Programme,
)
def patch_programme(call: Call[ProgrammePatch, None]) -> Programme:
    from chalicelib.domain import programmes

    return programmes.patch_programme(call.principal, call.params["programme_id"], call.body)


@endpoint(
    bp,
    "POST",
    "/programmes/{programme_id}/cohorts",
    summary="Open a cohort (班级) of a programme: dates, teacher, schedule, price, instalments, seats",
    tags=["programmes"],
    roles_allowed=MANAGERS,
    body=CohortRequest,
    response=Cohort,
    status=201,
)
def create_cohort(call: Call[CohortRequest, None]) -> Cohort:
    from chalicelib.domain import programmes

    return programmes.create_cohort(call.principal, call.params["programme_id"], call.body)


@endpoint(
    bp,
    "GET",
    "/cohorts",
    summary="Cohorts starting on or after a day (default today), earliest first",
    tags=["programmes"],
    query=CohortListQuery,
    response=Page[Cohort],
)
def list_cohorts(call: Call[None, CohortListQuery]) -> Page[Cohort]:
    from chalicelib.domain import programmes

    return programmes.list_cohorts(call.principal, call.query)


@endpoint(
    bp,
    "GET",
    "/cohorts/open",
    summary="Open cohorts with seats left, as the school's website will list them",
    tags=["programmes"],
    query=OpenCohortQuery,
    response=Page[PublicCohort],
)
def open_cohorts(call: Call[None, OpenCohortQuery]) -> Page[PublicCohort]:
    from chalicelib.domain import programmes

    q = call.query
    return programmes.open_cohorts(call.principal.tenant, q.programme_id, q.limit, q.cursor)


@endpoint(
    bp,
    "GET",
    "/cohorts/{cohort_id}",
    summary="A cohort with its enrolment counts and seats left",
    tags=["programmes"],
    response=Cohort,
)
def get_cohort(call: Call[None, None]) -> Cohort:
    from chalicelib.domain import programmes

    return programmes.get_cohort(call.principal, call.params["cohort_id"])


@endpoint(
    bp,
    "PATCH",
    "/cohorts/{cohort_id}",
    summary="Change a cohort; close or cancel it (seats never below the confirmed enrolments)",
    tags=["programmes"],
    roles_allowed=MANAGERS,
    body=CohortPatch,
    response=Cohort,
)
def patch_cohort(call: Call[CohortPatch, None]) -> Cohort:
    from chalicelib.domain import programmes

    return programmes.patch_cohort(call.principal, call.params["cohort_id"], call.body)


@endpoint(
    bp,
    "POST",
    "/cohorts/{cohort_id}/enrolments",
    summary="Enrol a lead in a cohort (pending until confirmed or declined)",
    tags=["programmes"],
    roles_allowed=ENROLLERS,
    body=EnrolmentRequest,
    response=Enrolment,
    status=201,
)
def enrol(call: Call[EnrolmentRequest, None]) -> Enrolment:
    from chalicelib.domain import programmes

    return programmes.enrol(call.principal, call.params["cohort_id"], call.body)


@endpoint(
    bp,
    "GET",
    "/cohorts/{cohort_id}/enrolments",
    summary="A cohort's enrolments (of the leads you may see)",
    tags=["programmes"],
    query=PageQuery,
    response=Page[Enrolment],
    reads_customers=True,
)
def list_enrolments(call: Call[None, PageQuery]) -> Page[Enrolment]:
    from chalicelib.domain import programmes

    return programmes.list_enrolments(call.principal, call.params["cohort_id"], call.query)


@endpoint(
    bp,
    "POST",
    "/enrolments/{enrolment_id}/confirm",
    summary="Confirm an enrolment: it takes a seat (409 COHORT_FULL when none is left)",
    tags=["programmes"],
    roles_allowed=ENROLLERS,
    response=Enrolment,
)
def confirm(call: Call[None, None]) -> Enrolment:
    from chalicelib.domain import programmes

    return programmes.confirm(call.principal, call.params["enrolment_id"])


@endpoint(
    bp,
    "POST",
    "/enrolments/{enrolment_id}/decline",
    summary="Decline an enrolment: a confirmed one gives its seat back; its reminder is stopped",
    tags=["programmes"],
    roles_allowed=ENROLLERS,
    response=Enrolment,
)
def decline(call: Call[None, None]) -> Enrolment:
    from chalicelib.domain import programmes

    return programmes.decline(call.principal, call.params["enrolment_id"])
