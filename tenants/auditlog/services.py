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

from .chain import (
    CANONICAL_FIELDS,
    canonical_around_seq_and_ip,
    canonical_batch,
    canonical_detail,
    entry_hash,
)
from .errors import AuditLogMisuse, AuditLogUnavailable
from .models import AccessLogEntry, ActorRole, ChainHead, Result
from .privacy import clean_detail, clean_user_agent, looks_like_my_number, scrubbed
from .verification import ChainVerification, verify_chain

__all__ = [
    "Actor",
    "ChainVerification",
    "actor_from_request",
    "client_ip",
    "in_callers_transaction",
    "log_access",
    "log_access_committed",
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
    member's role in this firm (AuthorizationMiddleware or the API authentication set
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
    _require_firm_schema()


def _require_firm_schema() -> None:
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
    fields = _entry_fields(actor, action, result, person_id, purpose, detail)
    try:
        return _append(fields, actor.ip)
    except DatabaseError as error:
        # The caller's block must not go on to commit the access without its entry, even if
        # it catches this exception.
        transaction.set_rollback(True)
        _write_failed(action, error)
        raise AuditLogUnavailable() from error


def log_access_committed(
    *,
    actor: Actor,
    action: str,
    person_id: int | None = None,
    purpose: str = "",
    detail: dict[str, Any] | None = None,
) -> AccessLogEntry:
    """log_access for an access that writes nothing else, such as a reveal: outside a
    transaction the entry is appended and committed by one statement, and it is durable when
    this returns, so the caller may then hand out what it read. Inside a caller's transaction
    it is log_access. A reveal spends one round trip on its entry instead of five."""
    if connection.in_atomic_block:
        # The caller's transaction, or only the one Django's TestCase wraps a test in, where
        # a savepoint stands for the commit.
        with transaction.atomic():
            return log_access(
                actor=actor, action=action, person_id=person_id, purpose=purpose, detail=detail
            )
    _require_firm_schema()
    fields = _entry_fields(actor, action, Result.ALLOWED, person_id, purpose, detail)
    try:
        return _append(fields, actor.ip)
    except DatabaseError as error:
        _write_failed(action, error)
        raise AuditLogUnavailable() from error


def _entry_fields(
    actor: Actor,
    action: str,
    result: str,
    person_id: int | None,
    purpose: str,
    detail: dict[str, Any] | None,
) -> dict[str, Any]:
    if not _ACTION.fullmatch(action):
        raise ValueError("action is a short lowercase code")
    if result not in Result.values:
        raise ValueError(f"result is one of {Result.values}")
    return {
        **_actor_fields(actor, action, result),
        "person_id": person_id,
        "purpose": scrubbed(purpose, limit=PURPOSE_MAX),
        "detail": clean_detail(detail),
    }


# Every hashed field, then the links: the chain's own field list, so the two cannot drift.
ENTRY_COLUMNS = (*CANONICAL_FIELDS, "prev_hash", "hash")
_HEAD_TABLE = ChainHead._meta.db_table
_ENTRY_TABLE = AccessLogEntry._meta.db_table
_LOCK_HEAD = f"SELECT seq, hash, host(%s::inet) FROM {_HEAD_TABLE} WHERE singleton FOR UPDATE"  # noqa: S608
_ADVANCE_HEAD = f"UPDATE {_HEAD_TABLE} SET seq = %s, hash = %s WHERE singleton"  # noqa: S608


# One append is one statement, one round trip: lock the head, compute the entry's hash,
# insert the entry, advance the head. It runs on every access, and as separate statements
# (lock, insert, update) the round trips cost more than the rest of a reveal's database work.
# PostgreSQL fills in the two values it owns, the next seq and its rendering of the IP, between
# the pieces of the canonical form Python rendered (chain.canonical_around_seq_and_ip), and
# hashes with sha256(); every verification recomputes the hash in Python, so the two
# renderings are checked against each other on every verify.
def _entry_value(column: str) -> str:
    if column in ("seq", "prev_hash", "hash"):
        return f"(SELECT {column} FROM next)"  # noqa: S608 - a fixed column name
    if column == "ip":
        return "%(ip)s::inet"
    if column == "detail":
        return "%(detail)s::jsonb"
    return f"%({column})s"


_APPEND = (
    f"WITH head AS (SELECT seq, hash FROM {_HEAD_TABLE} WHERE singleton FOR UPDATE), "  # noqa: S608
    "next AS (SELECT head.seq + 1 AS seq, head.hash AS prev_hash, host(%(ip)s::inet) AS ip, "
    "encode(sha256(convert_to(head.hash || %(before_seq)s || (head.seq + 1)::text "
    "|| %(before_ip)s || coalesce(host(%(ip)s::inet), '') || %(after_ip)s, 'UTF8')), 'hex') "
    "AS hash FROM head), "
    f"entry AS (INSERT INTO {_ENTRY_TABLE} ({', '.join(ENTRY_COLUMNS)}) "
    f"VALUES ({', '.join(_entry_value(c) for c in ENTRY_COLUMNS)}) "
    "RETURNING id, seq, prev_hash, hash) "
    f"UPDATE {_HEAD_TABLE} SET seq = entry.seq, hash = entry.hash FROM entry, next "
    "WHERE singleton RETURNING entry.id, entry.seq, entry.prev_hash, entry.hash, next.ip"
)


def _append(fields: dict[str, Any], ip: str | None) -> AccessLogEntry:
    at = timezone.now()
    before_seq, before_ip, after_ip = canonical_around_seq_and_ip(at=at, **fields)
    params = {
        **fields,
        "at": at,
        "detail": json.dumps(fields["detail"], ensure_ascii=False),
        "ip": _valid_ip(ip),
        "before_seq": before_seq,
        "before_ip": before_ip,
        "after_ip": after_ip,
    }
    with connection.cursor() as cursor:
        cursor.execute(_APPEND, params)
        row = cursor.fetchone()
    if row is None:
        transaction.set_rollback(True)
        raise AuditLogUnavailable("the firm's chain head is missing")
    entry_id, seq, prev_hash, entry_hash_hex, ip_text = row
    entry = AccessLogEntry(
        id=entry_id, seq=seq, at=at, ip=ip_text, prev_hash=prev_hash, hash=entry_hash_hex,
        **fields,
    )  # fmt: skip
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


# What every entry of a bulk append shares, from its actor (see _actor_fields).
_BATCH_SHARED = (
    "actor_user_id", "actor_email", "actor_role", "api_token_id", "action", "result",
    "user_agent", "request_id",
)  # fmt: skip
# log_access_many writes its rows as tuples in this order.
assert ENTRY_COLUMNS == (
    "seq", "at", "actor_user_id", "actor_email", "actor_role", "api_token_id", "person_id",
    "action", "purpose", "result", "ip", "user_agent", "request_id", "detail", "prev_hash",
    "hash",
)  # fmt: skip


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
            render = canonical_batch(
                at=at, ip=ip_text, **{name: common[name] for name in _BATCH_SHARED}
            )
            user_id, email, role, token_id, _action, result, user_agent, request_id = (
                common[name] for name in _BATCH_SHARED
            )
            rows = []
            # A bulk operation repeats a handful of details and purposes: clean and render
            # each once. Details are told apart by identity: the caller's list keeps every
            # one alive (so no id is reused) and an importer passes one object per shape.
            # The canonical text is compact JSON, which is also what goes into the jsonb.
            details: dict[int, str] = {}
            purposes: dict[str, str] = {}
            for person_id, purpose, detail in people:
                seq += 1
                detail_text = details.get(id(detail))
                if detail_text is None:
                    detail_text = details[id(detail)] = canonical_detail(clean_detail(detail))
                clean_purpose = purposes.get(purpose)
                if clean_purpose is None:
                    clean_purpose = purposes[purpose] = scrubbed(purpose, limit=PURPOSE_MAX)
                entry_digest = entry_hash(
                    prev_hash, render(seq, person_id, clean_purpose, detail_text)
                )
                rows.append(
                    (
                        seq, at, user_id, email, role, token_id, person_id, action,
                        clean_purpose, result, ip_text, user_agent, request_id, detail_text,
                        prev_hash, entry_digest,
                    )
                )  # fmt: skip
                prev_hash = entry_digest
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


def in_callers_transaction() -> bool:
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
    if in_callers_transaction():
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
