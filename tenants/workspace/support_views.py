"""The owner's side of break-glass support access: see every request, approve or deny, end
an approved one early. Owners only; for everyone else the page does not exist."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Membership, SupportGrant
from accounts.support import support_decide, support_revoke
from authz.actions import Action
from authz.decide import permits
from authz.web import allows


def _owner(request: HttpRequest) -> Membership:
    membership = request.membership  # type: ignore[attr-defined]
    if not permits(membership.role, Action.FIRM_SETTINGS):
        raise Http404
    return membership


@allows(Action.FIRM_SETTINGS)
def support_access(request: HttpRequest) -> HttpResponse:
    membership = _owner(request)
    grants = SupportGrant.objects.filter(firm=membership.firm).select_related("operator")
    return render(request, "workspace/support_access.html", {"grants": grants})


@allows(Action.FIRM_SETTINGS)
@require_POST
def support_access_decide(request: HttpRequest, grant_id: int) -> HttpResponse:
    membership = _owner(request)
    grant = get_object_or_404(SupportGrant, pk=grant_id, firm=membership.firm)
    action = request.POST.get("decision")
    try:
        if action == "revoke":
            support_revoke(membership=membership, grant=grant)
            messages.success(request, _("サポートアクセスを終了しました。"))
        else:
            approve = action == "approve"
            support_decide(membership=membership, grant=grant, approve=approve)
            messages.success(
                request,
                _("承認しました。期限が来ると自動的に終了します。")
                if approve
                else _("拒否しました。"),
            )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("support_access")
