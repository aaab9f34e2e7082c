"""Bring your own key: a firm's KEK in the firm's own AWS account.

The firm creates a symmetric KMS key and lets the platform's role use it, by a grant or a key
policy statement limited to its own encryption context (docs/keys.md has both). Then

    set_firm_byok_key(firm, key_arn, actor_email=...)

checks that the platform can use the key with the firm's encryption context, re-wraps every
data key of the firm under it, and records FirmKey(provider="aws", key_id=<ARN>, byok=True).
The KEK the platform managed before is destroyed once no data key refers to it.

From then on the firm can cut the platform off: disabling the key, scheduling its deletion or
revoking the grant makes every reveal fail closed (keys.errors.FirmKeyRefused, a
KeyUnavailable, so HTTP 503) as soon as the platform's cached data keys expire
(KEY_CACHE_SECONDS), and the health check reports `byok_refused` in both logs.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from firms.models import Firm, FirmKey

from . import generation
from .aws import AwsKmsProvider
from .envelope import rewrap_data_keys
from .errors import CiphertextInvalid, KeyUnavailable
from .events import KeyActor, record_key_event
from .health import round_trip
from .models import RetiredKek
from .rotation import record_failure, retire_unused_keks

logger = logging.getLogger(__name__)

# A key ARN, not an alias: the firm could point an alias at another key at any time.
KEY_ARN = re.compile(
    r"arn:aws(?:-[a-z]+)*:kms:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d):(?P<account>\d{12})"
    r":key/(?P<key>(?:mrk-)?[A-Za-z0-9-]{1,128})"
)


class ByokRejected(Exception):
    """The key cannot be used: malformed ARN, wrong region, wrong key type, or the platform is
    not allowed to use it. The message says which; nothing was changed."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ByokResult:
    firm_slug: str
    key_arn: str
    data_keys_rewrapped: int
    previous_provider: str
    previous_key_retired: bool


def key_reference(key_arn: str) -> str:
    """What the logs record of the key: region and key id. The account id is left out: 12
    digits are indistinguishable from a My Number, and the logs mask anything shaped like one."""
    match = KEY_ARN.fullmatch(key_arn)
    return f"{match['region']}/key/{match['key']}" if match else "invalid"


def byok_context(firm: Firm) -> dict[str, str]:
    return {"firm": firm.schema_name, "purpose": "byok-check", "version": "0"}


def check_byok_key(firm: Firm, key_arn: str, provider: AwsKmsProvider | None = None) -> None:
    """Raise ByokRejected unless the platform can use key_arn for this firm: a well-formed key
    ARN in our region, an enabled symmetric encryption key, and a GenerateDataKey + Decrypt
    (and an Encrypt + Decrypt) round trip under the firm's encryption context."""
    match = KEY_ARN.fullmatch(key_arn)
    if match is None:
        raise ByokRejected(
            "Not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id>). "
            "Aliases are not accepted: they can be pointed at another key.",
            code="bad_arn",
        )
    if match["region"] != settings.AWS_REGION:
        raise ByokRejected(
            f"The key is in {match['region']}; it must be in {settings.AWS_REGION}.",
            code="wrong_region",
        )
    kms = provider or AwsKmsProvider()
    try:
        metadata = kms.describe_key(key_arn)
        if metadata.get("KeyState") != "Enabled":
            raise ByokRejected(
                f"The key is {metadata.get('KeyState')}; enable it first.", code="key_not_enabled"
            )
        if (metadata.get("KeySpec"), metadata.get("KeyUsage")) != (
            "SYMMETRIC_DEFAULT",
            "ENCRYPT_DECRYPT",
        ):
            raise ByokRejected(
                "The key must be a symmetric encryption key (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT).",
                code="wrong_key_type",
            )
        context = byok_context(firm)
        plaintext, wrapped = kms.generate_data_key(key_arn, context)
        if kms.decrypt_data_key(key_arn, wrapped, context) != plaintext:
            raise CiphertextInvalid("GenerateDataKey and Decrypt disagree")
        round_trip(kms, key_arn, context)
    except KeyUnavailable as error:
        raise ByokRejected(
            f"The platform cannot use this key with the firm's encryption context: {error}. "
            "Check the grant or key policy (docs/keys.md).",
            code=error.code,
        ) from error
    except CiphertextInvalid as error:
        raise ByokRejected(f"The key did not round-trip: {error}", code="round_trip") from error


def set_firm_byok_key(
    firm: Firm,
    key_arn: str,
    *,
    actor_email: str,
    actor_user_id: int | None = None,
    ip: str | None = None,
) -> ByokResult:
    """Point the firm's KEK at its own key. Raises ByokRejected (nothing changed, the attempt
    logged in both logs) if the platform cannot use the key."""
    actor = KeyActor(email=actor_email, user_id=actor_user_id, ip=ip)
    key_arn = key_arn.strip()
    provider = AwsKmsProvider()
    try:
        check_byok_key(firm, key_arn, provider)
    except ByokRejected as error:
        logger.error("BYOK_REJECTED firm=%s reason=%s", firm.slug, error.code)
        record_failure(firm, actor=actor, event="byok_set", code=error.code)
        raise
    with tenant_context(firm), transaction.atomic(durable=True):
        firm_key = FirmKey.objects.select_for_update().get(firm=firm)
        if firm_key.state != FirmKey.State.ACTIVE:
            raise KeyUnavailable(
                f"the key of firm {firm.slug} is {firm_key.state}", code=f"key_{firm_key.state}"
            )
        previous = (firm_key.provider, firm_key.key_id, firm_key.byok)
        rewrapped = rewrap_data_keys(firm, provider, key_arn)
        firm_key.provider, firm_key.key_id, firm_key.byok = provider.name, key_arn, True
        firm_key.last_health_check_at, firm_key.last_health_ok = timezone.now(), True
        firm_key.last_health_error = ""
        firm_key.save()
        generation.bump(firm)  # every process fetches the keys again, through the firm's key
        if not previous[2] and previous[1] and previous[1] != key_arn:
            # Ours: destroyed once nothing refers to it. A previous key of the firm's own is
            # left alone: the platform never deletes a key it does not own.
            RetiredKek.objects.create(firm=firm, provider=previous[0], key_id=previous[1])
        record_key_event(
            firm,
            actor=actor,
            event="byok_set",
            detail={
                "key": key_reference(key_arn),
                "previous_provider": previous[0],
                "previous_byok": previous[2],
                "data_keys_rewrapped": rewrapped,
            },
        )
    retired = retire_unused_keks(firm=firm, actor=actor)
    logger.info("firm %s now uses its own KMS key (%d data keys re-wrapped)", firm.slug, rewrapped)
    return ByokResult(
        firm_slug=firm.slug,
        key_arn=key_arn,
        data_keys_rewrapped=rewrapped,
        previous_provider=previous[0],
        previous_key_retired=previous[1] in retired,
    )
