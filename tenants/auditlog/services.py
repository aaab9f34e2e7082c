"""Writing the access log: who touched whose record, when, why, from where, and the outcome.

`log_access` appends inside the caller's transaction, so the entry and the access it records
commit together or not at all; if the entry cannot be written the caller's transaction is
marked for rollback and `AuditLogUnavailable` propagates (fail closed: no log row, no
plaintext). `log_access_denied` commits on its own, because the denied action rolls back.

Appends in one firm are serialised by locking the firm's chain head row, held until the
caller commits; call `log_access` late in the transaction (after slow work such as a KMS
call) to keep that lock short.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest
from django.utils import timezone
from django_tenants.utils import get_public_schema_name

from .chain import CANONICAL_FIELDS, canonical_entry, entry_hash
from .errors import AuditLogMisuse, AuditLogUnavailable
from .models import AccessLogEntry, ActorRole, ChainHead, Result
from .privacy import clean_detail, clean_user_agent, looks_like_my_number, scrubbed
from .verification import ChainVerification, verify_chain

__all__ = [
    "Actor",
    "ChainVerification",
    "actor_from_request",
    "client_ip",
    "log_access",
    "log_access_denied",
    "log_in_firm",
    "verify_chain",
]

logger = logging.getLogger(__name__)
_ACTION = re.compile(r"[a-z][a-z0-9_]{0,31}")
_REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SYSTEM_REASON = re.compile(r"[a-z0-9][a-z0-9_.:-]{0,99}")
EMAIL_MAX = 254
ROLE_MAX = 20
PURPOSE_MAX = 64


@dataclass(frozen=True)
class Actor:
    """Who is acting, and from where. Built once per request (`actor_from_request`) or for a
    scheduled job (`Actor.system`)."""

    user_id: int | None
    email: str
    role: str
    api_token_id: int | None = None
    ip: str | None = None
    user_agent: str = ""
    request_id: str = ""

    @classmethod
    def system(cls, reason: str, *, request_id: str = "") -> Actor:
        """A beat or scheduled job. There is no user, so the entry's actor_email names the
        job: `system:<reason>` (e.g. `system:retention-sweep`)."""
        if not _SYSTEM_REASON.fullmatch(reason) or looks_like_my_number(reason):
            raise ValueError("a system actor's reason is a short lowercase code")
        return cls(
            user_id=None,
            email=f"system:{reason}",
            role=ActorRole.SYSTEM,
            request_id=request_id or uuid.uuid4().hex,
        )


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or, behind a proxy we run (TRUST_X_FORWARDED_FOR), the address that proxy
    appended last to X-Forwarded-For: entries further left are whatever the client sent."""
    raw = request.META.get("REMOTE_ADDR", "")
    if getattr(settings, "TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            raw = hops[-1]
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return None


def actor_from_request(request: HttpRequest, *, role: str | None = None) -> Actor:
    """The actor of a request on a firm host. The role is, in order: the one given, the
    member's role in this firm (AccessPolicyMiddleware or the API authentication set
    request.membership), "api" for a token without membership, "operator" for a platform
    operator, else blank."""
    user = getattr(request, "user", None)
    signed_in = bool(user is not None and user.is_authenticated)
    membership = getattr(request, "membership", None)
    token = getattr(request, "api_token", None)
    if role is None:
        if membership is not None:
            role = str(membership.role)
        elif token is not None:
            role = ActorRole.API
        elif signed_in and getattr(user, "is_operator", False):
            role = ActorRole.OPERATOR
        else:
            role = ""
    request_id = getattr(request, "request_id", "")
    if not request_id:
        # Without RequestIdMiddleware: still one id for every entry of this request.
        request_id = uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
    return Actor(
        user_id=user.pk if signed_in and user is not None else None,
        email=str(getattr(user, "email", "")) if signed_in else "",
        role=role,
        api_token_id=getattr(token, "pk", None),
        ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        request_id=request_id,
    )


def _require_firm_transaction() -> None:
    if not connection.in_atomic_block:
        raise AuditLogMisuse(
            "log_access must run inside the caller's transaction.atomic(), so that the entry "
            "commits with the access it records"
        )
    schema = getattr(connection, "schema_name", None)
    if schema in (None, get_public_schema_name(), settings.TENANT_BASE_SCHEMA):
        raise AuditLogMisuse(
            f"log_access must run in a firm's schema (tenant_context), not in {schema!r}"
        )


def _actor_fields(actor: Actor, action: str, result: str) -> dict[str, Any]:
    """The fields an entry takes from who acted and what they did, cleaned for the log."""
    return {
        "actor_user_id": actor.user_id,
        "actor_email": scrubbed(actor.email, limit=EMAIL_MAX),
        "actor_role": scrubbed(actor.role, limit=ROLE_MAX),
        "api_token_id": actor.api_token_id,
        "action": action,
        "result": str(result),
        "user_agent": clean_user_agent(actor.user_agent),
        "request_id": actor.request_id if _REQUEST_ID.fullmatch(actor.request_id or "") else "",
    }


def log_access(
    *,
    actor: Actor,
    action: str,
    result: str = Result.ALLOWED,
    person_id: int | None = None,
    purpose: str = "",
    detail: dict[str, Any] | None = None,
) -> AccessLogEntry:
    """Append one entry to the current firm's log, in the caller's transaction."""
    _require_firm_transaction()
    if not _ACTION.fullmatch(action):
        raise ValueError("action is a short lowercase code")
    if result not in Result.values:
        raise ValueError(f"result is one of {Result.values}")
    fields: dict[str, Any] = {
        **_actor_fields(actor, action, result),
        "person_id": person_id,
        "purpose": scrubbed(purpose, limit=PURPOSE_MAX),
        "detail": clean_detail(detail),
    }
    try:
        return _append(fields, actor.ip)
    except DatabaseError as error:
        # The caller's block must not go on to commit the access without its entry, even if
        # it catches this exception.
        transaction.set_rollback(True)
        _write_failed(action, error)
        raise AuditLogUnavailable() from error


# One cursor and plain SQL: this runs on every access, and each ORM call would also repeat
# django-tenants' `SET search_path` round trip.
# Every hashed field, then the links: the chain's own field list, so the two cannot drift.
ENTRY_COLUMNS = (*CANONICAL_FIELDS, "prev_hash", "hash")
_HEAD_TABLE = ChainHead._meta.db_table
_LOCK_HEAD = f"SELECT seq, hash, host(%s::inet) FROM {_HEAD_TABLE} WHERE singleton FOR UPDATE"  # noqa: S608
_INSERT_ENTRY = (
    f"INSERT INTO {AccessLogEntry._meta.db_table} ({', '.join(ENTRY_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join('%s::jsonb' if c == 'detail' else '%s' for c in ENTRY_COLUMNS)}) "
    "RETURNING id"
)
_ADVANCE_HEAD = f"UPDATE {_HEAD_TABLE} SET seq = %s, hash = %s WHERE singleton"  # noqa: S608


def _append(fields: dict[str, Any], ip: str | None) -> AccessLogEntry:
    with connection.cursor() as cursor:
        # The lock serialises appends in this firm until the caller commits. PostgreSQL also
        # renders the IP here, so the hash covers the text verification will read back.
        cursor.execute(_LOCK_HEAD, [_valid_ip(ip)])
        head = cursor.fetchone()
        if head is None:
            transaction.set_rollback(True)
            raise AuditLogUnavailable("the firm's chain head is missing")
        prev_seq, prev_hash, ip_text = head
        values = {
            **fields,
            "seq": prev_seq + 1,
            "at": timezone.now(),
            "ip": ip_text,
            "prev_hash": prev_hash,
        }
        canonical = canonical_entry(**{name: values[name] for name in CANONICAL_FIELDS})
        values["hash"] = entry_hash(prev_hash, canonical)
        params = [
            json.dumps(values[c], ensure_ascii=False) if c == "detail" else values[c]
            for c in ENTRY_COLUMNS
        ]
        cursor.execute(_INSERT_ENTRY, params)
        (entry_id,) = cursor.fetchone()
        cursor.execute(_ADVANCE_HEAD, [values["seq"], values["hash"]])
    entry = AccessLogEntry(id=entry_id, **values)
    entry._state.adding = False
    entry._state.db = connection.alias
    return entry


def log_in_firm(
    firm: Any, *, actor: Actor, action: str, detail: dict[str, Any] | None = None
) -> AccessLogEntry:
    """log_access for code that runs outside the firm's schema (the bare domain, the operator
    console, a task): the entry goes into that firm's log, in the caller's transaction."""
    from django_tenants.utils import tenant_context

    with tenant_context(firm), transaction.atomic():
        return log_access(actor=actor, action=action, detail=detail)


def log_access_many(
    *, actor: Actor, action: str, people: list[tuple[int, str, dict[str, Any] | None]]
) -> int:
    """Append one entry per (person_id, purpose, detail), in order, for a bulk operation (an
    import): the chain head is locked once and the entries are inserted in one round trip,
    in the caller's transaction. Same rules and failure behaviour as log_access."""
    _require_firm_transaction()
    if not _ACTION.fullmatch(action):
        raise ValueError("action is a short lowercase code")
    if not people:
        return 0
    common = _actor_fields(actor, action, Result.ALLOWED)
    try:
        with connection.cursor() as cursor:
            cursor.execute(_LOCK_HEAD, [_valid_ip(actor.ip)])
            head = cursor.fetchone()
            if head is None:
                raise AuditLogUnavailable("the firm's chain head is missing")
            seq, prev_hash, ip_text = head
            at = timezone.now()
            rows = []
            # A bulk operation repeats a handful of details and purposes: clean each once.
            cleaned_details: dict[str, dict[str, Any]] = {}
            cleaned_purposes: dict[str, str] = {}
            for person_id, purpose, detail in people:
                seq += 1
                key = json.dumps(detail, sort_keys=True, default=str)
                if key not in cleaned_details:
                    cleaned_details[key] = clean_detail(detail)
                if purpose not in cleaned_purposes:
                    cleaned_purposes[purpose] = scrubbed(purpose, limit=PURPOSE_MAX)
                values = {
                    **common,
                    "person_id": person_id,
                    "purpose": cleaned_purposes[purpose],
                    "detail": cleaned_details[key],
                    "seq": seq,
                    "at": at,
                    "ip": ip_text,
                    "prev_hash": prev_hash,
                }
                canonical = canonical_entry(**{name: values[name] for name in CANONICAL_FIELDS})
                values["hash"] = prev_hash = entry_hash(prev_hash, canonical)
                rows.append(
                    [
                        json.dumps(values[c], ensure_ascii=False) if c == "detail" else values[c]
                        for c in ENTRY_COLUMNS
                    ]
                )
            # COPY: one stream for thousands of entries instead of a statement each.
            copy_sql = (
                f"COPY {AccessLogEntry._meta.db_table} ({', '.join(ENTRY_COLUMNS)}) FROM STDIN"
            )
            with cursor.cursor.copy(copy_sql) as copy:
                for values_row in rows:
                    copy.write_row(values_row)
            cursor.execute(_ADVANCE_HEAD, [seq, prev_hash])
    except (DatabaseError, AuditLogUnavailable) as error:
        transaction.set_rollback(True)
        _write_failed(action, error)
        if isinstance(error, AuditLogUnavailable):
            raise
        raise AuditLogUnavailable() from error
    return len(rows)


def _write_failed(action: str, error: Exception) -> None:
    """The stable line alarms match (infra/terraform/monitoring.tf): the access was refused
    because its entry could not be written. Only the error's class: its text could quote
    values."""
    logger.error(
        "AUDIT_LOG_WRITE_FAILED firm=%s action=%s error=%s",
        getattr(connection, "schema_name", "?"),
        action,
        type(error).__name__,
    )


def _valid_ip(ip: str | None) -> str | None:
    if not ip:
        return None
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return None


def _in_callers_transaction() -> bool:
    """True inside an atomic block the caller opened. The blocks Django's TestCase wraps each
    test in do not count (they are marked `_from_testcase`, as for durable blocks)."""
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def log_access_denied(
    *,
    actor: Actor,
    action: str,
    person_id: int | None = None,
    purpose: str = "",
    detail: dict[str, Any] | None = None,
) -> AccessLogEntry:
    """Record a refused attempt, committed on its own.

    The refused action raises and its transaction rolls back; the denial must survive that.
    Writing it on a second connection would survive too, but that connection would wait for
    the chain head lock the caller's open transaction may already hold (it logged an allowed
    access earlier): a deadlock within one thread. So this must be called outside any
    transaction, typically where the caller catches its own refusal, and its block is
    durable: nesting it in a caller's atomic() raises AuditLogMisuse instead of silently
    rolling the denial back with the caller.
    """
    if _in_callers_transaction():
        raise AuditLogMisuse(
            "log_access_denied must be called outside transaction.atomic(): the denial has to "
            "commit even though the denied action rolls back"
        )
    with transaction.atomic(durable=True):
        return log_access(
            actor=actor,
            action=action,
            result=Result.DENIED,
            person_id=person_id,
            purpose=purpose,
            detail=detail,
        )
