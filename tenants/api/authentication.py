"""Bearer tokens scoped to one firm. A token presented on another firm's host is no token."""

from __future__ import annotations

from rest_framework import authentication, exceptions

from accounts.api_tokens import api_token_for, api_token_touch


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
            raise exceptions.AuthenticationFailed("invalid token")
        token, membership = found
        api_token_touch(token)
        # What the access log and the role policy read, as for a signed-in member.
        request._request.api_token = token
        request._request.membership = membership
        return token.user, token

    def authenticate_header(self, request) -> str:
        return self.keyword
