"""AWS KMS as the key provider: one customer-managed symmetric key per firm.

Endpoint, region and credentials come from settings, so the same code talks to AWS or to any
KMS-compatible endpoint (the tests use moto in server mode on loopback). Timeouts and retries
are short and bounded: when KMS is unreachable a reveal fails closed in seconds, not minutes.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from . import metrics
from .errors import CiphertextInvalid, KeyUnavailable

if TYPE_CHECKING:
    from firms.models import Firm

SERVICE_TAG = "mynumber-custody"
# The shortest waiting period KMS allows; within it, CancelKeyDeletion can still undo a mistake.
DELETION_WINDOW_DAYS = 7

_clients: dict[tuple[Any, ...], Any] = {}
_clients_lock = threading.Lock()

# KMS error codes that mean "this ciphertext does not open here", not "KMS is unavailable".
_INVALID_CIPHERTEXT_CODES = {"InvalidCiphertextException", "IncorrectKeyException"}
# Stable reason codes for alerts (KMS_HEALTH_FAILED ... reason=<code>) and log entries.
_CODES = {
    "DisabledException": "key_disabled",
    "KMSInvalidStateException": "key_invalid_state",
    "AccessDeniedException": "access_denied",
    "NotFoundException": "key_not_found",
    "KeyUnavailableException": "key_unavailable",
    "DependencyTimeoutException": "kms_timeout",
    "KMSInternalException": "kms_internal",
    "ThrottlingException": "throttled",
    "UnrecognizedClientException": "bad_credentials",
}
_REASONS = {
    "DisabledException": "the key is disabled",
    "KMSInvalidStateException": "the key is not usable in its state (pending deletion?)",
    "AccessDeniedException": "access to the key is denied",
    "NotFoundException": "the key does not exist",
    "KeyUnavailableException": "the key is temporarily unavailable",
    "DependencyTimeoutException": "KMS timed out",
    "KMSInternalException": "KMS failed internally",
    "ThrottlingException": "KMS is throttling requests",
    "UnrecognizedClientException": "KMS does not recognise the credentials",
}


def kms_client() -> Any:
    """A boto3 KMS client for the current settings, built once per configuration (clients are
    thread-safe; building one costs tens of milliseconds)."""
    config_key = (
        settings.AWS_KMS_ENDPOINT_URL,
        settings.AWS_REGION,
        settings.AWS_ACCESS_KEY_ID,
        settings.AWS_SECRET_ACCESS_KEY,
        settings.AWS_KMS_CONNECT_TIMEOUT,
        settings.AWS_KMS_READ_TIMEOUT,
        settings.AWS_KMS_MAX_ATTEMPTS,
    )
    with _clients_lock:
        client = _clients.get(config_key)
        if client is None:
            # A session per client: boto3's default session is not thread-safe.
            session = boto3.session.Session(
                aws_access_key_id=settings.AWS_ACCESS_KEY_ID,
                aws_secret_access_key=settings.AWS_SECRET_ACCESS_KEY,
                region_name=settings.AWS_REGION,
            )
            client = session.client(
                "kms",
                endpoint_url=settings.AWS_KMS_ENDPOINT_URL,
                config=Config(
                    connect_timeout=settings.AWS_KMS_CONNECT_TIMEOUT,
                    read_timeout=settings.AWS_KMS_READ_TIMEOUT,
                    # total_max_attempts counts the first request; botocore's max_attempts
                    # would count only the retries (one attempt more than the setting says).
                    retries={
                        "total_max_attempts": settings.AWS_KMS_MAX_ATTEMPTS,
                        "mode": "standard",
                    },
                ),
            )
            _clients[config_key] = client
        return client


def alias_for(firm: Firm) -> str:
    return f"{settings.AWS_KMS_ALIAS_PREFIX}{firm.slug}"


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


class AwsKmsProvider:
    name = "aws"

    def __init__(self, client: Any | None = None) -> None:
        self._client = client if client is not None else kms_client()

    def create_key(self, firm: Firm) -> str:
        key_id = self._new_key(
            f"new key for firm {firm.slug}",
            description=f"My Number custody: key-encryption key of firm {firm.slug}",
            tags={"firm_slug": firm.slug, "firm_schema": firm.schema_name},
        )
        self._point_alias(alias_for(firm), key_id)
        return key_id

    def create_platform_key(self) -> str:
        """The platform KEK (keys.platform_key), when PLATFORM_KMS_KEY_ID names none: a key of
        its own, tagged purpose=platform, with the alias <prefix>_platform (a firm slug has
        no underscore, so no firm can take it)."""
        key_id = self._new_key(
            "new platform key",
            description="My Number custody: platform key-encryption key (platform secrets)",
            tags={"purpose": "platform"},
        )
        self._point_alias(f"{settings.AWS_KMS_ALIAS_PREFIX}_platform", key_id)
        return key_id

    def _new_key(self, subject: str, *, description: str, tags: dict[str, str]) -> str:
        extra: dict[str, Any] = {}
        if settings.AWS_KMS_KEY_POLICY:
            # The key policy infra/terraform renders (output firm_kek_policy_json): only the
            # application role may use the key, and no human principal may decrypt with it.
            extra["Policy"] = settings.AWS_KMS_KEY_POLICY
            # The policy gives PutKeyPolicy to the break-glass admin roles, not to us, so
            # KMS's lockout check (which asks that the caller keep it) must be skipped.
            extra["BypassPolicyLockoutSafetyCheck"] = True
        response = self._call(
            "create_key",
            subject,
            Description=description,
            KeyUsage="ENCRYPT_DECRYPT",
            KeySpec="SYMMETRIC_DEFAULT",
            Tags=[{"TagKey": key, "TagValue": value} for key, value in tags.items()]
            + [{"TagKey": "service", "TagValue": SERVICE_TAG}],
            **extra,
        )
        key_id = str(response["KeyMetadata"]["Arn"])
        if settings.AWS_KMS_ENABLE_KEY_ROTATION:
            # KMS rotates the key material yearly and keeps old material for old wraps.
            self._call("enable_key_rotation", key_id, KeyId=key_id)
        return key_id

    def generate_data_key(self, key_id: str, context: dict[str, str]) -> tuple[bytes, bytes]:
        response = self._call(
            "generate_data_key", key_id, KeyId=key_id, KeySpec="AES_256", EncryptionContext=context
        )
        return bytes(response["Plaintext"]), bytes(response["CiphertextBlob"])

    def wrap_data_key(self, key_id: str, plaintext: bytes, context: dict[str, str]) -> bytes:
        """Wrap an existing data key under this KEK (re-wrapping after a KEK change)."""
        response = self._call(
            "encrypt", key_id, KeyId=key_id, Plaintext=plaintext, EncryptionContext=context
        )
        return bytes(response["CiphertextBlob"])

    def describe_key(self, key_id: str) -> dict[str, Any]:
        return dict(self._call("describe_key", key_id, KeyId=key_id)["KeyMetadata"])

    def point_alias(self, firm: Firm, key_id: str) -> None:
        """Point the firm's alias at key_id (a rotation that rolled back puts it back)."""
        self._point_alias(alias_for(firm), key_id)

    def decrypt_data_key(self, key_id: str, wrapped: bytes, context: dict[str, str]) -> bytes:
        # KeyId pins the key: KMS refuses a blob wrapped under any other key.
        response = self._call(
            "decrypt", key_id, CiphertextBlob=wrapped, KeyId=key_id, EncryptionContext=context
        )
        return bytes(response["Plaintext"])

    def schedule_key_deletion(self, key_id: str) -> None:
        try:
            self._invoke(
                "schedule_key_deletion",
                key_id,
                KeyId=key_id,
                PendingWindowInDays=DELETION_WINDOW_DAYS,
            )
        except ClientError as exc:
            # Already scheduled (a retried offboarding whose database step failed): done.
            if _error_code(exc) == "KMSInvalidStateException" and self._state(key_id) in {
                "PendingDeletion",
                "PendingReplicaDeletion",
            }:
                return
            raise self._mapped(exc, "schedule_key_deletion", key_id) from exc

    def health_check(self, key_id: str) -> None:
        state = self._state(key_id)
        if state != "Enabled":
            code = "key_disabled" if state == "Disabled" else "key_invalid_state"
            raise KeyUnavailable(f"KMS key {key_id} is {state}", code=code)

    def _state(self, key_id: str) -> str:
        return str(self._call("describe_key", key_id, KeyId=key_id)["KeyMetadata"]["KeyState"])

    def _point_alias(self, alias: str, key_id: str) -> None:
        """Create the alias, or move it: an alias left by a firm whose provisioning rolled back
        (or that was offboarded) must name the slug's new key."""
        try:
            self._invoke("create_alias", alias, AliasName=alias, TargetKeyId=key_id)
        except ClientError as exc:
            if _error_code(exc) != "AlreadyExistsException":
                raise self._mapped(exc, "create_alias", alias) from exc
            self._call("update_alias", alias, AliasName=alias, TargetKeyId=key_id)

    def _call(self, operation: str, subject: str, **params: Any) -> Any:
        try:
            return self._invoke(operation, subject, **params)
        except ClientError as exc:
            raise self._mapped(exc, operation, subject) from exc

    def _invoke(self, operation: str, subject: str, **params: Any) -> Any:
        """One KMS request, counted. Transport failures become KeyUnavailable here; KMS's own
        refusals stay ClientError for the caller to map."""
        metrics.record_provider_call()
        try:
            return getattr(self._client, operation)(**params)
        except BotoCoreError as exc:
            # EndpointConnectionError, timeouts, missing credentials: KMS is out of reach.
            raise KeyUnavailable(
                f"KMS unreachable during {operation} for {subject} ({type(exc).__name__})",
                code="unreachable",
            ) from exc

    @staticmethod
    def _mapped(exc: ClientError, operation: str, subject: str) -> Exception:
        code = _error_code(exc)
        if code in _INVALID_CIPHERTEXT_CODES:
            return CiphertextInvalid(
                f"KMS {operation} refused the wrapped key for {subject}: wrong encryption "
                f"context, wrong key or tampered ({code})"
            )
        reason = _REASONS.get(code, "KMS refused the request")
        return KeyUnavailable(
            f"KMS {operation} for {subject} failed: {reason} ({code})",
            code=_CODES.get(code, "kms_error"),
        )
