"""The year-end list of dependants abroad (/people/abroad/) and its CSV, for anyone who may
read people: names, ages and which documents are in, never a number or a file."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone

from authz.actions import Action
from authz.web import allows
from tenants.auditlog.services import actor_from_request
from tenants.custody.csv_stream import csv_response

from . import abroad, abroad_list

FIRST_YEAR = abroad.FIRST_YEAR_OF_DOCUMENTS


def _year(request: HttpRequest) -> int:
    """The tax year asked for (?year=), else this year in Japan; out of range: this year."""
    this_year = timezone.localdate().year
    raw = request.GET.get("year", "")
    year = int(raw) if raw.isdigit() else this_year
    return year if FIRST_YEAR <= year <= this_year + 1 else this_year


@allows(Action.PEOPLE_VIEW)
def people_abroad(request: HttpRequest) -> HttpResponse:
    year = _year(request)
    rows = abroad_list.abroad_year_list(actor=actor_from_request(request), year=year)
    this_year = timezone.localdate().year
    return render(
        request,
        "collection/abroad.html",
        {
            "rows": rows,
            "year": year,
            "years": list(range(this_year + 1, FIRST_YEAR - 1, -1)),
            "rule_name": abroad.requirement(None, year).rule,
            "source": abroad.SOURCE,
        },
    )


@allows(Action.PEOPLE_VIEW)
def people_abroad_csv(request: HttpRequest) -> HttpResponseBase:
    year = _year(request)
    rows = abroad_list.abroad_year_list(actor=actor_from_request(request), year=year,
                                        output="csv")  # fmt: skip
    return csv_response(f"dependants-abroad-{year}.csv", abroad_list.CSV_COLUMNS,
                        abroad_list.csv_rows(rows, year), bom=True)  # fmt: skip
