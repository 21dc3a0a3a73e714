"""Campus CRM: the composition root. Routes live in chalicelib/api, rules in chalicelib/domain."""

from aws_lambda_powertools.logging import correlation_paths
from chalice import Chalice, ConvertToMiddleware, CORSConfig

from chalicelib import error_catalogue
from chalicelib.api import (
    auth,
    board,
    campuses,
    cards,
    configuration,
    followups,
    leads,
    messaging,
    openapi,
    programmes,
    receivables,
    reports,
    routing,
    schedule,
    users,
    website,
)
from chalicelib.observability import logger, metrics
from chalicelib.settings import get_settings

settings = get_settings()
app = Chalice(app_name="campus-crm")
app.api.cors = CORSConfig(
    allow_origin=settings.api_cors_origin(),  # refuses to start with "*" outside the local stages
    allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
    max_age=600,
)

# exports download as .xlsx: API Gateway must pass the bytes through (clients send a matching Accept)
app.api.binary_types.append("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

for blueprint in (
    auth.bp,
    campuses.bp,
    users.bp,
    leads.bp,
    followups.bp,
    schedule.bp,
    cards.bp,
    messaging.bp,
    reports.bp,
    board.bp,
    configuration.bp,
    programmes.bp,
    receivables.bp,
    website.bp,
    openapi.bp,
):
    app.register_blueprint(blueprint)


# Powertools' logger context on every line an HTTP invocation logs: the Lambda context keys
# (function_name, function_request_id, cold_start...) and API Gateway's request id as the
# correlation id. Never the event itself: it holds what customers typed (docs/decisions/0006-powertools.md).
app.register_middleware(
    ConvertToMiddleware(
        logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
    ),
    "http",
)


@app.middleware("http")
def observe_request(event, get_response):
    """One line per request (method, path, status); the caller's keys that routing.endpoint
    appends (tenant, user) are dropped after it, so the next request on this Lambda has none."""
    try:
        response = get_response(event)
        logger.info("request", extra={"method": event.method, "path": event.path, "status": response.status_code})
        return response
    finally:
        logger.remove_keys(["tenant", "user"])


@app.middleware("http")
def error_envelope(event, get_response):
    """Answers Chalice gives before a view runs (405, 415, a download without Accept) in the envelope,
    its message in the language of Accept-Language (zh or en)."""
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    return routing.in_envelope(get_response(event), error_catalogue.language(headers.get("accept-language")))


@app.middleware("all")
def flush_metrics(event, get_response):
    """Every invocation (HTTP, stream, schedule) publishes its business metrics once."""
    try:
        return get_response(event)
    finally:
        if metrics.metric_set:
            metrics.flush_metrics()
        metrics.clear_metrics()  # flush does not clear when metrics are disabled (local, tests)


@app.on_dynamodb_record(stream_arn=settings.stream_arn, batch_size=100, starting_position="TRIM_HORIZON")
def handle_stream(event):
    from chalicelib.entry import stream  # deployed, the function runs it directly (infra/table.yml)

    return stream.handle_stream(event.to_dict(), event.context)


# The stream function and the jobs are declared here so chalice generates them, their triggers,
# schedules and permissions; deployed, each runs its lean handler in chalicelib/entry instead
# (infra/table.yml sets their Handler), which imports none of the API above.
def _job(name: str, event):
    from chalicelib.entry import jobs as job_handlers

    return getattr(job_handlers, name)(event.to_dict(), event.context)


@app.schedule("cron(0 * * * ? *)", name="due_follow_ups")
def due_follow_ups(event):
    return _job("due_follow_ups", event)


@app.schedule("cron(5 * * * ? *)", name="birthdays")
def birthdays(event):
    return _job("birthdays", event)


@app.schedule("rate(1 minute)", name="scheduled_messages")
def scheduled_messages(event):
    return _job("scheduled_messages", event)


@app.schedule("cron(15 * * * ? *)", name="appointment_reminders")
def appointment_reminders(event):
    return _job("appointment_reminders", event)


@app.schedule("cron(25 * * * ? *)", name="pool_reclaim")
def pool_reclaim(event):
    return _job("pool_reclaim", event)


@app.schedule("cron(35 * * * ? *)", name="card_alerts")
def card_alerts(event):
    return _job("card_alerts", event)


@app.schedule("cron(45 * * * ? *)", name="report_check")
def report_check(event):
    return _job("report_check", event)


@app.schedule("rate(1 minute)", name="lead_imports")
def lead_imports(event):
    return _job("lead_imports", event)


@app.schedule("rate(1 minute)", name="staff_offboarding")
def staff_offboarding(event):
    return _job("staff_offboarding", event)
