"""Streamed CSV downloads (exports, the access log): rows are written as they are produced,
so memory stays flat, and nothing is cached on the way."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence

from django.http import StreamingHttpResponse


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
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow(row)

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
