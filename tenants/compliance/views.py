"""The compliance page on a firm's host, and its downloads and actions. Thin: the services
ask the policy table, read the facts and write the log."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from authz.actions import Action
from authz.web import allows
from tenants.auditlog.services import actor_from_request

from . import services
from .registry import LINKED


@allows(Action.COMPLIANCE_VIEW)
@never_cache
def compliance(request: HttpRequest) -> HttpResponse:
    page = services.page(actor=actor_from_request(request), firm=request.tenant)  # type: ignore[attr-defined]
    return render(
        request,
        "compliance/page.html",
        {"page": page, "linked": LINKED, "register": services.register_summary()},
    )


@allows(Action.COMPLIANCE_MANAGE)
@require_POST
def generate(request: HttpRequest, kind: str) -> HttpResponse:
    try:
        document, made = services.generate(
            actor=actor_from_request(request),
            firm=request.tenant,  # type: ignore[attr-defined]
            kind_code=kind,
        )
    except services.UnknownDocument as error:
        raise Http404 from error
    if made:
        messages.success(
            request, _("第%(version)s版を作成しました。") % {"version": document.version}
        )
    else:
        messages.info(request, _("内容に変更がないため、新しい版は作成しませんでした。"))
    return redirect("compliance")


@allows(Action.COMPLIANCE_ADOPT)
@require_POST
def adopt(request: HttpRequest, kind: str, version: int) -> HttpResponse:
    try:
        document = services.adopt(
            actor=actor_from_request(request),
            firm=request.tenant,  # type: ignore[attr-defined]
            kind_code=kind,
            version=version,
        )
    except services.UnknownDocument as error:
        raise Http404 from error
    except services.ComplianceError as error:
        messages.error(request, str(error.message))
        return redirect("compliance")
    messages.success(request, _("第%(version)s版を採択しました。") % {"version": document.version})
    return redirect("compliance")


def _download(request: HttpRequest, kind: str, version: int, output: str) -> HttpResponse:
    try:
        document, content = services.download(
            actor=actor_from_request(request),
            firm=request.tenant,  # type: ignore[attr-defined]
            kind_code=kind,
            version=version,
            output=output,
        )
    except services.UnknownDocument as error:
        raise Http404 from error
    types = {"pdf": "application/pdf", "csv": "text/csv; charset=utf-8"}
    response = HttpResponse(content, content_type=types[output])
    name = f"{document.kind}-v{document.version}-{document.generated_at:%Y%m%d}.{output}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store, private"
    return response


@allows(Action.COMPLIANCE_VIEW)
@never_cache
def download_pdf(request: HttpRequest, kind: str, version: int) -> HttpResponse:
    return _download(request, kind, version, "pdf")


@allows(Action.COMPLIANCE_VIEW)
@never_cache
def download_csv(request: HttpRequest, kind: str, version: int) -> HttpResponse:
    return _download(request, kind, version, "csv")
