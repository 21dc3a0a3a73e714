from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from chalicelib.schemas.common import Entity, StrictModel


class TemplateQuery(StrictModel):
    lang: Literal["zh", "en"] = Field(default="zh", description="Headers in Chinese (default) or English")


class ImportQuery(StrictModel):
    """`POST /leads/imports?...`: the file itself is the request body."""

    campus_id: str | None = Field(default=None, max_length=40, description="Default: your only campus")
    owner_id: str | None = Field(
        default=None,
        max_length=40,
        description="Who gets rows with no consultant column; default: the public pool (公海)",
    )
    file_name: str = Field(default="leads.xlsx", min_length=1, max_length=200)


class ImportCounts(Entity):
    rows: int = Field(description="Rows with something in them (blank rows are not counted)")
    imported: int
    rejected: int
    invalid: int = Field(description="Rows with a missing or bad value")
    duplicate_in_file: int = Field(description="The same learner and phone as an earlier row")
    already_in_school: int = Field(description="A phone that already belongs to a lead of the school")
    conflict: int = Field(description="Refused while writing: a phone taken meanwhile, a consultant at their cap")
    blank: int


class ImportOut(Entity):
    id: str
    status: Literal["queued", "running", "done", "failed"]
    file_name: str
    campus_id: str
    owner_id: str | None = None
    rows: int = Field(description="Data rows found in the file at upload")
    created_by: str
    created_by_name: str
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    rows_done: int | None = Field(
        default=None,
        description="While running: the rows settled so far (written, or refused), of `rows`, kept every few "
        "seconds; none while the file is being checked",
    )
    counts: ImportCounts | None = Field(default=None, description="Once done")
    ignored_columns: list[str] = Field(default_factory=list, description="Headers not recognised, left out")
    error_sheet: str | None = Field(
        default=None, description="Once done with rejected rows: where to download them with their reasons"
    )
    error: str | None = Field(default=None, description="Why a failed import failed")
