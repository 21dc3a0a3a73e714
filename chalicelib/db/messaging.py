"""Templates, messages and their recipients, marketing caps, the outbox, job cursors.

A recipient moves queued → sending → sent | failed, every step an UpdateItem conditional
on the step before (and a sending lease), so two overlapping job runs can never both send
to one recipient: whoever claims it first sends it, the other's claim fails.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.update import Action

from chalicelib.db import cursor as cursors
from chalicelib.db import keys, transactions
from chalicelib.db.convert import values
from chalicelib.db.items import (
    CounterItem,
    JobCursorItem,
    LeadRefItem,
    MessageItem,
    OutboxItem,
    RecipientItem,
    TemplateItem,
)
from chalicelib.db.messaging_records import (
    MessageRecord,
    NewMessage,
    OutboxRecord,
    PlannedRecipient,
    RecipientRecord,
    TemplateData,
    TemplateRecord,
)
from chalicelib.db.paging import page_values, status_page

OUTBOX_TTL = timedelta(days=30)
COUNTER_TTL = timedelta(days=3)


# --- templates (tenant partition) ----------------------------------------------------


def put_template(tenant: str, data: TemplateData, *, new: bool) -> bool:
    """Creates (False if the id exists) or replaces (False if it is gone) a template."""
    item = TemplateItem(keys.tenant_pk(tenant), keys.template_sk(data["id"]), **data)
    condition = TemplateItem.PK.does_not_exist() if new else TemplateItem.PK.exists()
    try:
        item.save(condition=condition)
    except PutError as exc:
        if transactions.condition_failed(exc):
            return False
        raise
    return True


def get_template(tenant: str, template_id: str) -> TemplateRecord | None:
    try:
        return cast(TemplateRecord, values(TemplateItem.get(keys.tenant_pk(tenant), keys.template_sk(template_id))))
    except TemplateItem.DoesNotExist:
        return None


def list_templates(tenant: str) -> list[TemplateRecord]:
    query = TemplateItem.query(keys.tenant_pk(tenant), TemplateItem.SK.startswith(keys.TEMPLATE_PREFIX))
    return [cast(TemplateRecord, values(i)) for i in query]


def delete_template(tenant: str, template_id: str) -> None:
    TemplateItem(keys.tenant_pk(tenant), keys.template_sk(template_id)).delete()


# --- messages ------------------------------------------------------------------------


def _minute(at: str) -> str:
    return datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def _lead_refs(tenant: str, message_id: str, recipients: list[PlannedRecipient]) -> None:
    """A reference in each recipient's lead's partition (docs/privacy.md), so a lead's export
    and erasure find the messages it was sent without reading every message. Written before
    the recipients: a reference to a recipient never written is skipped by its readers."""
    pk = keys.message_pk(tenant, message_id)
    refs = [
        LeadRefItem(
            keys.lead_pk(tenant, lead_id),
            keys.message_ref_sk(message_id, data["n"]),
            ref_pk=pk,
            ref_sk=keys.recipient_sk(data["n"]),
        )
        for data in recipients
        if (lead_id := data.get("lead_id"))
    ]
    if refs:
        with LeadRefItem.batch_write() as batch:
            for ref in refs:
                batch.save(ref)


def create_message(
    tenant: str, header: NewMessage, recipients: list[PlannedRecipient], *, exclusive: bool = False
) -> bool:
    """The recipients first, then the header, which makes the message live: it alone carries
    the DUE keys, so a crash in between leaves nothing that would be sent.

    `exclusive` (a job's message under a deterministic id): nothing is written if the header
    exists, and each recipient only if absent, so an overlapping run can never reset a
    recipient that was already sent. Returns False when the message already existed."""
    pk = keys.message_pk(tenant, header["id"])
    if exclusive:
        if get_message(tenant, header["id"]) is not None:
            return False
        _lead_refs(tenant, header["id"], recipients)
        for data in recipients:
            recipient = RecipientItem(pk, keys.recipient_sk(data["n"]), **data)
            try:
                recipient.save(condition=RecipientItem.PK.does_not_exist())
            except PutError as exc:
                if not transactions.condition_failed(exc):
                    raise
    else:
        _lead_refs(tenant, header["id"], recipients)
        with RecipientItem.batch_write() as batch:
            for data in recipients:
                batch.save(RecipientItem(pk, keys.recipient_sk(data["n"]), **data))
    item = MessageItem(pk, keys.MESSAGE_SK, **header)
    item.GSI1PK, item.GSI1SK = keys.messages_of(tenant), keys.sort_key(header["created_at"], header["id"])
    if header["queued"]:
        item.DUEPK, item.DUESK = keys.message_due(_minute(header["send_at"]), pk)
    try:
        item.save(condition=MessageItem.PK.does_not_exist())
    except PutError as exc:
        if exclusive and transactions.condition_failed(exc):
            return False
        raise
    return True


def create_message_once(tenant: str, header: NewMessage, recipients: list[PlannedRecipient]) -> bool:
    """A job's message (a few recipients) under a deterministic id, in one transaction: a
    second run of the job finds the header and writes nothing (False)."""
    pk = keys.message_pk(tenant, header["id"])
    item = MessageItem(pk, keys.MESSAGE_SK, **header)
    item.GSI1PK, item.GSI1SK = keys.messages_of(tenant), keys.sort_key(header["created_at"], header["id"])
    if header["queued"]:
        item.DUEPK, item.DUESK = keys.message_due(_minute(header["send_at"]), pk)
    _lead_refs(tenant, header["id"], recipients[:98])
    try:
        with transactions.write() as tx:
            tx.save(item, condition=MessageItem.PK.does_not_exist(), label="message")
            for data in recipients[:98]:
                tx.save(RecipientItem(pk, keys.recipient_sk(data["n"]), **data), label="recipient")
    except transactions.TransactionConflict:
        return False
    return True


def get_message(tenant: str, message_id: str) -> MessageRecord | None:
    try:
        item = MessageItem.get(keys.message_pk(tenant, message_id), keys.MESSAGE_SK, consistent_read=True)
    except MessageItem.DoesNotExist:
        return None
    return cast(MessageRecord, values(item))


def existing_messages(tenant: str, message_ids: list[str]) -> set[str]:
    """Which of these messages exist (BatchGetItem, keys only): a job skips making what a
    run before it made. A read only: making a message once stays the conditional write."""
    wanted = [(keys.message_pk(tenant, m), keys.MESSAGE_SK) for m in dict.fromkeys(message_ids)]
    if not wanted:
        return set()
    prefix = keys.message_pk(tenant, "")
    return {item.PK[len(prefix) :] for item in MessageItem.batch_get(wanted, attributes_to_get=["PK"])}


def list_messages(
    tenant: str,
    *,
    created_by: str | None,
    limit: int,
    cursor: str | None,
    scope: str,
    campuses: list[str] | None = None,
) -> tuple[list[MessageRecord], str | None]:
    """Newest first; `created_by` and `campuses` (either matches) filter (None: all)."""
    condition = (MessageItem.created_by == created_by) if created_by else None
    for campus in campuses or ():
        if condition is None:  # campuses come only with created_by (a non-admin's): None | ... is a TypeError
            raise TypeError("campuses without created_by")
        condition = condition | MessageItem.campus_ids.contains(campus)
    result = MessageItem.gsi1.query(
        keys.messages_of(tenant),
        filter_condition=condition,
        scan_index_forward=False,
        limit=limit,
        last_evaluated_key=cursors.decode(cursor, scope),
    )
    items, next_cursor = page_values(result, MessageItem, scope)
    return cast(list[MessageRecord], items), next_cursor


def recipients_page(
    tenant: str, message_id: str, *, status: str | None, limit: int, cursor: str | None, scope: str
) -> tuple[list[RecipientRecord], str | None]:
    items, next_cursor = status_page(
        RecipientItem,
        keys.message_pk(tenant, message_id),
        RecipientItem.SK.startswith(keys.RECIPIENT_PREFIX),
        status=status,
        limit=limit,
        cursor=cursor,
        scope=scope,
    )
    return cast(list[RecipientRecord], items), next_cursor


def waiting(tenant: str, message_id: str) -> list[RecipientRecord]:
    """Recipients still to send or being sent (consistent: a job must see every claim)."""
    query = RecipientItem.query(
        keys.message_pk(tenant, message_id),
        RecipientItem.SK.startswith(keys.RECIPIENT_PREFIX),
        filter_condition=RecipientItem.status.is_in("queued", "sending"),
        consistent_read=True,
    )
    return [cast(RecipientRecord, values(i)) for i in query]


def claim(tenant: str, message_id: str, n: int, *, now: str, lease_until: str, cap: tuple[str, str, int] | None) -> str:
    """Takes a queued recipient for sending: "claimed", "gone" (someone else has it, or it is
    not due yet) or "capped" (the marketing cap for today is reached; it is then skipped).
    With a cap, the day's counter goes up in the same transaction, under `count < cap`."""
    item = RecipientItem(keys.message_pk(tenant, message_id), keys.recipient_sk(n))
    due = RecipientItem.next_try_at.does_not_exist() | (RecipientItem.next_try_at <= now)
    actions = [
        RecipientItem.status.set("sending"),
        RecipientItem.lease_until.set(lease_until),
        RecipientItem.attempts.add(1),
    ]
    try:
        with transactions.write() as tx:
            tx.update(item, actions, condition=(RecipientItem.status == "queued") & due, label="recipient")
            if cap is not None:
                destination, day, limit = cap
                counter = CounterItem(keys.frequency_pk(tenant, destination), day)
                counter_actions = [
                    CounterItem.count.add(1),
                    CounterItem.kind.set(CounterItem),
                    CounterItem.expires_at.set(int((datetime.now(UTC) + COUNTER_TTL).timestamp())),
                ]
                over = CounterItem.count.does_not_exist() | (CounterItem.count < limit)
                tx.update(counter, counter_actions, condition=over, label="cap")
    except transactions.TransactionConflict as exc:
        if exc.failed == ["cap"]:
            return "capped"
        return "gone"
    except transactions.TransactionBusy:
        return "gone"
    return "claimed"


def capped_today(tenant: str, destinations: list[str], day: str) -> dict[str, int]:
    """Marketing messages already sent today to each destination (for a dry run)."""
    found: dict[str, int] = {}
    wanted = [(keys.frequency_pk(tenant, d), day) for d in dict.fromkeys(destinations)]
    for item in CounterItem.batch_get(wanted):
        found[item.PK] = int(item.count or 0)
    return {d: found.get(keys.frequency_pk(tenant, d), 0) for d in destinations}


def settle(
    tenant: str,
    message_id: str,
    n: int,
    *,
    status: str,
    lease_until: str | None,
    fields: dict[str, Any],
    count: str | None,
) -> bool:
    """Moves a recipient out of sending (sent, failed, queued again) if this run still holds
    its lease, or out of queued (skipped); the header's count moves in the same transaction."""
    pk = keys.message_pk(tenant, message_id)
    item = RecipientItem(pk, keys.recipient_sk(n))
    actions = [RecipientItem.status.set(status)]
    for name, value in fields.items():
        attr = getattr(RecipientItem, name)
        actions.append(attr.set(value) if value is not None else attr.remove())
    if lease_until is None:
        condition = RecipientItem.status == "queued"
    else:
        condition = (RecipientItem.status == "sending") & (RecipientItem.lease_until == lease_until)
    try:
        with transactions.write() as tx:
            tx.update(item, actions, condition=condition, label="recipient")
            if count:
                header = MessageItem(pk, keys.MESSAGE_SK)
                # every count it moves to (sent, failed, skipped) leaves the queue
                tx.update(header, [getattr(MessageItem, count).add(1), MessageItem.queued.add(-1)], label="header")
    except (transactions.TransactionConflict, transactions.TransactionBusy):
        return False
    return True


def add_skip_reason(tenant: str, message_id: str, reason: str) -> None:
    header = MessageItem(keys.message_pk(tenant, message_id), keys.MESSAGE_SK)
    path = MessageItem.skipped_by_reason[reason]
    header.update(actions=[path.set((path | 0) + 1)])  # `|`: if_not_exists


def set_due(tenant: str, message_id: str, minute: str | None) -> None:
    """Files the message under the minute its next recipient is due, or takes it off the
    DUE index when nothing waits."""
    pk = keys.message_pk(tenant, message_id)
    header = MessageItem(pk, keys.MESSAGE_SK)
    actions: list[Action]
    if minute is None:
        actions = [MessageItem.DUEPK.remove(), MessageItem.DUESK.remove()]
    else:
        due_pk, due_sk = keys.message_due(minute, pk)
        actions = [MessageItem.DUEPK.set(due_pk), MessageItem.DUESK.set(due_sk)]
    try:
        header.update(actions=actions, condition=MessageItem.PK.exists())
    except UpdateError as exc:
        if not transactions.condition_failed(exc):
            raise


def due_messages(minute: str) -> list[tuple[str, str]]:
    """(tenant, message id) of every message due in a UTC minute, every tenant: 4 Queries."""
    from chalicelib.db import due as due_db

    found = []
    for tenant, item in due_db.items("SMS", minute):
        prefix = keys.message_pk(tenant, "")
        if item.PK.startswith(prefix):
            found.append((tenant, item.PK[len(prefix) :]))
    return found


# --- the outbox ----------------------------------------------------------------------


def put_outbox(tenant: str, data: dict[str, Any]) -> None:
    """The entry, and first (for its lead's export and erasure, docs/privacy.md) a reference in
    the lead's partition that expires with it."""
    item = OutboxItem(keys.outbox_pk(tenant), keys.sort_key(data["at"], data["id"]), **data)
    item.expires_at = int((datetime.now(UTC) + OUTBOX_TTL).timestamp())
    if data.get("lead_id"):
        ref = LeadRefItem(
            keys.lead_pk(tenant, data["lead_id"]), keys.outbox_ref_sk(item.SK), ref_pk=item.PK, ref_sk=item.SK
        )
        ref.expires_at = item.expires_at
        ref.save()
    item.save()


def outbox_page(tenant: str, *, limit: int, cursor: str | None, scope: str) -> tuple[list[OutboxRecord], str | None]:
    result = OutboxItem.query(
        keys.outbox_pk(tenant), scan_index_forward=False, limit=limit, last_evaluated_key=cursors.decode(cursor, scope)
    )
    items, next_cursor = page_values(result, OutboxItem, scope)
    return cast(list[OutboxRecord], items), next_cursor


# --- job cursors ---------------------------------------------------------------------


def job_cursor(job: str) -> str | None:
    try:
        return JobCursorItem.get(keys.JOB_CURSOR_PK, job, consistent_read=True).bucket
    except JobCursorItem.DoesNotExist:
        return None


def advance_job_cursor(job: str, bucket: str) -> None:
    """Moves a job's cursor forward (never back: an older, slower run cannot rewind it)."""
    item = JobCursorItem(keys.JOB_CURSOR_PK, job)
    try:
        item.update(
            actions=[JobCursorItem.bucket.set(bucket), JobCursorItem.kind.set(JobCursorItem)],
            condition=JobCursorItem.bucket.does_not_exist() | (JobCursorItem.bucket < bucket),
        )
    except UpdateError as exc:
        if not transactions.condition_failed(exc):
            raise
