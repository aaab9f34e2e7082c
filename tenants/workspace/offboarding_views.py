"""Firm offboarding pages (firms.offboarding). Thin: the services check the role and the MFA
code, change state and log.

On the firm host, owners only (everyone else: 404, like every page that is not theirs):
`/offboarding/` (the steps explained, the request form with the MFA code and the numbers
choice, progress, the archive, the confirmation), `/offboarding/status/` (the final
export's progress as JSON, for progress.js), `/offboarding/archive/`,
`/offboarding/confirm/`, `/offboarding/certificate.pdf|csv`.

On the bare domain, for the firm's former owners, also after the firm's schema is gone:
`/offboarding/certificates/` and `/offboarding/certificates/<id>.pdf|csv`.
"""

from __future__ import annotations

from uuid import UUID

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Membership
from authz.actions import Action
from authz.decide import permits
from authz.web import allows
from config.progress import display as progress_display
from firms import offboarding
from firms.models import OffboardingRecord
from tenants.auditlog.services import actor_from_request


class RequestForm(forms.Form):
    include_numbers = forms.BooleanField(
        required=False,
        label=gettext_lazy("最終エクスポートに個人番号（平文）を含める"),
        help_text=gettext_lazy(
            "含める場合、対象者ごとに「出力」としてアクセス記録に残ります。"
            "含めない場合、番号はマスク表示になります。"
        ),
    )
    understood = forms.BooleanField(
        required=True,
        label=gettext_lazy(
            "暗号鍵の破棄後はデータを復元できないこと、新しい登録ができなくなることを理解しました"
        ),
    )
    totp_code = forms.CharField(
        max_length=10,
        label=gettext_lazy("認証アプリの確認コード（6桁）"),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class ConfirmForm(forms.Form):
    totp_code = forms.CharField(
        max_length=10,
        label=gettext_lazy("認証アプリの確認コード（6桁）"),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


def _owner(request: HttpRequest) -> Membership:
    membership = request.membership  # type: ignore[attr-defined]
    if not permits(membership.role, Action.OFFBOARD):
        raise Http404
    return membership


def _messages(error: ValidationError) -> str:
    return " ".join(error.messages)


@allows(Action.OFFBOARD)
def offboarding_page(request: HttpRequest) -> HttpResponse:
    membership = _owner(request)
    record = offboarding.record_for(membership.firm)
    form = RequestForm(request.POST or None)
    if request.method == "POST" and record is None and form.is_valid():
        try:
            offboarding.offboarding_request(
                membership,
                include_numbers=form.cleaned_data["include_numbers"],
                totp_code=form.cleaned_data["totp_code"],
                actor=actor_from_request(request),
            )
        except (ValidationError, PermissionDenied) as error:
            form.add_error(
                None, _messages(error) if isinstance(error, ValidationError) else str(error)
            )
        else:
            messages.success(
                request, _("解約の申請を受け付けました。最終エクスポートを作成しています。")
            )
            return redirect("offboarding")
    progress = None
    if record is not None and record.stage == OffboardingRecord.Stage.REQUESTED:
        # The stored figures, so a reload mid-export shows the same bar; progress.js polls.
        progress = progress_display(
            reverse("offboarding_status"), offboarding.export_progress(record)
        )
    return render(
        request,
        "workspace/offboarding.html",
        {
            "firm": membership.firm,
            "record": record,
            "progress": progress,
            "form": form,
            "confirm_form": ConfirmForm(),
            "has_totp": offboarding.has_totp(membership.user),
            "export_days": offboarding.export_days(),
            "drop_days": offboarding.drop_days(),
            "stages": OffboardingRecord.Stage,
        },
    )


@allows(Action.OFFBOARD)
@never_cache
@require_GET
def offboarding_status(request: HttpRequest) -> JsonResponse:
    """The final export's progress as JSON (config.progress.job_status), owners only (404 to
    everyone else, as the page)."""
    membership = _owner(request)
    record = offboarding.record_for(membership.firm)
    if record is None:
        raise Http404
    return JsonResponse(offboarding.export_progress(record))


@allows(Action.OFFBOARD)
def offboarding_archive(request: HttpRequest) -> HttpResponseBase:
    membership = _owner(request)
    try:
        chunks = offboarding.offboarding_archive_stream(
            membership, actor=actor_from_request(request)
        )
    except ValidationError as error:
        messages.error(request, _messages(error))
        return redirect("offboarding")
    # Opened chunk by chunk as it is sent (keys.chunked): memory stays flat whatever its size.
    response = StreamingHttpResponse(chunks, content_type="application/zip")
    response["Content-Disposition"] = (
        f'attachment; filename="offboarding-{membership.firm.slug}.zip"'
    )
    response["Cache-Control"] = "no-store"
    return response


@allows(Action.OFFBOARD)
@require_POST
def offboarding_confirm(request: HttpRequest) -> HttpResponse:
    membership = _owner(request)
    form = ConfirmForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("確認コードを入力してください。"))
        return redirect("offboarding")
    try:
        offboarding.offboarding_confirm_downloaded(
            membership, totp_code=form.cleaned_data["totp_code"], actor=actor_from_request(request)
        )
    except ValidationError as error:
        messages.error(request, _messages(error))
    else:
        messages.success(request, _("暗号鍵を破棄しました。データは復元できなくなりました。"))
    return redirect("offboarding")


def _certificate_response(record: OffboardingRecord, output: str) -> HttpResponse:
    if output == "pdf":
        response = HttpResponse(offboarding.certificate_pdf(record), content_type="application/pdf")
    else:
        response = HttpResponse(
            offboarding.certificate_csv(record), content_type="text/csv; charset=utf-8"
        )
    response["Content-Disposition"] = (
        f'attachment; filename="offboarding-certificate-{record.firm_slug}.{output}"'
    )
    response["Cache-Control"] = "no-store"
    return response


@allows(Action.OFFBOARD)
def offboarding_certificate(request: HttpRequest, output: str) -> HttpResponse:
    membership = _owner(request)
    record = offboarding.record_for(membership.firm)
    if record is None:
        raise Http404
    return _certificate_response(record, output)


# --- bare domain: the former owners' certificates ------------------------------------------


@allows(Action.ACCOUNT_HOME)
@login_required
def certificates(request: HttpRequest) -> HttpResponse:
    records = offboarding.certificates_for(request.user)  # type: ignore[arg-type]
    return render(request, "workspace/offboarding_certificates.html", {"records": records})


@allows(Action.ACCOUNT_HOME)
@login_required
def certificate_download(request: HttpRequest, record_id: UUID, output: str) -> HttpResponse:
    mine = offboarding.certificates_for(request.user)  # type: ignore[arg-type]
    record = next((r for r in mine if r.pk == record_id), None)
    if record is None:
        raise Http404
    return _certificate_response(record, output)


urlpatterns = [
    path("", offboarding_page, name="offboarding"),
    path("status/", offboarding_status, name="offboarding_status"),
    path("archive/", offboarding_archive, name="offboarding_archive"),
    path("confirm/", offboarding_confirm, name="offboarding_confirm"),
    path("certificate.pdf", offboarding_certificate, {"output": "pdf"},
         name="offboarding_certificate_pdf"),
    path("certificate.csv", offboarding_certificate, {"output": "csv"},
         name="offboarding_certificate_csv"),
]  # fmt: skip

public_urlpatterns = [
    path("certificates/", certificates, name="offboarding_certificates"),
    path("certificates/<uuid:record_id>.pdf", certificate_download, {"output": "pdf"},
         name="offboarding_certificate_public_pdf"),
    path("certificates/<uuid:record_id>.csv", certificate_download, {"output": "csv"},
         name="offboarding_certificate_public_csv"),
]  # fmt: skip
