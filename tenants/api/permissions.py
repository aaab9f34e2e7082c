from __future__ import annotations

from rest_framework.permissions import BasePermission

from authz.decide import deny, permits
from tenants.auditlog.services import actor_from_request


class TokenHasScope(BasePermission):
    """The view names the scope each HTTP method needs (`required_scopes`) and the action
    (`required_actions`); the token's member must be allowed the action by the authorization
    layer, which logs a refusal in the firm's log and raises authz.errors.Denied."""

    message = "This token lacks the scope this endpoint needs."

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if token is None:
            return False
        if not hasattr(view, request.method.lower()):
            return True  # no such method here: DRF answers 405 next
        needed = view.required_scopes.get(request.method)
        action = view.required_actions.get(request.method)
        if needed is None or action is None:
            return False
        actor = actor_from_request(request._request)
        if needed not in token.scopes:
            raise deny(actor, action, message=self.message, person_id=_person_named(view),
                       detail={"scope": needed})  # fmt: skip
        if not permits(actor.role, action):
            raise deny(actor, action, person_id=_person_named(view))
        return True


def _person_named(view) -> int | None:
    """Whose record a refusal was about, where the URL names a person of this firm (the
    access log's "whose"). Asked only on a refusal; an id naming nobody here, a number-shaped
    one included, is not written into the log."""
    from tenants.custody.models import Person

    pk = view.kwargs.get("pk") if view.pk_is_person else None
    if isinstance(pk, int) and Person.objects.filter(pk=pk).exists():
        return pk
    return None
