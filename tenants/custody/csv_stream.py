"""Streamed CSV downloads (exports, the access log): rows are written as they are produced,
so memory stays flat, and nothing is cached on the way.

Every text cell leaves as a spreadsheet's text, never its formula: a name, an address, a
user agent or a firm's name is typed by someone, and one beginning with "=" (or +, -, @, a
tab, a carriage return) would run in the Excel of whoever opens the file (CSV injection).
Such a cell gets a leading apostrophe, which spreadsheets show as text and do not display."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """A text cell a spreadsheet will not read as a formula; anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Echo:
    """A file-like object csv.writer writes into, handing each line straight back."""

    def write(self, value: str) -> str:
        return value


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence], *, bom: bool = False
) -> StreamingHttpResponse:
    """`bom` for files people open in Excel, which otherwise misreads UTF-8 Japanese."""
    writer = csv.writer(_Echo())

    def lines():
        if bom:
            yield "\ufeff"
        yield writer.writerow([spreadsheet_safe(cell) for cell in header])
        for row in rows:
            yield writer.writerow([spreadsheet_safe(cell) for cell in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def with_first(first: Sequence | None, rest: Iterator[Sequence]) -> Iterator[Sequence]:
    """Rows whose first one was taken early (so a refusal is raised before the response
    starts), put back in front of the rest."""
    if first is not None:
        yield first
        yield from rest
