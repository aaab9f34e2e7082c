"""Consolidated exports on the bare domain: choose firms and a period, watch the progress,
download the signed file while its window is open."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from accounts.services import signed_in_user
from authz.actions import Action
from authz.web import allows
from config.progress import display as progress_display

from .export_jobs import auditable_firms, export_stream, job_request
from .models import AuditExportJob


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise ValidationError(_("日付を YYYY-MM-DD で入力してください。")) from error


@allows(Action.AUDIT_EXPORT)
@login_required
def exports(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    if request.method == "POST":
        try:
            job_request(
                user=user,
                firm_ids=[int(pk) for pk in request.POST.getlist("firms") if pk.isdigit()],
                since=_date(request.POST.get("since", "")),
                until=_date(request.POST.get("until", "")),
                file_format=request.POST.get("format", "jsonl"),
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("出力を開始しました。進み具合はこの画面に表示されます。"))
        return redirect("audit_exports")
    jobs = list(AuditExportJob.objects.filter(requested_by=user).prefetch_related("firms")[:20])
    for job in jobs:
        # The stored figures, so a reload mid-export shows the same bar; progress.js polls.
        job.progress = progress_display(  # type: ignore[attr-defined]
            reverse("audit_export_status", kwargs={"pk": job.pk}), job.progress_figures()
        )
    return render(request, "audit/exports.html", {"firms": auditable_firms(user), "jobs": jobs})


def _job(request: HttpRequest, pk) -> AuditExportJob:
    return get_object_or_404(AuditExportJob, pk=pk, requested_by=signed_in_user(request))


@allows(Action.AUDIT_EXPORT)
@login_required
@never_cache
def export_status(request: HttpRequest, pk) -> JsonResponse:
    """The job's progress (config.progress.job_status: status, done, total, percent,
    eta_seconds, error; done and total count entries), and its firms. Only the requester's
    jobs: anyone else's id is a 404."""
    job = _job(request, pk)
    return JsonResponse(
        {
            **job.progress_figures(),
            "firms_done": job.firms_done,
            "firms_total": job.firms_total,
            "entries": job.entries,
        }
    )


@allows(Action.AUDIT_EXPORT)
@login_required
@never_cache
def export_download(request: HttpRequest, pk) -> HttpResponseBase:
    job = _job(request, pk)
    try:
        chunks = export_stream(user=signed_in_user(request), job=job)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("audit_exports")
    content_type = "text/csv" if job.file_format == "csv" else "application/x-ndjson"
    # Decrypted chunk by chunk as it is sent: memory stays flat whatever the file's size.
    response = StreamingHttpResponse(chunks, content_type=f"{content_type}; charset=utf-8")
    name = f"audit-export-{job.since:%Y%m%d}-{job.until:%Y%m%d}.{job.file_format}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store, private"
    return response
