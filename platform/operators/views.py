"""The operator console (bare domain, operators only, MFA always: see AuthorizationMiddleware).

Operators see firms' state and run their lifecycle and keys; nothing here decrypts a number.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_tenants.utils import get_public_schema_name, tenant_context

from accounts.models import SupportGrant
from accounts.services import signed_in_user
from accounts.support import support_request
from authz.actions import Action
from authz.web import allows
from billing.services import billing_state
from firms import lifecycle
from firms.models import Firm
from firms.offboarding import OffboardingError, offboarding_start_by_operator
from keys.errors import KeyUnavailable
from keys.rotation import rotate_firm_key
from operators.log import log_operator_action
from tenants.auditlog.services import verify_chain

from .metrics import firm_figures

PAGE_SIZE = 50


@allows(Action.OPERATOR_CONSOLE)
def console(request: HttpRequest) -> HttpResponse:
    firms = (
        Firm.objects.exclude(schema_name=get_public_schema_name())
        .select_related("key", "chain_verification")
        .annotate(
            member_count=Count("memberships", distinct=True),
            checkpoint_seq=Max("audit_checkpoints__seq"),
            checkpoint_at=Max("audit_checkpoints__created_at"),
        )
        .order_by("name")
    )
    page = Paginator(firms, PAGE_SIZE).get_page(request.GET.get("page"))
    figures = firm_figures([firm.schema_name for firm in page.object_list])
    rows = [
        {"firm": firm, "billing": billing_state(firm), **figures.get(firm.schema_name, {})}
        for firm in page.object_list
    ]
    return render(request, "operators/console.html", {"rows": rows, "page": page})


@allows(Action.OPERATOR_CONSOLE)
def firm_detail(request: HttpRequest, slug: str) -> HttpResponse:
    firm = get_object_or_404(
        Firm.objects.exclude(schema_name=get_public_schema_name()).select_related(
            "key", "chain_verification"
        ),
        slug=slug,
    )
    figures = firm_figures([firm.schema_name]).get(firm.schema_name, {})
    grants = SupportGrant.objects.filter(firm=firm).select_related("operator")[:20]
    return render(
        request,
        "operators/firm.html",
        {"firm": firm, "figures": figures, "grants": grants, "max_minutes": 240},
    )


def _firm(slug: str) -> Firm:
    return get_object_or_404(Firm.objects.exclude(schema_name=get_public_schema_name()), slug=slug)


@allows(Action.OPERATOR_CONSOLE)
@require_POST
def firm_status(request: HttpRequest, slug: str) -> HttpResponse:
    firm = _firm(slug)
    change = (
        lifecycle.suspend_firm if request.POST.get("to") == "suspended" else lifecycle.resume_firm
    )
    try:
        change(operator=signed_in_user(request), firm=firm, reason=request.POST.get("reason", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, _("事業者の状態を変更しました。事業者のアクセス記録にも残ります。")
        )
    return redirect("operator_firm", slug=slug)


@allows(Action.OPERATOR_CONSOLE)
@require_POST
def firm_support(request: HttpRequest, slug: str) -> HttpResponse:
    firm = _firm(slug)
    try:
        minutes = int(request.POST.get("minutes") or 0)
        support_request(operator=signed_in_user(request), firm=firm,
                        reason=request.POST.get("reason", ""), minutes=minutes)  # fmt: skip
    except ValueError:
        messages.error(request, _("時間は分単位の数字で入力してください。"))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, _("サポートアクセスを申請しました。事業者のオーナーが承認すると利用できます。")
        )
    return redirect("operator_firm", slug=slug)


@allows(Action.OPERATOR_CONSOLE)
@require_POST
def firm_verify_chain(request: HttpRequest, slug: str) -> HttpResponse:
    """Verify the firm's access-log chain: hashes only, no number is read."""
    firm = _firm(slug)
    operator = signed_in_user(request)
    with tenant_context(firm):
        result = verify_chain()
    with transaction.atomic():
        log_operator_action(actor_email=operator.email, actor_user_id=operator.pk,
                            action="chain_verify", firm=firm,
                            detail={"ok": result.ok, "entries": result.entries_checked})  # fmt: skip
    if result.ok:
        messages.success(
            request,
            _("アクセス記録の連鎖は正常です（%(n)d件）。") % {"n": result.entries_checked},
        )
    else:
        messages.error(
            request,
            _("アクセス記録の連鎖に異常があります（最初の異常: #%(seq)s、%(reason)s）。")
            % {"seq": result.first_bad_seq, "reason": result.reason},
        )
    return redirect("operator_firm", slug=slug)


@allows(Action.OPERATOR_CONSOLE)
@require_POST
def firm_rotate_key(request: HttpRequest, slug: str) -> HttpResponse:
    """Rotate the firm's key now: a new key-encryption key, every data key re-wrapped under
    it, a fresh data key version (keys.rotation; both logs record it)."""
    firm = _firm(slug)
    operator = signed_in_user(request)
    try:
        rotate_firm_key(firm, actor_email=operator.email, actor_user_id=operator.pk)
    except KeyUnavailable:
        messages.error(
            request,
            _(
                "鍵のローテーションに失敗しました。鍵は変更されていません。KMSの状態を確認してください。"
            ),
        )
    else:
        messages.success(
            request, _("鍵をローテーションしました。番号はすべて引き続き表示できます。")
        )
    return redirect("operator_firm", slug=slug)


@allows(Action.OPERATOR_CONSOLE)
@require_POST
def firm_offboard(request: HttpRequest, slug: str) -> HttpResponse:
    """Start offboarding for a firm (firms.offboarding): the owners are told and still get
    their archive before the key is destroyed."""
    firm = _firm(slug)
    try:
        offboarding_start_by_operator(
            operator=signed_in_user(request), firm=firm, reason=request.POST.get("reason", "")
        )
    except OffboardingError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("解約手続を開始しました。オーナーにメールで知らせました。"))
    return redirect("operator_firm", slug=slug)
