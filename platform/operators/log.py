"""The operator log: append, verify, export.

    hash = sha256_hex( utf8( prev_hash + canonical(entry) ) )

as in the firms' access logs (tenants.auditlog.chain), with its own tag and genesis:
`canonical(entry)` is CANONICAL_TAG followed by each field of CANONICAL_FIELDS, every one
preceded by U+001F, NULL written as the empty string; `at` as `YYYY-MM-DDTHH:MM:SS.ffffffZ`
(UTC), `ip` as PostgreSQL's host(ip), `detail` as compact sorted JSON (chain.canonical_detail).
The first entry links to OPERATOR_GENESIS_HASH.

`log_operator_action` appends inside the caller's transaction, serialised by locking the
single chain-head row until the caller commits; so an operator action and its entry commit
together or not at all. docs/operators.md.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name

from tenants.auditlog.chain import canonical_at, canonical_detail, entry_hash
from tenants.auditlog.privacy import clean_detail, scrubbed

from .models import OPERATOR_GENESIS_HASH, OperatorChainHead, OperatorLogEntry

if TYPE_CHECKING:
    from firms.models import Firm

__all__ = [
    "CANONICAL_FIELDS",
    "OperatorLogMisuse",
    "OperatorLogUnavailable",
    "OperatorLogVerification",
    "canonical_operator_entry",
    "export_rows",
    "log_operator_action",
    "verify_operator_log",
]

CANONICAL_TAG = "operator-log/v1"
SEPARATOR = "\x1f"
CANONICAL_FIELDS: tuple[str, ...] = (
    "seq",
    "at",
    "actor_user_id",
    "actor_email",
    "action",
    "firm_id",
    "firm_slug",
    "ip",
    "detail",
)
SEPARATORS = len(CANONICAL_FIELDS)
EXPORT_COLUMNS: tuple[str, ...] = (*CANONICAL_FIELDS, "prev_hash", "hash")

_ACTION = re.compile(r"[a-z][a-z0-9_]{0,31}")
EMAIL_MAX = 254
CHUNK_SIZE = 2_000


class OperatorLogMisuse(RuntimeError):
    """Called outside a transaction: the entry could commit without the action, or the other
    way round."""


class OperatorLogUnavailable(Exception):
    """The entry could not be written. The caller's transaction is marked for rollback: no
    operator action without its entry."""

    def __init__(self, message: str = "the operator log cannot be written") -> None:
        super().__init__(message)


def _text(value: object) -> str:
    return "" if value is None else str(value)


def canonical_operator_entry(
    *,
    seq: int,
    at: datetime,
    actor_user_id: int | None,
    actor_email: str,
    action: str,
    firm_id: int | None,
    firm_slug: str,
    ip: str | None,
    detail: dict[str, Any],
) -> str:
    values = (
        str(seq),
        canonical_at(at),
        _text(actor_user_id),
        actor_email,
        action,
        _text(firm_id),
        firm_slug,
        _text(ip),
        canonical_detail(detail),
    )
    return CANONICAL_TAG + "".join(SEPARATOR + value for value in values)


def _table(model: type[OperatorLogEntry] | type[OperatorChainHead]) -> str:
    # Schema-qualified: appends also run inside a firm's tenant_context (a key rotation
    # writes the firm's log and this one in one transaction).
    return f'"{get_public_schema_name()}"."{model._meta.db_table}"'


_ENTRIES = _table(OperatorLogEntry)
_HEAD = _table(OperatorChainHead)
_LOCK_HEAD = f"SELECT seq, hash, host(%s::inet) FROM {_HEAD} WHERE singleton FOR UPDATE"  # noqa: S608
# Django's flush (the test suite's teardown) truncates every public table, the head too. A
# missing head is put back only while the log is empty; otherwise appends refuse.
_RESTORE_HEAD = (
    f"INSERT INTO {_HEAD} (singleton, seq, hash) SELECT true, 0, %s "  # noqa: S608
    f"WHERE NOT EXISTS (SELECT 1 FROM {_ENTRIES}) ON CONFLICT (singleton) DO NOTHING"
)
_INSERT = (
    f"INSERT INTO {_ENTRIES} ({', '.join(EXPORT_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join('%s::jsonb' if c == 'detail' else '%s' for c in EXPORT_COLUMNS)}) "
    "RETURNING id"
)
_ADVANCE_HEAD = f"UPDATE {_HEAD} SET seq = %s, hash = %s WHERE singleton"  # noqa: S608


def _valid_ip(ip: str | None) -> str | None:
    if not ip:
        return None
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return None


def log_operator_action(
    *,
    actor_email: str,
    action: str,
    firm: Firm | None = None,
    detail: dict[str, Any] | None = None,
    actor_user_id: int | None = None,
    ip: str | None = None,
) -> OperatorLogEntry:
    """Append one entry, in the caller's transaction.atomic(). `detail` is masked like the
    firms' log details (tenants.auditlog.privacy): nothing shaped like a My Number is kept."""
    if not connection.in_atomic_block:
        raise OperatorLogMisuse(
            "log_operator_action must run inside transaction.atomic(), so that the entry "
            "commits with the action it records"
        )
    if not _ACTION.fullmatch(action):
        raise ValueError("action is a short lowercase code")
    email = scrubbed(actor_email, limit=EMAIL_MAX)
    if not email:
        raise ValueError("an operator log entry names its actor")
    fields: dict[str, Any] = {
        "actor_user_id": actor_user_id,
        "actor_email": email,
        "action": action,
        "firm_id": None if firm is None else firm.pk,
        "firm_slug": "" if firm is None else firm.slug,
        "detail": clean_detail(detail),
    }
    try:
        return _append(fields, _valid_ip(ip))
    except (DatabaseError, OperatorLogUnavailable) as error:
        transaction.set_rollback(True)
        if isinstance(error, OperatorLogUnavailable):
            raise
        raise OperatorLogUnavailable() from error


def _append(fields: dict[str, Any], ip: str | None) -> OperatorLogEntry:
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_HEAD, [ip])
        head = cursor.fetchone()
        if head is None:
            cursor.execute(_RESTORE_HEAD, [OPERATOR_GENESIS_HASH])
            cursor.execute(_LOCK_HEAD, [ip])
            head = cursor.fetchone()
            if head is None:
                raise OperatorLogUnavailable("the operator log's chain head is missing")
        prev_seq, prev_hash, ip_text = head
        values = {
            **fields,
            "seq": prev_seq + 1,
            "at": timezone.now(),
            "ip": ip_text,
            "prev_hash": prev_hash,
        }
        canonical = canonical_operator_entry(**{name: values[name] for name in CANONICAL_FIELDS})
        values["hash"] = entry_hash(prev_hash, canonical)
        cursor.execute(
            _INSERT,
            [
                json.dumps(values[c], ensure_ascii=False) if c == "detail" else values[c]
                for c in EXPORT_COLUMNS
            ],
        )
        (entry_id,) = cursor.fetchone()
        cursor.execute(_ADVANCE_HEAD, [values["seq"], values["hash"]])
    entry = OperatorLogEntry(id=entry_id, **values)
    entry._state.adding = False
    entry._state.db = connection.alias
    return entry


# --- verification -----------------------------------------------------------------------


@dataclass(frozen=True)
class OperatorLogVerification:
    ok: bool
    entries_checked: int
    first_bad_seq: int | None = None
    reason: str = ""
    head_seq: int = 0


_ROWS = (
    "SELECT seq, at, actor_user_id, actor_email, action, firm_id, firm_slug, host(ip), "  # noqa: S608
    f"detail::text, prev_hash, hash FROM {_ENTRIES}"
)


def verify_operator_log() -> OperatorLogVerification:
    """Recompute every hash and link in seq order and compare the head with the last entry.
    Outside a transaction it reads one REPEATABLE READ snapshot."""
    if connection.in_atomic_block:
        return _verify()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return _verify()


def _verify() -> OperatorLogVerification:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT seq, hash FROM {_HEAD} WHERE singleton")  # noqa: S608
        head = cursor.fetchone()
    expected, last_hash = 1, OPERATOR_GENESIS_HASH
    with connection.chunked_cursor() as cursor:
        cursor.execute(_ROWS + " ORDER BY seq")
        while rows := cursor.fetchmany(CHUNK_SIZE):
            for row in rows:
                problem = _check_row(row, expected, last_hash)
                if problem is not None:
                    bad_seq, reason = problem
                    return OperatorLogVerification(
                        False, expected - 1, bad_seq, reason, head[0] if head else 0
                    )
                last_hash = row[-1]
                expected += 1
    checked = expected - 1
    if head is None:
        if checked == 0:  # an empty log, as made (or as Django's flush leaves it)
            return OperatorLogVerification(True, 0)
        return OperatorLogVerification(False, checked, checked, "the chain head row is missing")
    head_seq, head_hash = head
    if head_seq > checked:
        return OperatorLogVerification(
            False,
            checked,
            checked + 1,
            f"the chain head is at #{head_seq} but the log ends at #{checked}: "
            "entries are missing at the end",
            head_seq,
        )
    if head_seq < checked:
        return OperatorLogVerification(
            False, checked, head_seq + 1, f"entries after the chain head (#{head_seq}) exist",
            head_seq,
        )  # fmt: skip
    if head_hash != last_hash:
        return OperatorLogVerification(
            False,
            checked,
            max(head_seq, 1),
            f"the chain head's hash differs from entry #{head_seq}",
            head_seq,
        )
    return OperatorLogVerification(True, checked, head_seq=head_seq)


def _check_row(row: tuple[Any, ...], expected: int, last_hash: str) -> tuple[int, str] | None:
    seq, at, user_id, email, action, firm_id, firm_slug, ip, detail_text, prev_hash, stored = row
    if seq < expected:
        return seq, f"entry #{seq} repeats a sequence number"
    if seq > expected:
        missing = f"#{expected}" if seq == expected + 1 else f"#{expected}-#{seq - 1}"
        return expected, f"entries {missing} are missing (the next entry is #{seq})"
    if prev_hash != last_hash:
        return seq, f"entry #{seq} does not link to the entry before it (prev_hash differs)"
    canonical = canonical_operator_entry(
        seq=seq,
        at=at,
        actor_user_id=user_id,
        actor_email=email,
        action=action,
        firm_id=firm_id,
        firm_slug=firm_slug,
        ip=ip,
        detail=json.loads(detail_text),
    )
    if canonical.count(SEPARATOR) != SEPARATORS:
        return seq, f"entry #{seq} holds a field separator in a value (altered)"
    if entry_hash(prev_hash, canonical) != stored:
        return seq, f"entry #{seq} was altered (its hash does not match its contents)"
    return None


# --- export -----------------------------------------------------------------------------


def export_rows(
    *, since: datetime | None = None, until: datetime | None = None
) -> Iterator[list[str]]:
    """EXPORT_COLUMNS per entry in seq order, each value exactly as hashed, so anyone holding
    the export can recompute every hash: sha256(prev_hash + CANONICAL_TAG + U+001F-joined
    values of the first nine columns). `since` inclusive, `until` exclusive."""
    conditions, params = [], []
    if since is not None:
        conditions.append("at >= %s")
        params.append(since)
    if until is not None:
        conditions.append("at < %s")
        params.append(until)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(_ROWS + where + " ORDER BY seq", params)
        while rows := cursor.fetchmany(CHUNK_SIZE):
            for row in rows:
                seq, at, user_id, email, action, firm_id, firm_slug, ip, detail_text = row[:9]
                yield [
                    str(seq),
                    canonical_at(at),
                    _text(user_id),
                    email,
                    action,
                    _text(firm_id),
                    firm_slug,
                    _text(ip),
                    canonical_detail(json.loads(detail_text)),
                    row[9],
                    row[10],
                ]
