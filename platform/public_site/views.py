"""Pages on the bare domain: the public site, and the signed-in user's way into their firms."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts import ratelimit, services
from accounts.handoff import handoff_start
from accounts.models import Invitation, Membership
from accounts.services import signed_in_user
from accounts.support import active_grant
from authz.actions import Action
from authz.web import allows
from billing.plans import CONSUMPTION_TAX_PERCENT
from firms.forms import INVITATION_SESSION_KEY
from firms.models import Firm
from practices.models import PracticeMember
from tenants.auditlog.services import actor_from_request, client_ip

from . import examples, faq, screenshots


def _site_context() -> dict[str, object]:
    """What every page of the public site may show: the worked examples and the pictures."""
    return {
        "small_firm": examples.small_firm(),
        "practice": examples.practice(),
        "free_people": examples.free_people(),
        "trial_days": settings.BILLING_TRIAL_DAYS,
        "tax_percent": CONSUMPTION_TAX_PERCENT,
        "shots": screenshots.shown(get_language()),
    }


@allows(Action.PUBLIC_PAGE)
def landing(request: HttpRequest) -> HttpResponse:
    questions = [faq.BY_SLUG[slug] for slug in faq.ON_LANDING]
    return render(request, "public_site/landing.html", {**_site_context(), "questions": questions})


@allows(Action.PUBLIC_PAGE)
def pricing(request: HttpRequest) -> HttpResponse:
    from billing.plans import PLANS

    return render(
        request,
        "public_site/pricing.html",
        {**_site_context(), "plans": list(PLANS.values())},
    )


@allows(Action.PUBLIC_PAGE)
def security(request: HttpRequest) -> HttpResponse:
    context = {
        "reveal_seconds": settings.REVEAL_DISPLAY_SECONDS,
        "export_days": settings.OFFBOARDING_EXPORT_DAYS,
    }
    return render(request, "public_site/security.html", context)


@allows(Action.PUBLIC_PAGE)
def for_accountants(request: HttpRequest) -> HttpResponse:
    return render(request, "public_site/for_accountants.html", _site_context())


@allows(Action.PUBLIC_PAGE)
def faq_page(request: HttpRequest) -> HttpResponse:
    return render(request, "public_site/faq.html", {"questions": faq.QUESTIONS})


@allows(Action.PUBLIC_PAGE)
def terms(request: HttpRequest) -> HttpResponse:
    return render(request, "public_site/terms.html")


@allows(Action.PUBLIC_PAGE)
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


@allows(Action.ACCOUNT_HOME)
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Where sign-in lands: operators to the console, a one-firm user into the firm."""
    user = signed_in_user(request)
    if user.is_operator:
        return redirect("operator_console")
    memberships = list(Membership.objects.filter(user=user).select_related("firm"))
    invitations = [
        invitation
        for invitation in Invitation.objects.filter(email__iexact=user.email).select_related("firm")
        if invitation.is_open
    ]
    serves_clients = PracticeMember.objects.filter(user=request.user.pk).exists()
    if len(memberships) == 1 and not invitations and not serves_clients:
        return redirect("go_to_firm", slug=memberships[0].firm.slug)
    return render(
        request,
        "public_site/home.html",
        {"memberships": memberships, "invitations": invitations},
    )


@allows(Action.ACCOUNT_HOME)
@login_required
def go_to_firm(request: HttpRequest, slug: str) -> HttpResponse:
    """Open a firm: 404 unless the user belongs to it, else a one-time hand-off to its host."""
    user = signed_in_user(request)
    firm = Firm.objects.filter(slug=slug).first()
    if firm is None or (
        services.membership_for(user, firm) is None and active_grant(user, firm) is None
    ):
        raise Http404
    return redirect(handoff_start(request, user, firm, request.GET.get("next")))


@allows(Action.SIGN_IN)
@login_required
def mfa_required(request: HttpRequest) -> HttpResponse:
    if is_mfa_enabled(request.user):
        return redirect("home")
    return render(request, "public_site/mfa_required.html")


@allows(Action.SIGN_IN)
@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    # Guessing tokens: after INVITATION failures from one address in the window, every
    # attempt is refused alike (accounts.ratelimit); the 256-bit token is the real defence.
    client = client_ip(request) or "unknown"
    if ratelimit.limited("invitation", client):
        messages.error(
            request, _("試行回数が多すぎます。しばらく時間をおいてからもう一度お試しください。")
        )
        return render(request, "public_site/invitation_invalid.html", status=429)
    found = services.invitation_by_token(token)
    if found is None or not found.is_open:
        ratelimit.record_failure("invitation", client)
        return render(request, "public_site/invitation_invalid.html", status=404)
    if not request.user.is_authenticated:
        # Signing up from here joins this firm instead of creating one.
        request.session[INVITATION_SESSION_KEY] = token
        return render(request, "public_site/invitation.html", {"invitation": found})
    if request.method == "POST":
        user = signed_in_user(request)
        try:
            if not EmailAddress.objects.filter(
                user=user, email__iexact=user.email, verified=True
            ).exists():
                raise ValidationError(_("メールアドレスの確認を完了してから参加してください。"))
            membership = services.invitation_accept(
                raw_token=token, user=user, log_actor=actor_from_request(request, role=found.role)
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return render(request, "public_site/invitation.html", {"invitation": found})
        request.session.pop(INVITATION_SESSION_KEY, None)
        return redirect("go_to_firm", slug=membership.firm.slug)
    return render(request, "public_site/invitation.html", {"invitation": found})
