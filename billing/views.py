"""Billing pages on a firm's host (owners only) and the Stripe webhook on the bare domain."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.models import Membership
from authz.actions import Action
from authz.decide import permits
from authz.web import allows

from . import services
from .errors import BillingError, WebhookRejected
from .plans import PAID_PLANS, PLANS


def _owner(request: HttpRequest) -> Membership:
    """Billing is the owner's; anyone else sees the same 404 as a page that does not exist."""
    membership: Membership | None = getattr(request, "membership", None)
    if membership is None or not permits(membership.role, Action.FIRM_SETTINGS):
        raise Http404
    return membership


@allows(Action.FIRM_SETTINGS)
@never_cache
def overview(request: HttpRequest) -> HttpResponse:
    firm = _owner(request).firm
    state = services.billing_state(firm)
    return render(
        request,
        "billing/overview.html",
        {
            "state": state,
            "plans": list(PLANS.values()),
            "paid_plans": PAID_PLANS,
            "people": services.people_count(firm),
            "headcount": services.headcount(firm),
            "has_customer": bool(state.enabled and services.billing_for(firm).stripe_customer_id),
        },
    )


@allows(Action.FIRM_SETTINGS)
@require_POST
def checkout(request: HttpRequest) -> HttpResponse:
    membership = _owner(request)
    try:
        url = services.checkout_start(
            firm=membership.firm,
            plan_code=request.POST.get("plan", ""),
            email=membership.user.email,
            language=get_language() or "ja",
        )
    except BillingError as error:
        messages.error(request, str(error.message))
        return redirect("billing")
    return redirect(url)


@allows(Action.FIRM_SETTINGS)
@require_POST
def portal(request: HttpRequest) -> HttpResponse:
    membership = _owner(request)
    try:
        url = services.portal_url(firm=membership.firm, language=get_language() or "ja")
    except BillingError as error:
        messages.error(request, str(error.message))
        return redirect("billing")
    return redirect(url)


@allows(Action.FIRM_SETTINGS)
def checkout_return(request: HttpRequest) -> HttpResponse:
    membership = _owner(request)
    if services.checkout_returned(
        firm=membership.firm, session_id=request.GET.get("session_id", "")
    ):
        messages.success(request, _("お申し込みありがとうございます。ご契約を開始しました。"))
    else:
        messages.info(request, _("お手続きを確認しています。反映まで少しお待ちください。"))
    return redirect("billing")


@allows(Action.BILLING_WEBHOOK)
@csrf_exempt
@require_POST
def webhook(request: HttpRequest) -> HttpResponse:
    """Stripe's events. The signature is checked before anything is stored; the event is
    processed by a task (billing.tasks), so this answers within Stripe's timeout."""
    try:
        services.webhook_receive(request.body, request.headers.get("Stripe-Signature"))
    except WebhookRejected:
        return HttpResponseBadRequest("invalid signature", content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")
