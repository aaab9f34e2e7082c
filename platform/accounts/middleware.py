"""Who may see what, decided once per request before any view runs.

On a firm host: anonymous visitors go to the bare domain to sign in; a signed-in user with no
membership gets 404 (so firm names do not leak); a session whose parent session ended is
closed; roles that may see numbers must have MFA enrolled. On the bare domain: operators must
have MFA enrolled before anything else, and the operator console is for operators only.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from allauth.mfa.utils import is_mfa_enabled
from django.contrib.auth import logout
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django_tenants.utils import get_public_schema_name

from firms.models import public_url

from .handoff import PARENT_SESSION_KEY, parent_session_alive
from .models import ROLES_REQUIRING_MFA, Membership
from .services import membership_for
from .support import SupportMembership, active_grant

# The API authenticates each request with its own bearer token (tenants.api), not a session;
# a collection link (/s/) is its own credential, for a person who has no account.
FIRM_HOST_OPEN_PATHS = ("/static/", "/auth/handoff/", "/healthz", "/api/v1/", "/s/")
# What an operator without MFA may still reach: enrolment itself, and the way out.
OPERATOR_PRE_MFA_PATHS = (
    "/static/",
    "/accounts/2fa/",
    "/accounts/reauthenticate/",
    "/accounts/logout/",
    "/accounts/login/",
    "/mfa/required/",
    "/i18n/",
)


def is_public_host(request: HttpRequest) -> bool:
    return request.tenant.schema_name == get_public_schema_name()  # type: ignore[attr-defined]


class AccessPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = None  # type: ignore[attr-defined]
        check = self._public_host if is_public_host(request) else self._firm_host
        refusal = check(request)
        return refusal or self.get_response(request)

    def _public_host(self, request: HttpRequest) -> HttpResponse | None:
        user = request.user
        if request.path.startswith("/operator/") and not (
            user.is_authenticated and user.is_operator
        ):
            raise Http404
        if (
            user.is_authenticated
            and user.is_operator
            and not request.path.startswith(OPERATOR_PRE_MFA_PATHS)
            and not is_mfa_enabled(user)
        ):
            return HttpResponseRedirect("/mfa/required/")
        return None

    def _firm_host(self, request: HttpRequest) -> HttpResponse | None:
        if request.path.startswith(FIRM_HOST_OPEN_PATHS):
            return None
        firm = request.tenant  # type: ignore[attr-defined]
        if request.user.is_authenticated and not parent_session_alive(
            request.session.get(PARENT_SESSION_KEY)
        ):
            logout(request)
        if not request.user.is_authenticated:
            query = urlencode({"next": request.get_full_path()})
            return HttpResponseRedirect(public_url(f"/go/{firm.slug}/?{query}"))
        membership: Membership | SupportMembership | None = membership_for(request.user, firm)
        if membership is None:
            # An operator gets in only under an active, owner-approved support grant, and
            # then only read-only (role "support"): accounts.support.
            grant = active_grant(request.user, firm)
            if grant is None:
                raise Http404
            membership = SupportMembership(request.user, firm, grant)
        request.membership = membership  # type: ignore[attr-defined]
        if membership.role in ROLES_REQUIRING_MFA and not is_mfa_enabled(request.user):
            return HttpResponseRedirect(public_url("/mfa/required/"))
        return None
