from __future__ import annotations

from rest_framework.permissions import BasePermission


class TokenHasScope(BasePermission):
    """The view names the scope each HTTP method needs (`required_scopes`)."""

    message = "This token lacks the scope this endpoint needs."

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if token is None:
            return False
        if not hasattr(view, request.method.lower()):
            return True  # no such method here: DRF answers 405 next
        needed = view.required_scopes.get(request.method)
        return needed is not None and needed in token.scopes
