"""Spreadsheets in and out: .xlsx through openpyxl, .csv in the encodings Chinese Excel writes.

Reading gives plain rows of cells (str, numbers, dates as Excel stored them); writing
takes a header and rows. Free text that a spreadsheet would take for a formula is kept as
text (formula injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import ValidationFailedError

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# API Gateway hands Lambda at most 6 MB, and a binary body arrives base64-encoded (4/3)
MAX_BYTES = 4 * 1024 * 1024
MAX_COLUMNS = 60  # cells beyond are not read: a stray cell far right costs nothing
MAX_BLANK_RUN = 1000  # this many blank rows in a row end the sheet (a stray cell far down)


def _unreadable(message: str) -> ValidationFailedError:
    return ValidationFailedError(message, code="UNREADABLE_FILE", details=[{"field": "file", "message": message}])


def decode_csv(data: bytes) -> str:
    """UTF-8 (with or without a BOM), UTF-16 (Excel's "Unicode text"), else GB18030, the
    superset of the GBK that Chinese Excel writes by default."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise _unreadable("The file is neither UTF-8 nor GBK text; save it as .xlsx or CSV UTF-8.") from exc


def read(data: bytes) -> Iterator[list[Any]]:
    """Rows of the first sheet of an .xlsx, or of a .csv (comma, semicolon or tab
    separated), lazily, at most MAX_COLUMNS wide. A file that breaks while being read
    (truncated, a cell too long) is a 400, whenever it breaks."""
    if not data:
        raise _unreadable("The file is empty.")
    if len(data) > MAX_BYTES:
        raise _unreadable(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it.")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise _unreadable("Old .xls files are not read; save the sheet as .xlsx or CSV.")
    rows = _xlsx_rows(data) if data.startswith(b"PK") else _csv_rows(data)
    try:
        yield from rows
    except ValidationFailedError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever a damaged file makes the parser raise
        raise _unreadable("The file is damaged or not a spreadsheet; save it again as .xlsx or CSV.") from exc


def _csv_rows(data: bytes) -> Iterator[list[Any]]:
    text = decode_csv(data)
    delimiter = max((",", ";", "\t"), key=text[:4096].count)
    for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
        yield row[:MAX_COLUMNS]


def _xlsx_rows(data: bytes) -> Iterator[list[Any]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - a zip that is no workbook, or a broken one
        raise _unreadable("The file is not a readable .xlsx workbook.") from exc
    try:
        for row in book.worksheets[0].iter_rows(values_only=True, max_col=MAX_COLUMNS):
            yield list(row)
    finally:
        book.close()


def safe(value: Any) -> Any:
    """Text a spreadsheet would take for a formula (= + - @ first) gets a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


@dataclass
class Tab:
    title: str
    header: Sequence[str]
    rows: Iterable[Sequence[Any]]
    widths: Sequence[int] = ()


def xlsx(title: str, header: Sequence[str], rows: Iterable[Sequence[Any]], widths: Sequence[int] = ()) -> bytes:
    """One sheet, a bold header, given column widths; cells are written as given."""
    return workbook(Tab(title, header, rows, widths))


def workbook(*tabs: Tab) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    bold = Font(bold=True)
    for tab in tabs:
        sheet = book.create_sheet(tab.title)
        for index, width in enumerate(tab.widths, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        heading = []
        for text in tab.header:
            cell = WriteOnlyCell(sheet, value=text)
            cell.font = bold
            heading.append(cell)
        sheet.append(heading)
        for row in tab.rows:
            sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
