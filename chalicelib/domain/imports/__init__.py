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

from chalicelib.domain.imports.job import process, run_waiting
from chalicelib.domain.imports.rows import MAX_ROWS, Row, Table, read_table
from chalicelib.domain.imports.template import COLUMNS, Column, template
from chalicelib.domain.imports.uploads import error_sheet, get, list_imports, start

__all__ = [
    "COLUMNS",
    "MAX_ROWS",
    "Column",
    "Row",
    "Table",
    "error_sheet",
    "get",
    "list_imports",
    "process",
    "read_table",
    "run_waiting",
    "start",
    "template",
]
