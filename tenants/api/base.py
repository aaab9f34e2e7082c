"""The one base class of every firm API view. Authentication and permissions are fixed here;
a subclass that tries to change them fails at import, so no endpoint can be weaker. Each
method names its token scope (`required_scopes`) and its authorization action
(`required_actions`, authz.actions): the token needs the scope, and its member's current role
must be allowed the action (authz.decide), or the request is refused and the refusal logged."""

from __future__ import annotations

from rest_framework.generics import GenericAPIView
from rest_framework.renderers import JSONRenderer

from authz.actions import Action
from tenants.auditlog.services import Actor, actor_from_request

from .authentication import FirmTokenAuthentication
from .permissions import TokenHasScope
from .schema import FirmAutoSchema  # also registers the token scheme with drf-spectacular

FIXED = ("authentication_classes", "permission_classes")
HANDLED_METHODS = ("get", "post", "put", "patch", "delete")


class FirmAPIView(GenericAPIView):
    authentication_classes = [FirmTokenAuthentication]
    permission_classes = [TokenHasScope]
    renderer_classes = [JSONRenderer]
    schema = FirmAutoSchema()
    required_scopes: dict[str, str] = {}
    required_actions: dict[str, Action] = {}
    # Read by authz.web: reached as Action.API, decided here once the token is known.
    authz_api = True
    # The URL's `pk` is a person's id: a refusal is logged against that person.
    pk_is_person = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in FIXED:
            if name in cls.__dict__:
                raise TypeError(f"{cls.__name__} may not override {name}")
        for method in HANDLED_METHODS:
            if method in cls.__dict__ and method.upper() not in cls.required_scopes:
                raise TypeError(f"{cls.__name__}.{method} needs a scope in required_scopes")
            if method in cls.__dict__ and method.upper() not in cls.required_actions:
                raise TypeError(f"{cls.__name__}.{method} needs an action in required_actions")

    @property
    def actor(self) -> Actor:
        return actor_from_request(self.request._request)

    @property
    def firm(self):
        return self.request._request.tenant
