"""Retention pages on a firm's host: the dashboard, the rules, deletion records and the
deletion certificate. Thin: services check roles, delete and log."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from authz.actions import Action
from authz.web import allows
from tenants.auditlog.errors import AuditLogUnavailable
from tenants.auditlog.services import actor_from_request
from tenants.custody.csv_stream import csv_response
from tenants.custody.errors import CustodyError

from . import policy, services
from .certificate import CSV_COLUMNS, certificate_pdf, csv_rows
from .forms import HoldForm, PeriodForm, RuleForm
from .models import DATA_TYPE_LABELS, LegalHold, RetentionRule

# Lazy: translated in the language of the request that shows it, not the one of the import.
UNAVAILABLE = gettext_lazy(
    "アクセス記録が利用できないため、処理できませんでした。時間をおいて再度お試しください。"
)


def _role(request: HttpRequest) -> str:
    return request.membership.role  # type: ignore[attr-defined]


def _refused(request: HttpRequest, error: CustodyError, to: str = "retention") -> HttpResponse:
    messages.error(request, str(error.message))
    return redirect(to)


@allows(Action.RETENTION_VIEW)
def dashboard(request: HttpRequest) -> HttpResponse:
    role = _role(request)
    if not policy.can_read(role):
        raise Http404
    return render(
        request,
        "retention/dashboard.html",
        {
            "board": services.dashboard(),
            "today": services.today(),
            "hold_form": HoldForm(),
            "can_approve": policy.can_approve(role),
            "can_hold": policy.can_hold(role),
            "is_owner": policy.can_download_certificate(role),
        },
    )


@allows(Action.RETENTION_MANAGE)
@require_POST
def approve(request: HttpRequest) -> HttpResponse:
    ids = [int(pk) for pk in request.POST.getlist("proposal") if pk.isdigit()]
    try:
        records = services.proposals_approve(actor=actor_from_request(request), proposal_ids=ids)
    except CustodyError as error:
        return _refused(request, error)
    except AuditLogUnavailable:
        messages.error(request, UNAVAILABLE)
        return redirect("retention")
    messages.success(request, _("%(count)s件を削除しました。") % {"count": len(records)})
    return redirect("retention")


@allows(Action.RETENTION_MANAGE)
@require_POST
def hold_new(request: HttpRequest) -> HttpResponse:
    form = HoldForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("理由を入力してください。"))
        return redirect("retention")
    try:
        services.hold_place(
            actor=actor_from_request(request),
            person=form.cleaned_data["person"],
            reason=form.cleaned_data["reason"],
        )
    except CustodyError as error:
        return _refused(request, error)
    messages.success(request, _("法的保全を設定しました。対象の削除は停止されます。"))
    return redirect("retention")


@allows(Action.RETENTION_MANAGE)
@require_POST
def hold_lift(request: HttpRequest, pk: int) -> HttpResponse:
    hold = get_object_or_404(LegalHold, pk=pk)
    try:
        services.hold_lift(actor=actor_from_request(request), hold=hold)
    except CustodyError as error:
        return _refused(request, error)
    messages.success(request, _("法的保全を解除しました。"))
    return redirect("retention")


@allows(Action.RETENTION_VIEW, POST=Action.RETENTION_MANAGE)
def rules(request: HttpRequest) -> HttpResponse:
    role = _role(request)
    if not policy.can_read(role):
        raise Http404
    all_rules = list(RetentionRule.objects.prefetch_related("purposes"))
    forms = {
        rule.pk: RuleForm(
            rule=rule,
            initial={"extra_months": rule.extra_months, "purposes": list(rule.purposes.all())},
            prefix=f"r{rule.pk}",
        )
        for rule in all_rules
    }
    return render(
        request,
        "retention/rules.html",
        {
            "rules": [(rule, forms[rule.pk]) for rule in all_rules],
            "can_manage": policy.can_manage_rules(role),
        },
    )


@allows(Action.RETENTION_MANAGE)
@require_POST
def rule_update(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(RetentionRule, pk=pk)
    form = RuleForm(request.POST, rule=rule, prefix=f"r{rule.pk}")
    if not form.is_valid():
        messages.error(
            request,
            _("延長は0から%(max)sか月の間で指定してください。") % {"max": rule.max_extra_months},
        )
        return redirect("retention_rules")
    try:
        services.rule_update(
            actor=actor_from_request(request),
            rule=rule,
            extra_months=form.cleaned_data["extra_months"],
            purpose_ids=[p.pk for p in form.cleaned_data.get("purposes", [])],
        )
    except CustodyError as error:
        return _refused(request, error, "retention_rules")
    messages.success(request, _("保存期間を変更しました。削除期限を再計算しました。"))
    return redirect("retention_rules")


def _period(request: HttpRequest) -> tuple[date | None, date | None, PeriodForm]:
    form = PeriodForm(request.GET or None)
    if form.is_valid():
        return form.cleaned_data["since"], form.cleaned_data["until"], form
    return None, None, form


@allows(Action.RETENTION_VIEW)
def deletions(request: HttpRequest) -> HttpResponse:
    since, until, form = _period(request)
    page = Paginator(services.records_between(since, until).reverse(), 100).get_page(
        request.GET.get("page")
    )
    try:
        services.records_listed(actor=actor_from_request(request), records=list(page.object_list))
    except CustodyError as error:
        return _refused(request, error, "dashboard")
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "retention/deletions.html",
        {
            "page": page,
            "form": form,
            "query": query.urlencode(),
            "labels": DATA_TYPE_LABELS,
            "is_owner": policy.can_download_certificate(_role(request)),
        },
    )


def _certificate(request: HttpRequest, output: str):
    since, until, _form = _period(request)
    records = services.certificate_records(
        actor=actor_from_request(request), since=since, until=until, output=output
    )
    stamp = timezone.localdate().strftime("%Y%m%d")
    return records, since, until, f"deletion-certificate-{stamp}"


@allows(Action.RETENTION_MANAGE)
def certificate_csv(request: HttpRequest) -> HttpResponseBase:
    try:
        records, _since, _until, name = _certificate(request, "csv")
    except CustodyError as error:
        return _refused(request, error, "retention_deletions")
    return csv_response(f"{name}.csv", CSV_COLUMNS, csv_rows(records), bom=True)


@allows(Action.RETENTION_MANAGE)
def certificate_pdf_view(request: HttpRequest) -> HttpResponse:
    try:
        records, since, until, name = _certificate(request, "pdf")
    except CustodyError as error:
        return _refused(request, error, "retention_deletions")
    pdf = certificate_pdf(
        firm_name=request.tenant.name,  # type: ignore[attr-defined]
        records=records,
        since=since,
        until=until,
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
    response["Cache-Control"] = "no-store"
    return response
