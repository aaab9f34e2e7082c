"""Pages on a firm's host. AuthorizationMiddleware has already checked membership and MFA, and
set request.membership; views here only decide what the role may do."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import services
from accounts.api_tokens import api_token_create, api_token_revoke
from accounts.handoff import end_parent_session, handoff_redeem
from accounts.models import ApiToken, Invitation, Membership, Role, SupportGrant
from authz.actions import Action
from authz.decide import permits
from authz.web import allows
from billing.services import billing_enabled, billing_state
from firms.models import public_url
from tenants.auditlog.services import actor_from_request, log_access

from .forms import ApiTokenForm, FirmSettingsForm, InvitationForm, RoleForm
from .insights import dashboard_charts
from .models import FirmSettings
from .onboarding import onboarding_status, purposes_confirm


@allows(Action.FIRM_HOME)
def dashboard(request: HttpRequest) -> HttpResponse:
    from tenants.custody.models import MyNumberRecord, Person

    firm = request.tenant  # type: ignore[attr-defined]
    choose_plan = billing_enabled() and billing_state(firm).status == "none"
    pending_support = SupportGrant.objects.filter(
        firm=firm, status=SupportGrant.Status.PENDING
    ).count()
    membership: Membership = request.membership  # type: ignore[attr-defined]
    return render(
        request,
        "workspace/dashboard.html",
        {
            "firm": firm,
            "pending_support": pending_support,
            "choose_plan": choose_plan,
            "member_count": Membership.objects.filter(firm=firm).count(),
            "people_count": Person.objects.count(),
            "number_count": MyNumberRecord.objects.count(),
            # The first-run checklist is the owner's: only owners name handlers and purposes.
            "onboarding": onboarding_status(firm) if membership.role == Role.OWNER else None,
            "charts": dashboard_charts(),
        },
    )


@allows(Action.PURPOSES_MANAGE)
@require_POST
def purposes_confirmed(request: HttpRequest) -> HttpResponse:
    """An owner confirms the purposes of use (step 1 of the first-run checklist)."""
    actor: Membership = request.membership  # type: ignore[attr-defined]
    if not permits(actor.role, Action.PURPOSES_MANAGE):
        raise Http404
    purposes_confirm(actor=actor_from_request(request))
    messages.success(request, _("利用目的を確定しました。"))
    return redirect("dashboard")


@allows(Action.MEMBERS_VIEW, POST=Action.MEMBERS_MANAGE)
def members(request: HttpRequest) -> HttpResponse:
    actor: Membership = request.membership  # type: ignore[attr-defined]
    firm = actor.firm
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.invitation_create(
                actor=actor,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                log_actor=actor_from_request(request),
            )
        except PermissionDenied as error:
            messages.error(request, _message(error))
            return redirect("members")
        except ValidationError as error:
            form.add_error(None, _message(error))
        else:
            messages.success(request, _("招待メールを送信しました。"))
            return redirect("members")
    return render(
        request,
        "workspace/members.html",
        {
            "form": form,
            "is_owner": actor.role == Role.OWNER,
            "memberships": Membership.objects.filter(firm=firm).select_related("user"),
            "invitations": [i for i in Invitation.objects.filter(firm=firm) if i.is_open],
            "roles": Role.choices,
        },
    )


@allows(Action.MEMBERS_MANAGE)
@require_POST
def member_change_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    actor: Membership = request.membership  # type: ignore[attr-defined]
    target = get_object_or_404(Membership, pk=membership_id, firm=actor.firm)
    form = RoleForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_("役割が正しくありません。一覧から役割を選んでください。"))
        services.membership_change_role(
            actor=actor,
            membership=target,
            role=form.cleaned_data["role"],
            log_actor=actor_from_request(request),
        )
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, _message(error))
    else:
        messages.success(request, _("役割を変更しました。"))
    return redirect("members")


@allows(Action.MEMBERS_MANAGE)
@require_POST
def member_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    actor: Membership = request.membership  # type: ignore[attr-defined]
    target = get_object_or_404(Membership, pk=membership_id, firm=actor.firm)
    try:
        services.membership_remove(
            actor=actor, membership=target, log_actor=actor_from_request(request)
        )
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, _message(error))
    else:
        messages.success(request, _("メンバーを削除しました。"))
    return redirect("members")


@allows(Action.MEMBERS_MANAGE)
@require_POST
def invitation_revoke(request: HttpRequest, invitation_id: int) -> HttpResponse:
    actor: Membership = request.membership  # type: ignore[attr-defined]
    invitation = get_object_or_404(Invitation, pk=invitation_id, firm=actor.firm)
    try:
        services.invitation_revoke(
            actor=actor, invitation=invitation, log_actor=actor_from_request(request)
        )
    except PermissionDenied as error:
        messages.error(request, _message(error))
    else:
        messages.success(request, _("招待を取り消しました。"))
    return redirect("members")


@allows(Action.SIGN_IN)
def handoff(request: HttpRequest) -> HttpResponse:
    next_path = handoff_redeem(request, request.GET.get("t", ""))
    if next_path is None:
        raise Http404
    return redirect(next_path)


@allows(Action.FIRM_HOME)
@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    end_parent_session(request)
    logout(request)
    return redirect(public_url("/"))


def _message(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error) or _("この操作を行う権限がありません。")


@allows(Action.TOKENS_MANAGE)
def api_tokens(request: HttpRequest) -> HttpResponse:
    """Owners create and revoke the firm's API tokens; a new token is shown once. A token is
    minted in the owner's own name only: it acts as, and is logged under, its holder."""
    actor: Membership = request.membership  # type: ignore[attr-defined]
    if not permits(actor.role, Action.TOKENS_MANAGE):
        raise Http404
    members = Membership.objects.filter(firm=actor.firm).select_related("user")
    form = ApiTokenForm(request.POST or None, members=members)
    raw_token = None
    if request.method == "POST" and form.is_valid():
        # The holder is the owner minting it; a post naming another member (an old form, a
        # script) reaches the service, which refuses it with a clear message.
        named = form.cleaned_data["user"] or str(actor.user_id)
        user = next(m.user for m in members if str(m.user_id) == named)
        try:
            _token, raw_token = api_token_create(
                firm=actor.firm,
                user=user,
                scopes=form.cleaned_data["scopes"],
                name=form.cleaned_data["name"],
                actor=actor_from_request(request),
            )
        except (ValidationError, PermissionDenied) as error:
            form.add_error(None, _message(error))
        else:
            form = ApiTokenForm(members=members)
    return render(
        request,
        "workspace/api_tokens.html",
        {
            "form": form,
            "raw_token": raw_token,
            "tokens": ApiToken.objects.filter(firm=actor.firm).select_related("user"),
        },
    )


@allows(Action.TOKENS_MANAGE)
@require_POST
def api_token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    actor: Membership = request.membership  # type: ignore[attr-defined]
    if not permits(actor.role, Action.TOKENS_MANAGE):
        raise Http404
    token = get_object_or_404(ApiToken, pk=token_id, firm=actor.firm)
    api_token_revoke(token, actor=actor_from_request(request))
    messages.success(request, _("トークンを無効にしました。"))
    return redirect("api_tokens")


@allows(Action.FIRM_SETTINGS)
def firm_settings(request: HttpRequest) -> HttpResponse:
    """Owners decide, for example, whether accountants may reveal numbers; every change is
    a permission event in the access log."""
    actor: Membership = request.membership  # type: ignore[attr-defined]
    if not permits(actor.role, Action.FIRM_SETTINGS):
        raise Http404
    current = FirmSettings.current()
    form = FirmSettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        changed = {name: form.cleaned_data[name] for name in form.changed_data}
        with transaction.atomic():
            form.save()
            log_access(actor=actor_from_request(request), action="permission", detail=changed)
        messages.success(request, _("設定を保存しました。"))
        return redirect("firm_settings")
    return render(request, "workspace/settings.html", {"form": form})
