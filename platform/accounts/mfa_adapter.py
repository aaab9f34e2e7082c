"""MFA secrets at rest (the TOTP secret, the recovery-code seed): sealed under the platform key
(keys.platform_key), never SECRET_KEY, and bound to the authenticator row that holds them.

Stored form: "mfa2:" + URL-safe base64 of a platform-key blob whose associated data names the
user, the authenticator row, its type and the field (`secret`, `seed`, ...). A secret copied
or moved to another authenticator row (say, the attacker's own TOTP secret written onto the
victim's row) does not open there, and a value without the prefix is refused, never read as
plaintext.

allauth's hooks see only the text: `encrypt(text)` runs before the row exists, `decrypt(text)`
gets the stored string alone. So the binding comes from the row through two signals
(connected in accounts.apps):

- post_save of a new row: every value `encrypt` sealed "staged" (bound to no row, prefix
  "mfa2s:", which `decrypt` refuses) is sealed again under the row's binding and written back;
- post_init (every row read or built): every "mfa2:" value of the row's data becomes a
  `BoundSecret`, a str that carries the binding taken from the row's own columns (id, user,
  type), not from the stored text; `decrypt` accepts nothing else.

Secrets sealed before this (prefix "v1:", AES-GCM under an HKDF of SECRET_KEY) are re-sealed by
the data migration accounts 0007. docs/architecture.md "MFA".
"""

from __future__ import annotations

import base64
import logging
from typing import Any

from allauth.mfa.adapter import DefaultMFAAdapter
from django.db.models.signals import post_init, post_save

from keys import platform_key
from keys.errors import CiphertextInvalid

logger = logging.getLogger(__name__)

PREFIX = "mfa2:"
STAGED_PREFIX = "mfa2s:"
PURPOSE = "mfa-secret"
STAGED_PURPOSE = "mfa-secret-staged"


class MFASecretRefused(CiphertextInvalid):
    """A stored MFA secret is not sealed for the authenticator row that holds it (moved,
    copied, staged, or without the scheme prefix). Never read as plaintext."""


class BoundSecret(str):
    """A sealed MFA value as read from an authenticator row, carrying that row's binding."""

    binding: dict[str, str]

    def __new__(cls, value: str, binding: dict[str, str]) -> BoundSecret:
        bound = super().__new__(cls, value)
        bound.binding = binding
        return bound


def binding(*, user_id: object, authenticator_id: object, kind: str, field: str) -> dict[str, str]:
    return {
        "user": str(user_id),
        "authenticator": str(authenticator_id),
        "type": kind,
        "field": field,
    }


def seal_bound(secret: str, bound_to: dict[str, str]) -> str:
    blob = platform_key.seal(secret.encode(), purpose=PURPOSE, context=bound_to)
    return PREFIX + base64.urlsafe_b64encode(blob).decode()


class MFAAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        # Staged: the row does not exist yet. post_save binds it before anyone can use it.
        blob = platform_key.seal(text.encode(), purpose=STAGED_PURPOSE, context={})
        return STAGED_PREFIX + base64.urlsafe_b64encode(blob).decode()

    def decrypt(self, encrypted_text: str) -> str:
        if not isinstance(encrypted_text, BoundSecret) or not encrypted_text.startswith(PREFIX):
            logger.error("MFA_SECRET_REFUSED reason=not_sealed_for_this_authenticator")
            raise MFASecretRefused("the MFA secret is not sealed for this authenticator")
        try:
            blob = base64.urlsafe_b64decode(encrypted_text[len(PREFIX) :])
            return platform_key.unseal(
                blob, purpose=PURPOSE, context=encrypted_text.binding
            ).decode()
        except (CiphertextInvalid, ValueError) as error:
            logger.error(
                "MFA_SECRET_REFUSED reason=does_not_open authenticator=%s",
                encrypted_text.binding.get("authenticator"),
            )
            raise MFASecretRefused("the MFA secret does not open for this authenticator") from error


def _fields(data: Any) -> list[tuple[str, Any]]:
    return list(data.items()) if isinstance(data, dict) else []


def _row_binding(instance: Any, field: str) -> dict[str, str]:
    return binding(
        user_id=instance.user_id, authenticator_id=instance.pk, kind=instance.type, field=field
    )


def _map_values(instance: Any, change: Any) -> dict[str, Any] | None:
    """The row's data with `change(value, field)` applied to every string (top level, or in
    a list under a key); None if nothing changed."""
    data = instance.__dict__.get("data")
    changed = False
    result: dict[str, Any] = {}
    for field, value in _fields(data):
        if isinstance(value, str):
            new = change(value, field)
            changed = changed or new is not value
            result[field] = new
        elif isinstance(value, list):
            items = [change(item, field) if isinstance(item, str) else item for item in value]
            changed = changed or any(new is not old for new, old in zip(items, value, strict=True))
            result[field] = items
        else:
            result[field] = value
    return result if changed else None


def _bind_on_load(sender: Any, instance: Any, **kwargs: Any) -> None:
    """post_init: mark the row's sealed values with the row's own binding."""
    if instance.pk is None:
        return

    def bind(value: str, field: str) -> str:
        if value.startswith(PREFIX) and not isinstance(value, BoundSecret):
            return BoundSecret(value, _row_binding(instance, field))
        return value

    bound = _map_values(instance, bind)
    if bound is not None:
        instance.data = bound


def _seal_staged_on_create(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    """post_save of a new row: seal what encrypt() staged under the row's binding."""
    if not created:
        return

    def rebind(value: str, field: str) -> str:
        if not value.startswith(STAGED_PREFIX):
            return value
        staged = base64.urlsafe_b64decode(value[len(STAGED_PREFIX) :])
        secret = platform_key.unseal(staged, purpose=STAGED_PURPOSE, context={}).decode()
        row = _row_binding(instance, field)
        return BoundSecret(seal_bound(secret, row), row)

    sealed = _map_values(instance, rebind)
    if sealed is not None:
        sender.objects.filter(pk=instance.pk).update(data=sealed)
        instance.data = sealed


def connect_signals() -> None:
    from allauth.mfa.models import Authenticator

    post_init.connect(_bind_on_load, sender=Authenticator, dispatch_uid="mfa-bind-on-load")
    post_save.connect(_seal_staged_on_create, sender=Authenticator, dispatch_uid="mfa-seal-staged")
