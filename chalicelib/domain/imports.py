"""Lead import (批量导入客户): a spreadsheet of leads into the school, row by row.

Upload, then a job, then a result. `POST /leads/imports` takes the .xlsx or .csv as the
request body, checks its header and size, stores it, and imports it on the spot when it is
small; a larger file waits (a minute at most) for the `lead_imports` job, which has the
15 minutes of one Lambda invocation where API Gateway gives a request 29 seconds.

Every row is checked: the learner's name and a phone are required; phones are normalised
with the school's region; dates may be written 2015-03-08, 2015/3/8, 2015.3.8, 20150308 or
2015年3月8日 (or be real Excel dates); dictionary values (source, status, importance,
stage) may be the school's label (上门) or the key (walk_in, "Walk in"). A row whose
learner and phone repeat an earlier row is a duplicate; a different learner on an earlier
row's phone is a sibling and joins that family. A phone that already belongs to a lead of
the school rejects the row, so running the same file again imports nothing new.

Good rows are written in transactions of up to 100 items (a family never split), several
at once; a row is written whole or not at all. Lead ids are derived from the import and
the row, so a run that dies and is taken up again finds the rows it already wrote; a run
holds the import under a lease of a minute kept alive by a heartbeat (import_lease), so a
dead run is taken over within about two minutes. Rejected
rows come back as an error sheet: the row number, the reason, the row as it was.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from chalicelib import sheets
from chalicelib.db import config as config_db
from chalicelib.db import imports as imports_db
from chalicelib.db import keys, transactions
from chalicelib.db import leads as leads_db
from chalicelib.db import schedule as schedule_db
from chalicelib.db import users as users_db
from chalicelib.db.leads import NewLead
from chalicelib.domain import clock, ids, leads, phones, retry
from chalicelib.domain import config as tenant_config
from chalicelib.domain.auth import Principal
from chalicelib.domain.import_lease import Lease, LeaseLost
from chalicelib.domain.tenants import get_tenant
from chalicelib.errors import ForbiddenError, NotFoundError, ValidationFailedError
from chalicelib.observability import logger
from chalicelib.schemas.common import INPUT, Page, control_character
from chalicelib.schemas.imports import ImportCounts, ImportOut, ImportQuery
from chalicelib.schemas.leads import Guardian, HistoryEntry, Lead, LeadCreateRequest, Phone
from chalicelib.schemas.settings import DictionaryKind
from chalicelib.schemas.users import Role
from chalicelib.storage import store

MAX_ROWS = 10_000
INLINE_ROWS = 300  # up to this many rows are imported within the upload request
MAX_ATTEMPTS = 3  # runs that broke before an import is given up
BEAT_ROWS = 500  # while checking rows, the lease's heartbeat is offered every this many
MAX_ITEMS = 100  # DynamoDB's limit of items in one transaction
WRITERS = 8  # transactions in flight at once
BUSY_TRIES = 6


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    example: str
    aliases: tuple[str, ...] = ()
    required: bool = False


COLUMNS = (
    Column("name", "姓名", "Name", "王小明", ("学员姓名", "学员", "learner", "student"), required=True),
    Column("gender", "性别", "Gender", "男"),
    Column("birthday", "生日", "Birthday", "2019-05-20", ("出生日期", "date of birth")),
    Column("guardian", "家长", "Guardian", "王妈妈", ("家长姓名", "联系人", "parent")),
    Column("relation", "关系", "Relation", "母亲"),
    Column("phone", "电话", "Phone", "138 0013 8000", ("手机", "手机号", "联系电话", "mobile"), required=True),
    Column("other_phones", "其他电话", "Other phones", "", ("other phone",)),
    Column("email", "邮箱", "Email", "", ("e-mail", "电子邮件")),
    Column("school", "学校", "School", "南山实验幼儿园"),
    Column("grade", "年级", "Grade", "中班"),
    Column("source", "来源", "Source", "转介绍"),
    Column("status", "状态", "Status", "潜在"),
    Column("importance", "重要程度", "Importance", "一般"),
    Column("stage", "阶段", "Stage", ""),
    Column("tags", "标签", "Tags", "乐高, 周末"),
    Column("owner", "顾问", "Consultant", "", ("课程顾问", "owner")),
    Column("notes", "备注", "Notes", "朋友介绍，想周末上课"),
)
DICTIONARY_COLUMNS = {
    "source": DictionaryKind.sources,
    "status": DictionaryKind.statuses,
    "importance": DictionaryKind.importance,
    "stage": DictionaryKind.stages,
}
GENDERS = {
    "male": ("男", "male", "m", "boy", "男孩", "男生"),
    "female": ("女", "female", "f", "girl", "女孩", "女生"),
    "other": ("其他", "other"),
}
POOL_WORDS = ("公海", "pool", "public pool")
DATE_PATTERNS = (
    re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
SPLIT = re.compile(r"[,，;；、/|]+|\s{2,}")


def _norm(text: Any) -> str:
    """Headers and choices compare without case, spaces, punctuation or the * of required."""
    return re.sub(r"[\W_]+", "", str(text or "").casefold())


def _text(value: Any) -> str:
    """A cell as text: 13800138000.0 -> '13800138000', dates as ISO, full-width spaces gone."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).replace("\u3000", " ").strip()


# --- who may import ------------------------------------------------------------------


def _may_import(principal: Principal) -> tenant_config.TenantConfig:
    config = tenant_config.load(principal.tenant)
    if principal.role.value not in config.lead_settings.import_roles:
        raise ForbiddenError("Your school does not let your role import leads.", code="IMPORT_FORBIDDEN")
    return config


# --- the template --------------------------------------------------------------------


EXAMPLE_EN = {"name": "Wang Xiaoming", "gender": "male", "guardian": "Mrs Wang", "relation": "mother",
              "school": "", "grade": "", "source": "referral", "status": "potential", "importance": "normal",
              "tags": "lego, weekend", "notes": "Wants weekend classes"}  # fmt: skip


def template(principal: Principal, lang: str) -> bytes:
    """The columns (required ones starred), an example row, and a sheet of the school's
    choices for the dictionary columns."""
    config = _may_import(principal)
    zh = lang == "zh"
    header = [(c.zh if zh else c.en) + (" *" if c.required else "") for c in COLUMNS]
    example = [c.example if zh else EXAMPLE_EN.get(c.key, c.example) for c in COLUMNS]
    choices = [
        [column.zh if zh else column.en, entry.label, entry.key]
        for column in COLUMNS
        if column.key in DICTIONARY_COLUMNS
        for entry in config.dictionaries[DICTIONARY_COLUMNS[column.key]].entries
        if not entry.retired
    ]
    return sheets.workbook(
        sheets.Tab("导入 Import" if zh else "Import", header, [example], [14] * len(COLUMNS)),
        sheets.Tab("选项 Choices" if zh else "Choices", ["列" if zh else "Column", "名称 Label", "Key"], choices),
    )


# --- reading the file ----------------------------------------------------------------


@dataclass
class Table:
    header: list[str]
    columns: dict[str, int]  # column key -> index
    ignored: list[str]
    rows: list[tuple[int, list[Any]]]  # (spreadsheet row number, cells) of non-blank rows
    blank: int


def _blank(cells: Iterable[Any]) -> bool:
    return all(_text(c) == "" for c in cells)


def read_table(data: bytes) -> Table:
    """The header (the first row with anything in it) mapped to our columns, and the
    non-blank rows, read lazily: more than MAX_ROWS is refused as soon as it is seen, and a
    long run of blank rows ends the sheet (a stray cell far below costs nothing)."""
    raw = enumerate(sheets.read(data), start=1)
    found = next(((n, row) for n, row in raw if not _blank(row)), None)
    if found is None:
        raise ValidationFailedError(
            "The file has no header row.", code="UNREADABLE_FILE", details=[{"field": "file", "message": "empty"}]
        )
    header = [_text(h) for h in found[1]]
    names: dict[str, str] = {}
    for column in COLUMNS:
        for name in (column.zh, column.en, column.zh + column.en, *column.aliases):
            names[_norm(name)] = column.key
    columns, ignored = {}, []
    for index, title in enumerate(header):
        key = names.get(_norm(title))
        if key and key not in columns:
            columns[key] = index
        elif title:
            ignored.append(title)
    missing = [f"{c.zh} {c.en}" for c in COLUMNS if c.required and c.key not in columns]
    if missing:
        raise ValidationFailedError(
            "The header row lacks: " + ", ".join(missing) + ". Start from GET /leads/import-template.",
            code="MISSING_COLUMNS",
            details=[{"field": "header", "message": f"missing {m}"} for m in missing],
        )
    rows, blank, run = [], 0, 0
    for number, cells in raw:
        if not _blank(cells):
            blank, run = blank + run, 0  # blank rows count only between rows with data
            rows.append((number, list(cells)))
            if len(rows) > MAX_ROWS:
                raise ValidationFailedError(
                    f"The file has more than {MAX_ROWS:,} rows; import at most {MAX_ROWS:,} at a time.",
                    code="TOO_MANY_ROWS",
                    details=[{"field": "file", "message": "too many rows"}],
                )
        else:
            run += 1
            if run > sheets.MAX_BLANK_RUN:
                break
    return Table(header=header, columns=columns, ignored=ignored, rows=rows, blank=blank)


# --- checking one row ----------------------------------------------------------------


@dataclass
class Row:
    number: int  # as the spreadsheet shows it
    cells: list[Any]
    values: dict[str, Any] = field(default_factory=dict)
    phones: list[tuple[str, str]] = field(default_factory=list)  # (e164, as written)
    owner: Any = None  # a UserRecord, or None: the default owner
    to_pool: bool = False
    reasons: list[str] = field(default_factory=list)
    kind: str = ""  # why rejected: invalid, duplicate_in_file, already_in_school, conflict


def _label(key: str) -> str:
    column = next(c for c in COLUMNS if c.key == key)
    return f"{column.zh} {column.en}"


def _date(text: str) -> date:
    for pattern in DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            return date(*(int(g) for g in match.groups()))  # ValueError for 2015-13-45
    raise ValueError(text)


def _choices(config: tenant_config.TenantConfig) -> dict[str, dict[str, str]]:
    """Per dictionary column: every way of writing a live entry (label, key) -> its key."""
    out = {}
    for column, kind in DICTIONARY_COLUMNS.items():
        ways = {}
        for entry in config.dictionaries[kind].entries:
            if not entry.retired:
                ways.setdefault(_norm(entry.label), entry.key)
                ways.setdefault(_norm(entry.key), entry.key)
        out[column] = ways
    return out


@dataclass
class Context:
    tenant: str
    region: str
    choices: dict[str, dict[str, str]]
    owners: dict[str, Any]  # normalised username / display name -> UserRecord
    today: date  # in the school's time zone: no birthday after it


def _check(row: Row, table: Table, ctx: Context) -> None:
    def cell(key: str) -> str:
        index = table.columns.get(key)
        return _text(row.cells[index]) if index is not None and index < len(row.cells) else ""

    def bad(key: str, message: str) -> None:
        row.reasons.append(f"{_label(key)}: {message}")

    for key, index in table.columns.items():  # as typed in by hand: no control characters
        raw = row.cells[index] if index < len(row.cells) else None
        found = control_character(raw) if isinstance(raw, str) else None
        if found:
            bad(key, f"含控制字符 contains a control character ({found})")
    values: dict[str, Any] = {"name": cell("name")}
    if not values["name"]:
        bad("name", "必填 required")
    gender = _norm(cell("gender"))
    if gender:
        values["gender"] = next((g for g, words in GENDERS.items() if gender in {_norm(w) for w in words}), None)
        if values["gender"] is None:
            bad("gender", f"“{cell('gender')}” 应为 男/女 (male/female)")
    index = table.columns.get("birthday")
    raw_birthday = row.cells[index] if index is not None and index < len(row.cells) else None
    if isinstance(raw_birthday, datetime | date):
        values["birthday"] = raw_birthday.date() if isinstance(raw_birthday, datetime) else raw_birthday
    elif cell("birthday"):
        try:
            values["birthday"] = _date(cell("birthday"))
        except ValueError:
            bad("birthday", f"“{cell('birthday')}” 不是日期 is not a date (2019-05-20)")
    if values.get("birthday") and not date(1900, 1, 1) <= values["birthday"] <= ctx.today:
        bad("birthday", f"“{values['birthday']}” 不在合理范围 is out of range")
    for key in ("school", "grade", "notes"):
        if cell(key):
            values[key] = cell(key)
    if cell("tags"):
        values["tags"] = [t.strip() for t in SPLIT.split(cell("tags")) if t.strip()]
    for key in DICTIONARY_COLUMNS:
        written = cell(key)
        if written:
            values[key] = ctx.choices[key].get(_norm(written))
            if values[key] is None:
                bad(key, f"“{written}” 不是学校的选项 is not one of the school's choices")
    written_phones = [cell("phone"), *SPLIT.split(cell("other_phones"))]
    for raw in (p.strip() for p in written_phones):
        if not raw:
            continue
        try:
            e164 = phones.normalise(raw, ctx.region)
        except ValidationFailedError:
            bad("phone" if raw == cell("phone") else "other_phones", f"“{raw}” 不是电话号码 is not a phone number")
            continue
        if e164 not in {p for p, _ in row.phones}:
            row.phones.append((e164, raw))
    if not cell("phone"):
        bad("phone", "必填 required")
    owner = _norm(cell("owner"))
    if owner in {_norm(w) for w in POOL_WORDS}:
        row.to_pool = True
    elif owner:
        row.owner = ctx.owners.get(owner)
        if row.owner is None:
            bad("owner", f"“{cell('owner')}” 不是本校区的顾问 is not a consultant of the campus")
    guardian = {"name": cell("guardian") or "家长", "relation": cell("relation") or None}
    guardian["phones"] = [raw for _, raw in row.phones]
    if cell("email"):
        guardian["email"] = cell("email")
    values["guardians"] = [guardian]
    if not row.reasons:
        try:  # lengths and formats, exactly as a lead typed in by hand
            LeadCreateRequest.model_validate({**values, "to_pool": True}, context=INPUT)
        except ValidationError as exc:
            for err in exc.errors(include_url=False, include_context=False, include_input=False):
                where = ".".join(str(p) for p in err["loc"])
                key = "email" if where.endswith("email") else where.split(".")[0]
                key = key if any(c.key == key for c in COLUMNS) else "guardian"
                bad(key, err["msg"])
    row.values = values
    if row.reasons:
        row.kind = "invalid"


def _reject(row: Row, kind: str, reason: str) -> None:
    row.kind = kind
    row.reasons.append(reason)


# --- planning: duplicates and families ----------------------------------------------


@dataclass
class Family:
    rows: list[Row] = field(default_factory=list)

    @property
    def phones(self) -> set[str]:
        return {p for row in self.rows for p, _ in row.phones}


def _families(rows: list[Row], claimed: set[str]) -> list[Family]:
    """Rows with a phone the school has are rejected; a row repeating an earlier row's
    learner on its phone is a duplicate; another learner on it is a sibling."""
    by_phone: dict[str, Family] = {}
    families: list[Family] = []
    for row in rows:
        if row.kind:
            continue
        taken = [p for p, _ in row.phones if p in claimed]
        if taken:
            _reject(row, "already_in_school", f"{_label('phone')}: {phones.mask(taken[0])} 已是本校客户 already a lead")
            continue
        found = {id(by_phone[p]): by_phone[p] for p, _ in row.phones if p in by_phone}
        if len(found) > 1:
            numbers = sorted(str(f.rows[0].number) for f in found.values())
            _reject(row, "invalid", f"{_label('phone')}: 属于不同家庭 belongs to rows {', '.join(numbers)}")
            continue
        family = next(iter(found.values()), None)
        if family is not None:
            twin = next((r for r in family.rows if _norm(r.values["name"]) == _norm(row.values["name"])), None)
            if twin is not None:
                _reject(row, "duplicate_in_file", f"与第 {twin.number} 行重复 duplicate of row {twin.number}")
                continue
        else:
            family = Family()
            families.append(family)
        family.rows.append(row)
        for p, _ in row.phones:
            by_phone[p] = family
    return families


def _lead_id(import_id: str, row: Row) -> str:
    """The same import and row always give the same lead id (a resumed run finds it)."""
    digest = hashlib.sha256(f"{import_id}:{row.number}".encode()).digest()
    value = int.from_bytes(digest[:16], "big") >> 2
    return ids.from_int(value)


@dataclass
class Job:
    """What one import needs while it writes."""

    record: dict[str, Any]
    tenant: str
    timezone: str
    config: tenant_config.TenantConfig
    default_owner: Any
    now: datetime
    lease: Lease | None = None  # the run's hold on the import (None: nothing to renew)

    def beat(self) -> None:
        """Between pieces of work: renews the lease when due; LeaseLost if it was taken."""
        if self.lease is not None:
            self.lease.beat()


def _new_leads(job: Job, family: Family) -> list[NewLead]:
    import_id = job.record["id"]
    lead_ids = [_lead_id(import_id, row) for row in family.rows]
    family_id = lead_ids[0]
    claimants: dict[str, list[str]] = {}
    for lead_id, row in zip(lead_ids, family.rows, strict=True):
        for e164, _ in row.phones:
            claimants.setdefault(e164, []).append(lead_id)
    out, claimed = [], set()
    for index, (lead_id, row) in enumerate(zip(lead_ids, family.rows, strict=True)):
        owner = None if row.to_pool else (row.owner or job.default_owner)
        values = row.values
        guardian = values["guardians"][0]
        lead = Lead(
            **{k: v for k, v in values.items() if k not in ("guardians", "tags", "status")},
            id=lead_id,
            guardians=[
                Guardian(
                    name=guardian["name"],
                    relation=guardian.get("relation"),
                    email=guardian.get("email"),
                    phones=[Phone(e164=e) for e, _ in row.phones],
                )
            ],
            tags=values.get("tags") or [],
            family_id=family_id,
            campus_id=job.record["campus_id"],
            owner_id=owner.id if owner else None,
            owner_name=owner.display_name if owner else None,
            owned_since=job.now if owner else None,
            status=values.get("status") or "potential",
            created_by=job.record["created_by"],
            created_at=job.now,
            updated_at=job.now,
        )
        lead = leads.protected_until(lead, job.config.lead_settings, job.timezone)
        new_phones = [e for e, _ in row.phones if e not in claimed]
        claimed.update(new_phones)
        entry = HistoryEntry(
            at=job.now,
            by=job.record["created_by"],
            action="imported",
            details={"import_id": import_id, "row": row.number},
        )
        out.append(
            NewLead(
                lead=lead,
                entry=entry,
                entry_id=lead_id,
                new_phones=new_phones,
                claimants={e: claimants[e] for e in new_phones},
                siblings=lead_ids[:index],
            )
        )
    return out


def _size(new: list[NewLead]) -> int:
    return sum(2 + len(n.new_phones) + 2 * len(n.siblings) + (1 if n.lead.birthday else 0) for n in new)


def _batches(job: Job, families: list[Family]) -> list[list[tuple[Family, list[NewLead]]]]:
    """Families packed into transactions of at most 100 items (owner counters included).
    A family too large for one transaction (many learners on one phone: sibling links grow
    with the square of their number) cannot be written whole and is refused."""
    batches, current, size = [], [], 0
    for family in families:
        new = _new_leads(job, family)
        need = _size(new)
        if need + 1 > MAX_ITEMS:
            for row in family.rows:
                _reject(row, "invalid", f"{_label('phone')}: 同一电话的学员过多 too many learners on one phone")
            continue
        owners = {n.lead.owner_id for pair in current for n in pair[1]} | {n.lead.owner_id for n in new}
        if current and size + need + len(owners) > MAX_ITEMS:
            batches.append(current)
            current, size = [], 0
        current.append((family, new))
        size += need
    if current:
        batches.append(current)
    return batches


def _write(job: Job, batch: list[tuple[Family, list[NewLead]]]) -> None:
    owners: dict[str, int] = {}
    new = [n for _, items in batch for n in items]
    for n in new:
        if n.lead.owner_id:
            owners[n.lead.owner_id] = owners.get(n.lead.owner_id, 0) + 1
    for attempt in range(BUSY_TRIES):
        try:
            leads_db.create_many(job.tenant, new, owners, job.config.lead_settings.max_leads_per_consultant, {})
            return
        except transactions.TransactionBusy:  # someone wrote one of these items at that moment
            if attempt == BUSY_TRIES - 1:
                raise
            retry.backoff(attempt)


def _mark_used(job: Job, families: list[Family]) -> None:
    """The dictionary values the file uses, marked once before the writes (not in each of
    the parallel transactions, where one item written by all would make them collide).
    Marking a value the import then fails to use only keeps it from being deleted."""
    used: dict[str, set[str]] = {}
    for row in (row for family in families for row in family.rows):
        values = {**row.values, "status": row.values.get("status") or "potential"}
        for kind, keys_used in tenant_config.check_lead_values(job.config, values, {}).items():
            used.setdefault(kind, set()).update(keys_used)
    for kind, keys_used in used.items():
        config_db.mark_used_now(job.tenant, kind, keys_used)


def _write_all(job: Job, batches: list[list[tuple[Family, list[NewLead]]]]) -> None:
    """Batches without owners run 8 at a time. Batches that move a consultant's counter run
    one after another: parallel transactions on the one counter item would collide."""
    owned, pooled = [], []
    for batch in batches:
        (owned if any(n.lead.owner_id for _, new in batch for n in new) else pooled).append(batch)
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        done = [pool.submit(lambda: [_write_batch(job, b) for b in owned])]
        done += [pool.submit(_write_batch, job, b) for b in pooled]
        for future in done:
            future.result()


def _write_batch(job: Job, batch: list[tuple[Family, list[NewLead]]]) -> None:
    """The batch in one transaction; if a condition fails, family by family, each family's
    rows then imported, found already written (a resumed run), or rejected with the reason.
    Nothing is written once the run's lease was taken over (the heartbeat raises LeaseLost)."""
    job.beat()
    try:
        _write(job, batch)
        return
    except transactions.TransactionConflict:
        if len(batch) > 1:
            for one in batch:
                _write_batch(job, [one])
            return
    family, new = batch[0]
    if leads_db.batch_get(job.tenant, [n.lead.id for n in new]):
        return  # written by an earlier run of this import
    taken = leads_db.phone_claims(job.tenant, [e for n in new for e in n.new_phones])
    reason = (
        f"{_label('phone')}: 刚被他人录入 added by someone else meanwhile"
        if taken
        else f"{_label('owner')}: 顾问客户数已达上限 the consultant holds the most leads allowed"
    )
    for row in family.rows:
        _reject(row, "conflict", reason)


# --- running an import ---------------------------------------------------------------


def _context(job: Job) -> Context:
    """What checking rows needs: the school's region and choices, and the consultants the
    consultant column may name, by the same rules as assigning by hand: anyone of the
    campus for admins and managers, their team for a supervisor, themselves for a
    consultant."""
    importer = users_db.get(job.tenant, job.record["created_by"])
    owners = {}
    for user in users_db.active_records(job.tenant):
        if user.role not in leads.OWNERS or job.record["campus_id"] not in user.campus_ids:
            continue
        if importer is None or (
            importer.role in leads.OWNERS
            and user.id != importer.id
            and not (importer.role is Role.supervisor and user.supervisor_id == importer.id)
        ):
            continue
        owners.setdefault(_norm(user.username), user)
        owners.setdefault(_norm(user.display_name), user)
    return Context(
        tenant=job.tenant,
        region=get_tenant(job.tenant).phone_region,
        choices=_choices(job.config),
        owners=owners,
        today=job.now.astimezone(ZoneInfo(job.timezone)).date(),
    )


def _default_owner(tenant: str, record: dict[str, Any]) -> Any:
    """The consultant chosen at upload, still able to take the campus's leads now."""
    if not record.get("owner_id"):
        return None
    owner = users_db.get(tenant, record["owner_id"])
    if (
        owner is None
        or not owner.active
        or owner.role not in leads.OWNERS
        or record["campus_id"] not in owner.campus_ids
    ):
        raise ValidationFailedError(
            "The consultant chosen for this import can no longer take the campus's leads; import again.",
            code="OWNER_UNAVAILABLE",
        )
    return owner


def _error_sheet(table: Table, rejected: list[Row]) -> bytes:
    header = ["行 Row", "原因 Reason", *table.header]  # every cell neutralised by sheets.xlsx
    rows = ([row.number, "；".join(row.reasons), *(_text(c) for c in row.cells)] for row in rejected)
    return sheets.xlsx("未导入 Rejected", header, rows, widths=[8, 60])


def _stored_table(record: dict[str, Any]) -> Table:
    data = store().get(record["file_key"])
    if data is None:
        raise ValidationFailedError("The uploaded file is gone.", code="FILE_MISSING")
    return read_table(data)


def process(
    tenant: str, record: dict[str, Any], table: Table | None = None, lease: Lease | None = None
) -> dict[str, Any]:
    """Checks, plans and writes one import; returns its result (counts, ignored columns).
    `table`: the file as the upload request already read it; else it is read from store.
    `lease`: the run's hold on the import, renewed as the work goes on."""
    table = table or _stored_table(record)
    tenant_record = get_tenant(tenant)
    default_owner = _default_owner(tenant, record)
    job = Job(record, tenant, tenant_record.timezone, tenant_config.load(tenant), default_owner, clock.now(), lease)
    ctx = _context(job)
    rows = [Row(number, cells) for number, cells in table.rows]
    for index, row in enumerate(rows):
        if index % BEAT_ROWS == 0:
            job.beat()
        _check(row, table, ctx)
    ours = {_lead_id(record["id"], row) for row in rows}  # written by an earlier run of this import
    claims = leads_db.phone_claims(tenant, [p for row in rows if not row.kind for p, _ in row.phones])
    claimed = {e164 for e164, claim in claims.items() if not ours.intersection(claim.lead_ids)}
    families = _families(rows, claimed)
    job.beat()
    _mark_used(job, families)
    _write_all(job, _batches(job, families))
    rejected = [row for row in rows if row.kind]
    by_kind = {kind: sum(1 for r in rejected if r.kind == kind) for kind in ImportCounts.model_fields}
    counts = ImportCounts(
        rows=len(rows),
        imported=len(rows) - len(rejected),
        rejected=len(rejected),
        invalid=by_kind["invalid"],
        duplicate_in_file=by_kind["duplicate_in_file"],
        already_in_school=by_kind["already_in_school"],
        conflict=by_kind["conflict"],
        blank=table.blank,
    )
    has_errors = bool(rejected)
    if has_errors:
        store().put(keys.import_file(tenant, record["id"], "errors.xlsx"), _error_sheet(table, rejected), sheets.XLSX)
    return {"counts": counts.model_dump(), "ignored_columns": table.ignored, "has_errors": has_errors}


def _run(tenant: str, import_id: str, table: Table | None = None) -> bool:
    """Takes the import (unless another run holds it), imports it under a lease kept alive
    by a heartbeat (see import_lease), keeps the result and tells the uploader. A failure
    is kept as the import's error, never half-reported; an import whose runs broke
    MAX_ATTEMPTS times is given up. A run whose lease another run took over stops writing
    and leaves the result and the message to that run."""
    now = clock.now()
    lease = Lease.take(tenant, import_id)
    if lease is None:
        return False
    record = imports_db.get(tenant, import_id)
    result, error = None, None
    try:
        if record["attempts"] > MAX_ATTEMPTS:
            error = f"Gave up after {MAX_ATTEMPTS} attempts; the rows already imported stay. Please tell support."
        else:
            try:
                result = process(tenant, record, table, lease)
            except ValidationFailedError as exc:
                error = exc.message
        status = "failed" if error else "done"
        lease.finish(status=status, result=result, error=error)
    except LeaseLost:
        logger.warning("import taken over by another run", extra={"tenant": tenant, "import": import_id})
        return False
    if result:
        counts = result["counts"]
        text = f"导入完成 Import done: {counts['imported']} imported, {counts['rejected']} rejected"
    else:
        text = f"导入失败 Import failed: {error}"
    message = f"{record['file_name']}: {text}"
    schedule_db.notify(tenant, record["created_by"], f"import-{import_id}", message, None, clock.iso(now))
    return status == "done"


def run_waiting(at: datetime, tenant: str | None = None) -> dict[str, Any]:
    """The `lead_imports` job: every import waiting (or whose run died), one after another.
    One that breaks is logged and left under its lease: a later run takes it up again."""
    done = not_done = broken = 0
    for owner, import_id in list(imports_db.waiting()):
        if tenant is not None and owner != tenant:
            continue
        try:
            if _run(owner, import_id):
                done += 1
            else:
                not_done += 1
        except Exception:  # noqa: BLE001 - one broken import must not hold back the others
            logger.exception("import broke", extra={"tenant": owner, "import": import_id})
            broken += 1
    return {"imports": done, "not_done": not_done, "broken": broken}


# --- the API -------------------------------------------------------------------------


def start(principal: Principal, query: ImportQuery, data: bytes | None) -> ImportOut:
    """Stores the upload and imports it now (small files) or queues it for the job."""
    _may_import(principal)
    if not data:
        raise ValidationFailedError(
            "Send the .xlsx or .csv file as the request body.",
            code="UNREADABLE_FILE",
            details=[{"field": "file", "message": "missing"}],
        )
    table = read_table(data)
    campus_id = leads.campus_for(principal, query.campus_id)
    if query.owner_id:
        leads.owner_user(principal, query.owner_id, campus_id)
    import_id = ids.new_id()
    file_key = keys.import_file(principal.tenant, import_id, "source")
    store().put(file_key, data, "application/octet-stream")
    record = {
        "id": import_id,
        "status": "queued",
        "file_name": query.file_name,
        "file_key": file_key,
        "campus_id": campus_id,
        "owner_id": query.owner_id,
        "rows": len(table.rows),
        "created_by": principal.user_id,
        "created_by_name": principal.user.display_name,
        "created_at": clock.iso(clock.now()),
    }
    imports_db.create(principal.tenant, record, queued=True)
    if len(table.rows) <= INLINE_ROWS:
        _run(principal.tenant, import_id, table)
    return get(principal, import_id)


def _out(record: dict[str, Any]) -> ImportOut:
    result = record.get("result") or {}
    return ImportOut(
        **record,
        counts=result.get("counts"),
        ignored_columns=result.get("ignored_columns", []),
        error_sheet=f"/leads/imports/{record['id']}/errors" if result.get("has_errors") else None,
    )


def _in_scope(principal: Principal, record: dict[str, Any]) -> bool:
    """An admin sees every campus's imports; others, their campuses'."""
    return principal.role is Role.admin or record["campus_id"] in principal.campus_ids


def _visible(principal: Principal, import_id: str) -> dict[str, Any]:
    _may_import(principal)
    record = imports_db.get(principal.tenant, import_id)
    if record is None or not _in_scope(principal, record):
        raise NotFoundError("No such import.", code="IMPORT_NOT_FOUND")
    return record


def get(principal: Principal, import_id: str) -> ImportOut:
    return _out(_visible(principal, import_id))


def list_imports(principal: Principal, limit: int, cursor: str | None) -> Page[ImportOut]:
    _may_import(principal)
    records, next_cursor = imports_db.list_page(principal.tenant, limit, cursor)
    mine = [r for r in records if _in_scope(principal, r)]
    return Page[ImportOut](items=[_out(r) for r in mine], next_cursor=next_cursor)


def error_sheet(principal: Principal, import_id: str) -> bytes:
    record = _visible(principal, import_id)
    has_errors = (record.get("result") or {}).get("has_errors")
    data = store().get(keys.import_file(principal.tenant, import_id, "errors.xlsx")) if has_errors else None
    if data is None:
        raise NotFoundError("This import has no rejected rows (or its sheet has expired).", code="NO_ERROR_SHEET")
    return data
