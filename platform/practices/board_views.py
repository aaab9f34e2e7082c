"""The January board's pages on the bare domain (docs/practices.md, "The January board and
escalations"): the table and its CSV across the user's client firms, and "remind everyone
outstanding" for one client. Thin: practices.board reads the figures, practices.services
decides whose firms and writes the firms' logs."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_tenants.utils import tenant_context

from accounts.models import Membership
from accounts.services import signed_in_user
from authz.actions import Action
from authz.decide import permits
from authz.web import allows
from tenants.auditlog.services import actor_from_request

from . import services
from .board import FILING_LABELS, FILTERS, SORTS, board, board_csv, tax_year
from .views import _report, practice_seat


def _choice(request: HttpRequest, name: str, known: dict, default: str) -> str:
    value = request.GET.get(name, default)
    return value if value in known else default


@allows(Action.PORTFOLIO_VIEW)
@login_required
@never_cache
@require_GET
def board_view(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    sort = _choice(request, "sort", SORTS, "late")
    only = _choice(request, "only", FILTERS, "")
    rows, totals = board(services.client_firms(user, page="board"), sort=sort, only=only)
    roles = dict(Membership.objects.filter(user=user).values_list("firm_id", "role"))
    remind = {
        row.firm.pk
        for row in rows
        if permits(roles.get(row.firm.pk, ""), Action.COLLECTION_REQUEST)
    }
    return render(
        request,
        "practices/board.html",
        {
            "rows": rows,
            "totals": totals,
            "sort": sort,
            "only": only,
            "tax_year": tax_year(),
            "overdue_days": settings.COLLECTION_OVERDUE_DAYS,
            "labels": FILING_LABELS,
            "may_remind": remind,
        },
    )


@allows(Action.PORTFOLIO_VIEW)
@login_required
@never_cache
@require_GET
def board_download(request: HttpRequest) -> HttpResponse:
    """The board's table as CSV, sorted and filtered as the page; logged like the page."""
    user = signed_in_user(request)
    sort = _choice(request, "sort", SORTS, "late")
    only = _choice(request, "only", FILTERS, "")
    rows, totals = board(services.client_firms(user, page="board_csv"), sort=sort, only=only)
    response = HttpResponse(board_csv(rows, totals), content_type="text/csv; charset=utf-8")
    name = f"january-board-{timezone.localdate():%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@allows(Action.PORTFOLIO_VIEW)
@login_required
@never_cache
def board_remind(request: HttpRequest, slug: str) -> HttpResponse:
    """ "Remind everyone outstanding" for one client: GET asks to confirm (how many will be
    sent), POST sends. The firm is one of the portfolio's clients (services.client_seat:
    the authorization layer's memberships, MFA), else 404 as for a firm that does not exist;
    the role there must allow requesting numbers (the service requires it, and a refusal is
    logged in that firm)."""
    user = signed_in_user(request)
    seat = services.client_seat(user, slug)
    if seat is None:
        raise Http404
    link, membership = seat
    if request.method == "POST":
        with tenant_context(link.firm):
            actor = actor_from_request(request, role=str(membership.role))
        done = services.client_remind_everyone(actor=actor, seat=seat)
        text = ngettext(
            "%(firm)s: %(count)d件の提出依頼を再送しました。",
            "%(firm)s: %(count)d件の提出依頼を再送しました。",
            done.sent,
        ) % {"firm": link.firm.name, "count": done.sent}
        if done.without_email:
            text += " " + ngettext(
                "メールアドレスのない依頼%(count)d件は送れません（依頼のページのリンクを本人に渡してください）。",
                "メールアドレスのない依頼%(count)d件は送れません（依頼のページのリンクを本人に渡してください）。",
                done.without_email,
            ) % {"count": done.without_email}
        messages.success(request, text)
        return redirect("portfolio_board")
    if not permits(membership.role, Action.COLLECTION_REQUEST):
        raise Http404
    waiting, with_email = services.client_open_requests(user, seat)
    return render(
        request,
        "practices/board_remind.html",
        {"firm": link.firm, "waiting": waiting, "with_email": with_email},
    )


@allows(Action.PRACTICE_MANAGE)
@login_required
@require_POST
def owner_notice(request: HttpRequest, practice_id: int) -> HttpResponse:
    """The practice's escalation setting (its admin edits it on the practice's page)."""
    admin = practice_seat(request, practice_id)
    _report(
        request,
        lambda: services.owner_notice_set(admin=admin, days=request.POST.get("days", "")),
        _("オーナーへの通知の設定を保存しました。"),
    )
    return redirect("practice_detail", practice_id=practice_id)
