"""Bearer tokens scoped to one firm. A token presented on another firm's host is no token."""

from __future__ import annotations

from django_tenants.utils import tenant_context
from rest_framework import authentication, exceptions

from accounts.api_tokens import RefusedToken, api_token_for, api_token_refused, api_token_touch
from tenants.auditlog.errors import AuditLogUnavailable
from tenants.auditlog.models import ActorRole
from tenants.auditlog.services import Actor, client_ip, log_access_denied

PATH_MAX = 200


class FirmTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization: Bearer TOKEN")
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError as error:
            raise exceptions.AuthenticationFailed("invalid token") from error
        found = api_token_for(raw, request._request.tenant)
        if found is None:
            _log_refusal(request._request, raw)
            raise exceptions.AuthenticationFailed("invalid token")
        token, membership = found
        api_token_touch(token)
        # What the access log and the role policy read, as for a signed-in member.
        request._request.api_token = token
        request._request.membership = membership
        return token.user, token

    def authenticate_header(self, request) -> str:
        return self.keyword


def _log_refusal(request, raw: str) -> None:
    """A real token of this firm that no longer works (revoked, its holder deactivated or no
    longer a member) is logged in the firm's log as a denied login of its holder: someone
    still holds it. A value that never was a token is not logged, so garbage cannot flood
    the log. The request is refused whether or not the entry could be written."""
    firm = request.tenant
    refused: RefusedToken | None = api_token_refused(raw, firm)
    if refused is None:
        return
    token = refused.token
    actor = Actor(
        user_id=token.user_id,
        email=token.user.email,
        role=ActorRole.API,
        api_token_id=token.pk,
        ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        request_id=getattr(request, "request_id", ""),
    )
    detail = {"via": "api_token", "reason": refused.reason, "method": request.method,
              "path": request.path[:PATH_MAX]}  # fmt: skip
    try:
        with tenant_context(firm):
            log_access_denied(actor=actor, action="login", detail=detail)
    except AuditLogUnavailable:
        pass  # refused anyway; the write failure raised its own alarm line
