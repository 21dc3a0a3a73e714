"""Lead imports (批量导入客户): the record of each upload, its lease while a job works on it,
and the writes of its leads (phone claims, batches of items, the consultants' counters)."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from typing import Any, cast

from botocore.config import Config
from botocore.exceptions import ClientError
from pynamodb.attributes import NumberAttribute
from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.db import config as config_db
from chalicelib.db import due, keys, telemetry, transactions
from chalicelib.db.base import BaseItem, connection
from chalicelib.db.convert import values
from chalicelib.db.items import BirthdayItem, ImportItem, LeadLinkItem, PhoneItem, UserItem
from chalicelib.db.leads import NewLead, lead_item, retain_marker, with_origin
from chalicelib.db.paging import query_partitions


def _item(tenant: str, import_id: str) -> ImportItem:
    return ImportItem(keys.import_pk(tenant, import_id), keys.IMPORT_SK)


def create(tenant: str, data: dict[str, Any], *, queued: bool) -> None:
    item = ImportItem(keys.import_pk(tenant, data["id"]), keys.IMPORT_SK, **data)
    item.GSI1PK, item.GSI1SK = keys.imports_scope(tenant), keys.sort_key(data["created_at"], data["id"])
    if queued:
        item.DUEPK, item.DUESK = keys.import_due(item.PK)
    item.save(condition=ImportItem.PK.does_not_exist())


def get(tenant: str, import_id: str) -> dict[str, Any] | None:
    try:
        return values(ImportItem.get(keys.import_pk(tenant, import_id), keys.IMPORT_SK, consistent_read=True))
    except ImportItem.DoesNotExist:
        return None


def list_page(tenant: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    page = query_partitions(
        ImportItem,
        "GSI1",
        [keys.imports_scope(tenant)],
        scope=f"{tenant}:imports",
        limit=limit,
        cursor=cursor,
        ascending=False,
    )
    return [values(i) for i in page.items], page.cursor


def waiting() -> Iterator[tuple[str, str]]:
    """(tenant, import id) of every import waiting for the job, every tenant."""
    for tenant, item in due.items("IMPORT", "queued"):
        # the IMPORT bucket holds only imports (create() files them with keys.import_due)
        yield tenant, cast(ImportItem, item).id


def _conditional(tenant: str, import_id: str, actions: list[Action], condition: Condition) -> bool:
    """The update if its condition holds; False if it does not."""
    try:
        _item(tenant, import_id).update(actions=actions, condition=condition)
    except UpdateError as exc:
        if transactions.condition_failed(exc):
            return False
        raise
    return True


def _held_by(owner: str) -> Condition:
    # an And; pynamodb leaves Condition.__and__ unannotated (Any), hence the annotated name
    held: Condition = (ImportItem.status == "running") & (ImportItem.lease_owner == owner)
    return held


def claim(tenant: str, import_id: str, now: str, lease_until: str, owner: str) -> bool:
    """Takes the import for one run (`owner`, a token of that run): it must be queued, or
    running with its lease passed (a run that died). Two overlapping runs cannot both take it."""
    actions: list[Action] = [
        ImportItem.status.set("running"),
        ImportItem.started_at.set(now),
        ImportItem.lease_until.set(lease_until),
        ImportItem.lease_owner.set(owner),
        ImportItem.attempts.add(1),
    ]
    condition = (ImportItem.status == "queued") | ((ImportItem.status == "running") & (ImportItem.lease_until < now))
    return _conditional(tenant, import_id, actions, condition)


def renew(tenant: str, import_id: str, owner: str, lease_until: str, rows_done: int | None = None) -> bool:
    """The heartbeat: the lease pushed on (and the rows settled so far, for the uploader's
    progress bar), only while `owner` still holds it. False: another run took the import over
    (or finished it), and `owner` must write nothing more."""
    actions: list[Action] = [ImportItem.lease_until.set(lease_until)]
    if rows_done is not None:
        actions.append(ImportItem.rows_done.set(rows_done))
    return _conditional(tenant, import_id, actions, _held_by(owner))


def finish(
    tenant: str, import_id: str, *, owner: str, status: str, at: str, result: dict[str, Any] | None, error: str | None
) -> bool:
    """Done (or failed): the result kept, the import off the DUE index. Only by the run
    holding the lease (False if another run took it over: that run reports)."""
    actions: list[Action] = [
        ImportItem.status.set(status),
        ImportItem.finished_at.set(at),
        ImportItem.lease_until.remove(),
        ImportItem.lease_owner.remove(),
        ImportItem.DUEPK.remove(),
        ImportItem.DUESK.remove(),
    ]
    if result is not None:
        actions.append(ImportItem.result.set(result))
    if error is not None:
        actions.append(ImportItem.error.set(error))
    return _conditional(tenant, import_id, actions, _held_by(owner))


# --- writing an import's leads (chalicelib.domain.imports.writer) ---------------------
#
# No transaction per row: a phone is claimed by a conditional PutItem (1 WRU), the rows'
# items go in BatchWriteItem calls (25 a call), and a claim whose lead is not written after
# all is taken back. See docs/data-model.md, "Lead import".

BATCH_ITEMS = 25  # BatchWriteItem's limit
UNPROCESSED_PAUSES = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)  # jittered pauses before sending leftovers again

# a claim is the import's own when it is new or names the same first lead (a rerun's)
_CLAIM_CONDITION = "attribute_not_exists(PK) OR contains(lead_ids, :lead)"


class WriteBusy(transactions.TransactionBusy):
    """DynamoDB left part of a family's items unwritten for seconds while it wrote the rest:
    the run stops, and the next run of the import completes the family."""


class ImportOwnerItem(BaseItem, discriminator="ImportOwner"):
    """In an import's partition (SK `OWNER#<user id>`): how many of the consultant's leads
    the import has counted on their counter (owned_leads), so a rerun counts none twice."""

    counted = NumberAttribute()


def _owner_sk(owner_id: str) -> str:
    return f"OWNER#{owner_id}"


PARALLEL = 32  # calls the import has in flight at once (a claim waits on the network, not the CPU)
_own: dict[str, Any] = {}


def _client() -> Any:
    """A client like the shared one (same session, endpoint, retries, telemetry) with a pool
    of connections for PARALLEL calls at once: the shared client keeps 10, and a call past
    them would open and drop a connection each time."""
    shared = connection()
    base = shared.client
    client = _own.get("client")
    if client is None or _own.get("base") is not base:
        config = base.meta.config.merge(Config(max_pool_connections=PARALLEL + 4))
        client = shared.session.create_client(
            "dynamodb", base.meta.region_name, endpoint_url=base.meta.endpoint_url, config=config
        )
        telemetry.attach(client)
        _own.update(client=client, base=base)
    return client


def _table() -> str:
    return str(BaseItem._get_connection().table_name)


def claim_phone(tenant: str, e164: str, family_id: str, lead_ids: list[str]) -> bool:
    """Claims the number for `lead_ids` (the leads of one family that share it): one
    conditional PutItem. True when the claim is theirs (new, or written by an earlier run of
    the import: it names the same first lead); False when another lead holds the number."""
    item = PhoneItem(keys.phone_pk(tenant, e164), keys.UNIQUE_SK, family_id=family_id, lead_ids=lead_ids)
    try:
        _client().put_item(
            TableName=_table(),
            Item=item.serialize(),
            ConditionExpression=_CLAIM_CONDITION,
            ExpressionAttributeValues={":lead": {"S": lead_ids[0]}},
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True


def release_phone(tenant: str, e164: str, lead_id: str) -> None:
    """Takes back a claim of the import (compensation: its lead was not written), only while
    it still names `lead_id`."""
    try:
        _client().delete_item(
            TableName=_table(),
            Key={"PK": {"S": keys.phone_pk(tenant, e164)}, "SK": {"S": keys.UNIQUE_SK}},
            ConditionExpression="contains(lead_ids, :lead)",
            ExpressionAttributeValues={":lead": {"S": lead_id}},
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise


def lead_items(tenant: str, new: NewLead) -> tuple[BaseItem, list[BaseItem]]:
    """A new lead's item (its history entry kept on it: `with_origin`) and the items that go
    with it: its links to the siblings created before it (both ways), its birthday marker."""
    lead = with_origin(new.lead, new.entry)
    pk = keys.lead_pk(tenant, lead.id)
    more: list[BaseItem] = []
    for sibling in new.siblings:
        more.append(LeadLinkItem(pk, keys.sibling_sk(sibling), other_id=sibling))
        more.append(LeadLinkItem(keys.lead_pk(tenant, sibling), keys.sibling_sk(lead.id), other_id=lead.id))
    if lead.birthday and lead.deleted_at is None:
        marker = BirthdayItem(pk, keys.BIRTHDAY_SK, month_day=lead.birthday.strftime("%m-%d"))
        marker.DUEPK, marker.DUESK = keys.birthday_due(marker.month_day, pk)
        more.append(marker)
    # the retention job's marker, while the school has the setting (docs/privacy.md)
    if config_db.retention_on(tenant, lead.updated_at.timestamp()):
        more.append(retain_marker(tenant, lead.id, lead.updated_at))
    return lead_item(tenant, lead), more


Key = tuple[str, str]


def key_of(item: BaseItem) -> Key:
    return (item.PK, item.SK)


def _send(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One BatchWriteItem; the requests DynamoDB left unprocessed."""
    table = _table()
    answer = _client().batch_write_item(RequestItems={table: requests})
    left: list[dict[str, Any]] = (answer.get("UnprocessedItems") or {}).get(table, [])
    return left


def _request_key(request: dict[str, Any]) -> Key:
    if "PutRequest" in request:
        item = request["PutRequest"]["Item"]
        return (item["PK"]["S"], item["SK"]["S"])
    key = request["DeleteRequest"]["Key"]
    return (key["PK"]["S"], key["SK"]["S"])


def batch_write(puts: Sequence[BaseItem] = (), deletes: Sequence[Key] = ()) -> set[Key]:
    """Puts and deletes (no conditions) in BatchWriteItem calls of 25, sent one after the
    other (the caller runs several of these at once); what DynamoDB leaves unprocessed is
    sent again after jittered, doubling pauses (UNPROCESSED_PAUSES, about 3 s in all). The
    keys still unwritten after that (nothing, unless DynamoDB throttles for seconds)."""
    requests = [{"PutRequest": {"Item": item.serialize()}} for item in puts]
    requests += [{"DeleteRequest": {"Key": {"PK": {"S": pk}, "SK": {"S": sk}}}} for pk, sk in deletes]
    left: list[dict[str, Any]] = []
    for start in range(0, len(requests), BATCH_ITEMS):
        left += _send(requests[start : start + BATCH_ITEMS])
    for pause in UNPROCESSED_PAUSES:
        if not left:
            break
        time.sleep(random.uniform(pause / 2, pause))  # noqa: S311 - jitter, not a secret
        again, left = left, []
        for start in range(0, len(again), BATCH_ITEMS):
            left += _send(again[start : start + BATCH_ITEMS])
    return {_request_key(r) for r in left}


def owner_counted(tenant: str, import_id: str, owner_id: str) -> int | None:
    """How many of the consultant's leads the import has counted (None: not yet)."""
    try:
        item = ImportOwnerItem.get(keys.import_pk(tenant, import_id), _owner_sk(owner_id), consistent_read=True)
    except ImportOwnerItem.DoesNotExist:
        return None
    return int(item.counted)


def owners_counted(tenant: str, import_id: str) -> dict[str, int]:
    """Every consultant the import has counted leads for, and how many (one Query)."""
    prefix = _owner_sk("")
    items = ImportOwnerItem.query(keys.import_pk(tenant, import_id), ImportOwnerItem.SK.startswith(prefix))
    return {item.SK[len(prefix) :]: int(item.counted) for item in items}


def owned_leads(tenant: str, owner_id: str) -> int:
    """The consultant's counter of leads held (0 for a user gone)."""
    try:
        user = UserItem.get(keys.users_pk(tenant), keys.user_sk(owner_id), consistent_read=True)
    except UserItem.DoesNotExist:
        return 0
    return int(user.owned_leads or 0)


def count_owner(tenant: str, import_id: str, owner_id: str, count: int, cap: int) -> bool | None:
    """One transaction: the consultant's counter moved by `count` (staying within `cap`)
    and the import's record of it. True: counted. False: the counter moved meanwhile and
    `count` no longer fits (read it again). None: a run of this import counted it already
    (read owner_counted)."""
    user = UserItem(keys.users_pk(tenant), keys.user_sk(owner_id))
    marker = ImportOwnerItem(keys.import_pk(tenant, import_id), _owner_sk(owner_id), counted=count)
    try:
        with transactions.write() as tx:
            within_cap = UserItem.owned_leads.does_not_exist() | (UserItem.owned_leads <= cap - count)
            tx.update(
                user,
                actions=[UserItem.owned_leads.add(count)],
                condition=(UserItem.PK.exists() & within_cap) if count else UserItem.PK.exists(),
                label="owner",
            )
            tx.save(marker, condition=ImportOwnerItem.PK.does_not_exist(), label="counted")
    except transactions.TransactionConflict as exc:
        return None if "counted" in exc.failed else False
    return True


def settle_owner(tenant: str, import_id: str, owner_id: str, counted: int, written: int) -> None:
    """After the writes: the leads counted but not written (rows rejected meanwhile) given
    back to the consultant's counter, once (only while the record still says `counted`)."""
    if written >= counted:
        return
    user = UserItem(keys.users_pk(tenant), keys.user_sk(owner_id))
    marker = ImportOwnerItem(keys.import_pk(tenant, import_id), _owner_sk(owner_id))
    try:
        with transactions.write() as tx:
            tx.update(user, actions=[UserItem.owned_leads.add(written - counted)], condition=UserItem.PK.exists())
            tx.update(
                marker, actions=[ImportOwnerItem.counted.set(written)], condition=ImportOwnerItem.counted == counted
            )
    except transactions.TransactionConflict:
        return  # settled by another run, or the user is gone
