"""The people list's bulk actions (tenants.custody.bulk): stage from a selection or a
search, confirm, then the result or the progress. Each kind has its own URLs and declares
its own action; a job is its creator's only (anyone else, or another firm, gets 404)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
    QueryDict,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from authz.actions import Action
from authz.web import allows
from config.error_layer import status_of
from config.progress import display as progress_display
from keys.errors import KeyUnavailable
from tenants.auditlog.errors import AuditLogUnavailable
from tenants.auditlog.services import Actor, actor_from_request

from . import bulk, people_search, services
from .csv_stream import csv_response, with_first
from .errors import CustodyError, NotAllowed
from .forms import PurposeChoiceForm
from .models import BulkJob, Person

Kind = BulkJob.Kind


def _actor(request: HttpRequest) -> Actor:
    return actor_from_request(request)


def _back_to_list(request: HttpRequest) -> HttpResponse:
    query = request.POST.get("filter", "")
    return redirect(reverse("people") + (f"?{query}" if query else ""))


def _chosen(request: HttpRequest) -> list[Person] | None:
    """The people a bulk button applies to: the ticked rows, or (scope "filter") everyone
    the list's search finds. None when the search in the form is not a valid one."""
    if request.POST.get("scope") == "filter":
        form = people_search.PeopleFilterForm(QueryDict(request.POST.get("filter", "")))
        if not form.is_valid():
            return None
        query = people_search.PeopleQuery.from_form(form)
        return list(
            people_search.matching(query).order_by("family_name_kana", "given_name_kana", "id")
        )
    ids = [int(raw) for raw in request.POST.getlist("people") if raw.isdigit()]
    return list(
        Person.objects.filter(pk__in=ids).order_by("family_name_kana", "given_name_kana", "id")
    )


def _stage(request: HttpRequest, kind: str) -> HttpResponse:
    people = _chosen(request)
    if people is None:
        messages.error(request, _("検索条件が正しくありません。一覧で条件を確認してください。"))
        return _back_to_list(request)
    if not people:
        messages.error(request, _("対象の方を選んでください。"))
        return _back_to_list(request)
    try:
        job = bulk.stage(actor=_actor(request), kind=kind, people=people)
    except NotAllowed as error:
        messages.error(request, str(error.message))
        return _back_to_list(request)
    return redirect(f"people_bulk_{kind}", pk=job.pk)


@allows(Action.COLLECTION_REQUEST)
@require_POST
def stage_request(request: HttpRequest) -> HttpResponse:
    return _stage(request, Kind.REQUEST)


@allows(Action.PEOPLE_WRITE)
@require_POST
def stage_end(request: HttpRequest) -> HttpResponse:
    return _stage(request, Kind.END)


@allows(Action.NUMBER_EXPORT)
@require_POST
def stage_export(request: HttpRequest) -> HttpResponse:
    return _stage(request, Kind.EXPORT)


def _job(request: HttpRequest, pk, kind: str) -> BulkJob:
    try:
        return bulk.job_for(_actor(request), pk, kind)
    except bulk.JobGone:
        raise Http404 from None


def _page(request: HttpRequest, job: BulkJob, *, form=None, error: str = "", status=200):
    skipped = [(bulk.SKIP_REASONS[reason], count) for reason, count in job.skipped.items()]
    url = reverse("people_bulk_status", kwargs={"pk": job.pk})
    return render(
        request,
        "custody/bulk_job.html",
        {
            "job": job,
            "count": len(job.person_ids),
            "names": bulk.names_of(job),
            "skipped": skipped,
            "form": form,
            "error": error,
            "state": bulk.state_of(job),
            "failure": bulk.failure_message(job),
            "progress": progress_display(url, bulk.status_of(job)),
        },
        status=status,
    )


def _job_page(request: HttpRequest, pk, kind: str) -> HttpResponse:
    job = _job(request, pk, kind)
    if request.method != "POST":
        return _page(request, job)
    try:
        job = bulk.confirm(actor=_actor(request), job=job, params=request.POST.dict())
    except ValidationError as invalid:
        return _page(request, job, error=" ".join(invalid.messages), status=400)
    except NotAllowed as error:
        messages.error(request, str(error.message))
        return redirect(f"people_bulk_{kind}", pk=job.pk)
    if job.status == BulkJob.Status.DONE and job.request_ids:
        from tenants.collection.views import ISSUED_SESSION_KEY

        request.session[ISSUED_SESSION_KEY] = job.request_ids
    return redirect(f"people_bulk_{kind}", pk=job.pk)


@allows(Action.COLLECTION_REQUEST)
@never_cache
def request_job(request: HttpRequest, pk) -> HttpResponse:
    return _job_page(request, pk, Kind.REQUEST)


@allows(Action.PEOPLE_WRITE)
@never_cache
def end_job(request: HttpRequest, pk) -> HttpResponse:
    return _job_page(request, pk, Kind.END)


@allows(Action.NUMBER_EXPORT)
@never_cache
def export_job(request: HttpRequest, pk) -> HttpResponseBase:
    """GET: the purpose to choose. POST: the CSV, each person logged before their row."""
    job = _job(request, pk, Kind.EXPORT)
    form = PurposeChoiceForm(request.POST or None)
    if request.method != "POST":
        return _page(request, job, form=form)
    if not form.is_valid():
        return _page(request, job, form=form, status=400)
    rows = services.numbers_export(actor=_actor(request), firm=request.tenant,  # type: ignore[attr-defined]
                                   person_ids=job.person_ids,
                                   purpose_code=form.cleaned_data["purpose"])  # fmt: skip
    try:
        first = next(rows, None)
    except CustodyError as error:
        return _page(request, job, form=form, error=str(error.message),
                     status=status_of(error, 400))  # fmt: skip
    except (KeyUnavailable, AuditLogUnavailable):
        return _page(request, job, form=form, error=str(bulk.FAILURES["unavailable"]), status=503)
    return csv_response(
        "my-numbers.csv", services.EXPORT_COLUMNS, with_first(first, rows), bom=True
    )


@allows(Action.PEOPLE_VIEW)
@never_cache
@require_GET
def job_status(request: HttpRequest, pk) -> JsonResponse:
    """A job's progress as JSON for progress.js: its creator's only."""
    user_id = _actor(request).user_id
    job = BulkJob.objects.filter(pk=pk, created_by_id=user_id).first() if user_id else None
    if job is None:
        raise Http404
    return JsonResponse(bulk.status_of(job))
