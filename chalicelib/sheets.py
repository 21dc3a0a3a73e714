"""Spreadsheets in and out: .xlsx through openpyxl, .csv in the encodings Chinese Excel writes.

Reading gives plain rows of cells (str, numbers, dates as Excel stored them); writing
takes a header and rows. Every cell we write, .xlsx or .csv, passes through `safe`: text
that a spreadsheet would take for a formula (= + - @ tab CR first) is written as text, and
control characters no workbook may hold are dropped, so whatever is stored can be written.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import ValidationFailedError

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# API Gateway hands Lambda at most 6 MB, and a binary body arrives base64-encoded (4/3)
MAX_BYTES = 4 * 1024 * 1024
MAX_COLUMNS = 60  # cells beyond are not read: a stray cell far right costs nothing
MAX_BLANK_RUN = 1000  # this many blank rows in a row end the sheet (a stray cell far down)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # what the XML of a workbook cannot hold


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
        yield [_unquoted(cell) for cell in row[:MAX_COLUMNS]]


def _unquoted(cell: str) -> str:
    """A cell `safe` wrote as '=..., read back as =... (our own CSV round-trips)."""
    return cell[1:] if cell[:1] == "'" and cell[1:2] and cell[1:].startswith(FORMULA_START) else cell


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
    """The one neutraliser of every cell we write: control characters a workbook cannot
    hold are dropped, and text a spreadsheet would take for a formula (= + - @ tab CR
    first) gets a leading apostrophe, which in an .xlsx becomes Excel's own text mark."""
    if not isinstance(value, str):
        return value
    text = ILLEGAL.sub("", value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _cell(sheet: Any, value: Any, font: Any = None) -> Any:
    from openpyxl.cell import WriteOnlyCell

    written = safe(value)
    quoted = isinstance(value, str) and written == "'" + ILLEGAL.sub("", value)  # safe added the mark
    cell = WriteOnlyCell(sheet, value=written[1:] if quoted else written)
    if quoted:
        cell.data_type, cell.quotePrefix = "s", True  # text, shown as typed, never a formula
    if font is not None:
        cell.font = font
    return cell


def csv_writer(stream: Any) -> Any:
    """A csv.writer whose every cell passes through `safe`."""
    writer = csv.writer(stream)

    class Safe:
        def writerow(self, row: Iterable[Any]) -> Any:
            return writer.writerow([safe(v) for v in row])

    return Safe()


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A whole CSV, UTF-8 with a BOM (so that Excel opens the Chinese intact)."""
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
    return "\ufeff" + buffer.getvalue()


@dataclass
class Tab:
    title: str
    header: Sequence[str]
    rows: Iterable[Sequence[Any]]
    widths: Sequence[int] = ()


def xlsx(title: str, header: Sequence[str], rows: Iterable[Sequence[Any]], widths: Sequence[int] = ()) -> bytes:
    """One sheet, a bold header, given column widths; every cell passes through `safe`."""
    return workbook(Tab(title, header, rows, widths))


def workbook(*tabs: Tab) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    bold = Font(bold=True)
    for tab in tabs:
        sheet = book.create_sheet(tab.title)
        for index, width in enumerate(tab.widths, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        sheet.append([_cell(sheet, text, bold) for text in tab.header])
        for row in tab.rows:
            sheet.append([_cell(sheet, value) for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
