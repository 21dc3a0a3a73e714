"""The platform console: `python -m chalicelib.cli --help`.

Works against the local stack by default (DynamoDB Local on 127.0.0.1:8001) and against
a deployed stage's table with the usual AWS credentials:
`python -m chalicelib.cli --stage prod --table <TableName output> tenant list`.
Never deployed to Lambda (click comes with chalice, a development dependency).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from datetime import UTC, datetime

import click

LOCAL_ENDPOINT = "http://127.0.0.1:8001"
LOCAL_TABLE = "campus-crm-local"


def _configure(stage: str, table: str | None, endpoint: str | None) -> None:
    env = os.environ
    if stage == "local":
        env.setdefault("AWS_ACCESS_KEY_ID", "local")
        env.setdefault("AWS_SECRET_ACCESS_KEY", "local")
        env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        env["CRM_DYNAMODB_ENDPOINT"] = endpoint or env.get("CRM_DYNAMODB_ENDPOINT") or LOCAL_ENDPOINT
        env["CRM_TABLE"] = table or env.get("CRM_TABLE") or LOCAL_TABLE
    else:
        env.pop("CRM_DYNAMODB_ENDPOINT", None)
        if endpoint:
            env["CRM_DYNAMODB_ENDPOINT"] = endpoint
        resolved = table or env.get("CRM_TABLE")
        if not resolved:
            raise click.UsageError(f"--table (or CRM_TABLE) is required for stage {stage!r}: the stack's TableName.")
        env["CRM_TABLE"] = resolved
    env["CRM_STAGE"] = stage
    # Console pagination cursors never leave this process: any secret will do.
    env.setdefault("CRM_JWT_SECRET", secrets.token_hex(32))
    from chalicelib.db.base import reset_connection
    from chalicelib.settings import reset_settings

    reset_settings()
    reset_connection()


def _logs_to_stderr() -> None:
    """The app logs to stdout (what Lambda wants); a console command's stdout is its result
    alone (`jobs run ... | jq`), so its logs go to stderr."""
    import logging

    from chalicelib.observability import logger

    for handler in logging.getLogger(logger.name).handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream in (sys.stdout, sys.__stdout__):
            handler.setStream(sys.stderr)


def _fail(exc: Exception) -> None:
    from chalicelib.errors import CrmError

    if isinstance(exc, CrmError):
        click.echo(f"error: {exc.message}", err=True)
        for detail in exc.details:
            click.echo(f"  {detail.get('field')}: {detail.get('message')}", err=True)
        sys.exit(2)
    raise exc


@click.group()
@click.option("--stage", default="local", show_default=True, help="local, dev or prod")
@click.option("--table", default=None, help="Table name (required outside local; the stack's TableName output)")
@click.option("--endpoint", default=None, help="DynamoDB endpoint (default: local stack, or AWS outside local)")
def cli(stage: str, table: str | None, endpoint: str | None) -> None:
    """Campus CRM platform console."""
    _configure(stage, table, endpoint)
    _logs_to_stderr()


@cli.group()
def tenant() -> None:
    """Schools (tenants)."""


@tenant.command("create")
@click.option("--slug", required=True, help="Short id used at sign-in, e.g. sunshine")
@click.option("--name", required=True)
@click.option("--timezone", "tz", default="Asia/Shanghai", show_default=True)
@click.option("--phone-region", default="CN", show_default=True)
@click.option("--plan", default="standard", show_default=True)
@click.option("--admin-username", required=True)
@click.option("--admin-password", prompt=True, hide_input=True, confirmation_prompt=True)
def tenant_create(slug, name, tz, phone_region, plan, admin_username, admin_password) -> None:
    """Create a school with its first admin."""
    from pydantic import ValidationError

    from chalicelib.domain.tenants import create_tenant

    try:
        created, admin = create_tenant(
            slug=slug,
            name=name,
            timezone=tz,
            phone_region=phone_region,
            admin_username=admin_username,
            admin_password=admin_password,
            plan=plan,
        )
    except ValidationError as exc:
        for err in exc.errors():
            click.echo(f"error: {'.'.join(map(str, err['loc']))}: {err['msg']}", err=True)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - CrmError printed, anything else re-raised
        _fail(exc)
    click.echo(f"created tenant {created.slug} ({created.name}); admin {admin.username} id {admin.id}")


@tenant.command("list")
def tenant_list() -> None:
    """Every school on this stage."""
    from chalicelib.db import tenants as tenants_db

    cursor = None
    click.echo(f"{'slug':<24} {'timezone':<20} {'plan':<10} {'status':<8} name")
    while True:
        items, cursor = tenants_db.list_all(100, cursor)
        for t in items:
            click.echo(f"{t.slug:<24} {t.timezone:<20} {t.plan:<10} {t.status:<8} {t.name}")
        if not cursor:
            break


@cli.group()
def user() -> None:
    """Staff accounts."""


@user.command("list")
@click.option("--tenant", "slug", required=True)
def user_list(slug: str) -> None:
    """Every staff account of a school."""
    from chalicelib.db import users as users_db
    from chalicelib.domain.tenants import get_tenant

    try:
        get_tenant(slug)
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    cursor = None
    click.echo(f"{'username':<24} {'role':<11} {'active':<7} {'id':<27} name")
    while True:
        items, cursor = users_db.list_users(slug, 100, cursor)
        for u in items:
            click.echo(f"{u.username:<24} {u.role.value:<11} {str(u.active).lower():<7} {u.id:<27} {u.display_name}")
        if not cursor:
            break


@user.command("set-password")
@click.option("--tenant", "slug", required=True)
@click.option("--username", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def user_set_password(slug: str, username: str, password: str) -> None:
    """Reset a password; the user's existing sessions end."""
    from chalicelib.domain.users import set_password

    try:
        updated = set_password(slug, username, password)
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    click.echo(f"password changed for {updated.username}; existing sessions were signed out")


@cli.group()
def jobs() -> None:
    """Scheduled functions."""


@jobs.command("run")
@click.argument("name")
@click.option("--date", "day", default=None, help="YYYY-MM-DD (UTC): run as of that day at this time of day")
@click.option("--tenant", "slug", default=None, help="only this school (default: every school)")
def jobs_run(name: str, day: str | None, slug: str | None) -> None:
    """Run one scheduled function once, now or as of a date."""
    from chalicelib import jobs as job_registry
    from chalicelib.jobs import due  # noqa: F401 - registers the jobs

    if name not in job_registry.JOBS:
        raise click.BadParameter(f"unknown job; one of: {', '.join(sorted(job_registry.JOBS))}", param_hint="NAME")
    at = None
    if day:
        try:
            now = datetime.now(UTC)
            at = datetime.combine(datetime.strptime(day, "%Y-%m-%d").date(), now.time(), tzinfo=UTC)
        except ValueError as exc:
            raise click.BadParameter("use YYYY-MM-DD", param_hint="--date") from exc
    click.echo(json.dumps(job_registry.run(name, at=at, tenant=slug), ensure_ascii=False))


@cli.group()
def admin() -> None:
    """Frozen accounts (anti-scraping)."""


@admin.command("frozen")
@click.option("--tenant", "slug", required=True)
def admin_frozen(slug: str) -> None:
    """List a school's frozen accounts."""
    from chalicelib.db import users as users_db

    found = users_db.frozen(slug)
    if not found:
        click.echo("no frozen accounts")
    for user in found:
        since = f"{user.frozen_at:%Y-%m-%d %H:%M} UTC"
        click.echo(f"{user.username:<24} {user.role.value:<11} frozen {since}: {user.frozen_reason}")


@admin.command("unfreeze")
@click.option("--tenant", "slug", required=True)
@click.option("--user", "username", required=True, help="login name")
@click.option("--reason", required=True)
def admin_unfreeze(slug: str, username: str, reason: str) -> None:
    """Unfreeze an account (audited as done by the platform console)."""
    from chalicelib.db import users as users_db
    from chalicelib.domain import audit

    record = users_db.get_by_username(slug, username)
    if record is None:
        raise click.BadParameter(f"no user {username!r} in {slug!r}", param_hint="--user")
    try:
        audit.unfreeze(slug, record.id, reason, console=True)
    except Exception as exc:  # noqa: BLE001 - the console says what went wrong
        _fail(exc)
    click.echo(f"{username} unfrozen; they can sign in again")


@cli.command("usage")
@click.option("--month", required=True, help="YYYY-MM")
def usage(month: str) -> None:
    """Every school's usage of a month, as CSV (the billing export)."""
    from chalicelib import sheets
    from chalicelib.db import tenants as tenants_db
    from chalicelib.domain import reports

    writer = sheets.csv_writer(sys.stdout)
    writer.writerow(["tenant", "month", "api_requests", "sms", "sms_segments", "emails", "active_leads"])
    cursor = None
    while True:
        page, cursor = tenants_db.list_all(100, cursor)
        for tenant in page:
            row = reports.usage(tenant.slug, month)
            writer.writerow(
                [row.tenant, row.month, row.api_requests, row.sms, row.sms_segments, row.emails, row.active_leads]
            )
        if not cursor:
            return


@cli.command("openapi")
def openapi() -> None:
    """Print the OpenAPI document (what GET /openapi.json serves)."""
    import app  # noqa: F401 - registers every route
    from chalicelib.api.openapi import build

    click.echo(json.dumps(build(), indent=2, ensure_ascii=False, sort_keys=True))


@cli.command("errors-doc")
def errors_doc() -> None:
    """Print docs/errors.md: every error code with its status and messages (English, 中文)."""
    from chalicelib.error_catalogue import markdown

    click.echo(markdown(), nl=False)


if __name__ == "__main__":
    cli()
