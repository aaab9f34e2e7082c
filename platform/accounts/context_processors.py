"""What every page's header needs: the signed-in user's firms for the switcher."""

from __future__ import annotations

from django.http import HttpRequest

from firms.models import public_url

from .models import Membership


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    membership = getattr(request, "membership", None)
    # Only a member sees the firm's name: a 404 on someone else's host must not leak it.
    tenant = membership.firm if membership is not None else None
    current_slug = getattr(tenant, "slug", None)
    firms = []
    if user is not None and user.is_authenticated and not user.is_operator:
        memberships = Membership.objects.filter(user=user).select_related("firm")
        firms = [
            {
                "name": m.firm.name,
                "slug": m.firm.slug,
                "role": m.get_role_display(),
                "url": public_url(f"/go/{m.firm.slug}/"),
                "current": m.firm.slug == current_slug,
            }
            for m in memberships
        ]
    return {
        "nav_firms": firms,
        "nav_filings": membership is not None and _may_prepare_filings(membership.role),
        "public_home_url": public_url("/"),
        "current_firm": tenant if current_slug else None,
        "current_membership": membership,
    }


def _may_prepare_filings(role: str) -> bool:
    """The firm menu's filings link, for the roles the authorization layer lets prepare one
    (an accountant only where the firm allows it)."""
    from authz.actions import Action
    from authz.decide import permits

    return permits(str(role), Action.FILING_PREPARE)
