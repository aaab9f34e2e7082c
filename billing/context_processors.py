"""The billing banner on every firm page (past due, read-only, Free plan full)."""

from __future__ import annotations

from django.http import HttpRequest

from .services import banner_for


def billing(request: HttpRequest) -> dict:
    membership = getattr(request, "membership", None)
    if membership is None:
        return {}
    return {
        "billing_banner": banner_for(membership.firm),
        "billing_can_manage": membership.role == "owner",
    }
