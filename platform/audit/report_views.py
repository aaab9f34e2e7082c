"""The firm's reports, on its host: the monthly supervision report (owners and accountants)
and the leak investigation (owners). Thin: audit.supervision and audit.investigation check
the role, read and log."""

from __future__ import annotations

from datetime import date, timedelta

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from authz.actions import Action
from authz.web import allows
from tenants.auditlog.services import actor_from_request
from tenants.custody.csv_stream import csv_response
from tenants.custody.errors import NotAllowed
from tenants.custody.services import require_allowed

from . import investigation as leaks
from .report_pdf import supervision_pdf as render_pdf
from .supervision import SupervisionReport, parse_month, supervision_report_for


def _month(request: HttpRequest) -> date:
    """?month=YYYY-MM; by default the last complete month (JST)."""
    text = request.GET.get("month", "")
    if text:
        return parse_month(text)
    return (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)


def _report(request: HttpRequest, output: str) -> SupervisionReport:
    try:
        month = _month(request)
    except ValueError as error:
        raise _BadRequest(_("月を YYYY-MM の形で指定してください。")) from error
    try:
        return supervision_report_for(
            actor=actor_from_request(request),
            firm=request.tenant,  # type: ignore[attr-defined]
            month=month,
            output=output,
        )
    except NotAllowed as error:
        raise PermissionDenied from error


class _BadRequest(Exception):
    pass


@allows(Action.SUPERVISION_REPORT)
@never_cache
def supervision(request: HttpRequest) -> HttpResponse:
    try:
        report = _report(request, "html")
    except _BadRequest as error:
        return HttpResponseBadRequest(str(error))
    return render(request, "audit/supervision.html", {"report": report})


@allows(Action.SUPERVISION_REPORT)
@never_cache
def supervision_pdf(request: HttpRequest) -> HttpResponse:
    try:
        report = _report(request, "pdf")
    except _BadRequest as error:
        return HttpResponseBadRequest(str(error))
    response = HttpResponse(render_pdf(report), content_type="application/pdf")
    name = f"supervision-{report.firm_slug}-{report.month:%Y%m}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store, private"
    return response


def _investigation(request: HttpRequest, output: str) -> leaks.Investigation | None:
    """None when the form is not (yet) filled in; raises _BadRequest for a bad one."""
    actor = actor_from_request(request)
    try:
        # The page itself is the owner's too: anyone else is refused (and logged) at once.
        require_allowed(leaks.can_investigate(actor.role), actor=actor, action="investigation")
    except NotAllowed as error:
        raise PermissionDenied from error
    actor_text = request.GET.get("actor", "").strip()
    if not actor_text:
        return None
    try:
        subject = leaks.Subject.parse(actor_text)
        period = leaks.Period(
            since=date.fromisoformat(request.GET.get("since", "")),
            until=date.fromisoformat(request.GET.get("until", "")),
        )
    except ValueError as error:
        raise _BadRequest(
            _(
                "調査対象（メールアドレスまたは API トークン ID）と期間（YYYY-MM-DD）を確認してください。"
            )
        ) from error
    try:
        return leaks.investigate_for(
            actor=actor,
            firm=request.tenant,  # type: ignore[attr-defined]
            subject=subject,
            period=period,
            output=output,
        )
    except NotAllowed as error:
        raise PermissionDenied from error


@allows(Action.LEAK_INVESTIGATION)
@never_cache
def investigation(request: HttpRequest) -> HttpResponse:
    error = ""
    try:
        result = _investigation(request, "html")
    except _BadRequest as problem:
        result, error = None, str(problem)
    return render(
        request,
        "audit/investigation.html",
        {"result": result, "error": error, "query": request.GET.urlencode(), "form": request.GET},
        status=400 if error else 200,
    )


@allows(Action.LEAK_INVESTIGATION)
@never_cache
def investigation_csv(request: HttpRequest) -> HttpResponseBase:
    try:
        result = _investigation(request, "csv")
    except _BadRequest as error:
        return HttpResponseBadRequest(str(error))
    if result is None:
        return HttpResponseBadRequest(_("調査対象と期間を指定してください。"))
    stamp = timezone.localdate().strftime("%Y%m%d")
    return csv_response(
        f"leak-investigation-{stamp}.csv", leaks.CSV_COLUMNS, leaks.csv_rows(result), bom=True
    )
