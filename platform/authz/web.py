"""The web side of the authorization layer: every view declares its action, and one
middleware asks `authz` before any view runs.

- `@allows(Action.X, POST=Action.Y)` on a function view names the action of each method
  (`POST=` overrides for that method). A firm API view (tenants.api.base.FirmAPIView) names
  its actions per method in `required_actions`; it is reached as `Action.API` here and
  decided by its permission class once its token is known.
- Third-party views (allauth's sign-in pages, Django's language switch, the OpenAPI schema)
  get their action from `THIRD_PARTY`, by module.
- A view that declares nothing is refused (404, and an error in the server log): a forgotten
  declaration fails closed. tests/authz/test_declared.py walks both URL confs and fails on it.

On a firm host: anonymous visitors go to the bare domain to sign in; a user who is not a
member (and no operator under an active support grant), or whose account is inactive, gets
404 so firm names do not leak; roles that may see numbers without MFA go to enrolment; a role
the action does not allow gets 403 and the refusal is written to the firm's log. On the bare
domain: sign-in and public pages are open; an operator without MFA reaches only enrolment;
the operator console is 404 to anyone else; pages that read firm data need MFA.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django_tenants.utils import get_public_schema_name

from .actions import RULES, Action, Where
from .decide import account_usable, deny, firm_access, has_mfa, permits
from .errors import NOT_ALLOWED, flush_pending

logger = logging.getLogger(__name__)

# Views we do not write: each module's views and the action they all take.
THIRD_PARTY: tuple[tuple[str, Action], ...] = (
    ("allauth.", Action.SIGN_IN),
    ("django.views.i18n", Action.PUBLIC_PAGE),
    ("drf_spectacular.", Action.PUBLIC_PAGE),
)
# On a firm host nothing is public: the public site's pages that are also served there (help,
# the language switch, the API docs) are for the firm's members.
OPEN_ON_FIRM_HOST = frozenset({Action.SIGN_IN, Action.SUBMIT_BY_LINK, Action.API})


def allows(action: Action, **by_method: Action) -> Callable:
    """Declare what a view does: `action` for every method, or per method by keyword."""

    def mark(view: Callable) -> Callable:
        view.authz_action = action  # type: ignore[attr-defined]
        view.authz_by_method = {m.upper(): a for m, a in by_method.items()}  # type: ignore[attr-defined]
        return view

    return mark


def declared_action(view: Callable, method: str = "GET") -> Action | None:
    view_class = getattr(view, "cls", None) or getattr(view, "view_class", None)
    if view_class is not None and getattr(view_class, "authz_api", False):
        return Action.API
    action = getattr(view, "authz_action", None)
    if action is not None:
        return getattr(view, "authz_by_method", {}).get(method.upper(), action)
    module = getattr(view_class or view, "__module__", "") or ""
    return next((act for prefix, act in THIRD_PARTY if module.startswith(prefix)), None)


def is_public_host(request: HttpRequest) -> bool:
    return request.tenant.schema_name == get_public_schema_name()  # type: ignore[attr-defined]


def view_name(view: Callable) -> str:
    target = getattr(view, "cls", None) or getattr(view, "view_class", None) or view
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', '?')}"


class AuthorizationMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = None  # type: ignore[attr-defined]
        try:
            return self.get_response(request)
        finally:
            # Denials raised inside a transaction and caught on the way out are written now.
            flush_pending()

    def process_view(
        self, request: HttpRequest, view: Callable, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        action = declared_action(view, request.method or "GET")
        if action is None:
            logger.error("view %s declares no authorization action: refused", view_name(view))
            raise Http404
        if is_public_host(request):
            return self._bare_domain(request, action)
        return self._firm_host(request, action)

    # -- the bare domain -----------------------------------------------------------------

    def _bare_domain(self, request: HttpRequest, action: Action) -> HttpResponse | None:
        where = RULES[action].where
        if where in (Where.FIRM, Where.SYSTEM):
            # A firm's action has no firm here, and the system's is no page: fail closed.
            raise Http404
        user: Any = request.user
        if where is Where.OPERATOR and not (account_usable(user) and user.is_operator):
            raise Http404
        if action is Action.SIGN_IN:
            return None
        if account_usable(user) and user.is_operator and not has_mfa(user):
            # An operator reaches nothing but enrolment and sign-out until MFA is set.
            return HttpResponseRedirect("/mfa/required/")
        if where is Where.ANYONE:
            return None
        if not account_usable(user):
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        if where is Where.ACCOUNT_MFA and not has_mfa(user):
            return HttpResponseRedirect("/mfa/required/")
        return None

    # -- a firm's host -------------------------------------------------------------------

    def _firm_host(self, request: HttpRequest, action: Action) -> HttpResponse | None:
        from accounts.handoff import PARENT_SESSION_KEY, parent_session_alive
        from firms.models import public_url
        from tenants.auditlog.services import actor_from_request

        if action in OPEN_ON_FIRM_HOST:
            return None
        if RULES[action].where in (Where.OPERATOR, Where.SYSTEM):
            # The operator console and the system's jobs are no firm page: fail closed.
            raise Http404
        firm = request.tenant  # type: ignore[attr-defined]
        if request.user.is_authenticated and not parent_session_alive(
            request.session.get(PARENT_SESSION_KEY)
        ):
            logout(request)
        if not request.user.is_authenticated:
            query = urlencode({"next": request.get_full_path()})
            return HttpResponseRedirect(public_url(f"/go/{firm.slug}/?{query}"))
        access = firm_access(request.user, firm)
        if access is None:
            raise Http404
        request.membership = access.membership  # type: ignore[attr-defined]
        if access.mfa_missing:
            return HttpResponseRedirect(public_url("/mfa/required/"))
        firm_action = Action.FIRM_HOME if RULES[action].where is not Where.FIRM else action
        if not permits(access.role, firm_action):
            deny(
                actor_from_request(request),
                firm_action,
                detail={"path": request.path[:200], "method": request.method},
            )
            raise PermissionDenied(str(NOT_ALLOWED))
        return None
