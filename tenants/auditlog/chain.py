"""The hash chain: the canonical form of an entry and the hash that links it to the last one.

    hash = sha256_hex( utf8( prev_hash + canonical(entry) ) )

`prev_hash` is the previous entry's hash (64 lowercase hex characters), or GENESIS_HASH
(sha256 of b"mynumber-custody:genesis") for seq 1. `canonical(entry)` is CANONICAL_TAG and then
each field in CANONICAL_FIELDS order, every one preceded by the separator U+001F (ASCII unit
separator), NULL written as the empty string:

- integers (seq, actor_user_id, api_token_id, person_id): decimal;
- at: UTC, `YYYY-MM-DDTHH:MM:SS.ffffffZ` (always six fractional digits);
- ip: PostgreSQL's `host(ip)` rendering of the address (the service reads it back from the database
  before hashing, so IPv6 spellings cannot differ between writing and verifying);
- detail: compact JSON with sorted keys, UTF-8 as is (`json.dumps(detail, sort_keys=True,
  separators=(",", ":"), ensure_ascii=False)`); the service only accepts str, int, bool, None,
  lists and dicts there, which come back from jsonb unchanged;
- other text: as stored.

No stored value contains U+001F: the service strips control characters from free text, its
codes are validated, and JSON escapes control characters. So a canonical form holds exactly
SEPARATORS separators, and a verifier refuses one that holds any other number: a value
smuggled across a field boundary cannot keep the hash.

The service hashes in Python (`canonical_entry`, `entry_hash`). Verification, which must be
fast, has PostgreSQL render every field but the detail (`SQL_CANONICAL_PREFIX`, on the
database's own core) while Python hashes; the two renderings are tested to agree, and every
verification of a chain the service wrote proves it again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = hashlib.sha256(b"mynumber-custody:genesis").hexdigest()
CANONICAL_TAG = "access-log/v1"
SEPARATOR = "\x1f"
SEPARATORS = 14  # one before each field
AT_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

CANONICAL_FIELDS: tuple[str, ...] = (
    "seq",
    "at",
    "actor_user_id",
    "actor_email",
    "actor_role",
    "api_token_id",
    "person_id",
    "action",
    "purpose",
    "result",
    "ip",
    "user_agent",
    "request_id",
    "detail",
)


_DETAIL_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_detail(detail: dict[str, Any]) -> str:
    return _DETAIL_ENCODER.encode(detail)


def canonical_at(at: datetime) -> str:
    return at.astimezone(UTC).strftime(AT_FORMAT)


def _text(value: int | str | None) -> str:
    return "" if value is None else str(value)


def canonical_entry(
    *,
    seq: int,
    at: datetime,
    actor_user_id: int | None,
    actor_email: str,
    actor_role: str,
    api_token_id: int | None,
    person_id: int | None,
    action: str,
    purpose: str,
    result: str,
    ip: str | None,
    user_agent: str,
    request_id: str,
    detail: dict[str, Any],
) -> str:
    values = _canonical_values(
        seq, at, actor_user_id, actor_email, actor_role, api_token_id, person_id, action,
        purpose, result, ip, user_agent, request_id, detail,
    )  # fmt: skip
    return CANONICAL_TAG + "".join(SEPARATOR + value for value in values)


def _canonical_values(
    seq: int | None, at: datetime, actor_user_id: int | None, actor_email: str,
    actor_role: str, api_token_id: int | None, person_id: int | None, action: str,
    purpose: str, result: str, ip: str | None, user_agent: str, request_id: str,
    detail: dict[str, Any],
) -> tuple[str, ...]:  # fmt: skip
    return (
        _text(seq),
        canonical_at(at),
        _text(actor_user_id),
        actor_email,
        actor_role,
        _text(api_token_id),
        _text(person_id),
        action,
        purpose,
        result,
        _text(ip),
        user_agent,
        request_id,
        canonical_detail(detail),
    )


def _pieces_around(values: tuple[str, ...], varying: tuple[str, ...]) -> list[str]:
    """The canonical text of `values` as the literal pieces around the `varying` fields (in
    canonical order): piece i comes just before varying[i]; the last piece follows the last
    of them. Joining the pieces with the varying values between them is canonical_entry."""
    pieces: list[str] = []
    lead, previous = CANONICAL_TAG, -1
    for name in varying:
        cut = CANONICAL_FIELDS.index(name)
        between = "".join(SEPARATOR + value for value in values[previous + 1 : cut])
        pieces.append(lead + between + SEPARATOR)
        lead, previous = "", cut
    pieces.append("".join(SEPARATOR + value for value in values[previous + 1 :]))
    return pieces


def canonical_around_seq_and_ip(
    *,
    at: datetime,
    actor_user_id: int | None,
    actor_email: str,
    actor_role: str,
    api_token_id: int | None,
    person_id: int | None,
    action: str,
    purpose: str,
    result: str,
    user_agent: str,
    request_id: str,
    detail: dict[str, Any],
) -> tuple[str, str, str]:
    """canonical_entry in three pieces (a, b, c) around the two values PostgreSQL fills in
    when it appends in one statement: the seq, from the chain head it locks, and the IP in its
    own rendering. canonical_entry(...) == a + str(seq) + b + host(ip) + c."""
    values = _canonical_values(
        None, at, actor_user_id, actor_email, actor_role, api_token_id, person_id, action,
        purpose, result, None, user_agent, request_id, detail,
    )  # fmt: skip
    before_seq, before_ip, after_ip = _pieces_around(values, ("seq", "ip"))
    return before_seq, before_ip, after_ip


_BATCH_VARYING = ("seq", "person_id", "purpose", "detail")


def canonical_batch(
    *,
    at: datetime,
    actor_user_id: int | None,
    actor_email: str,
    actor_role: str,
    api_token_id: int | None,
    action: str,
    result: str,
    ip: str | None,
    user_agent: str,
    request_id: str,
) -> Callable[[int, int | None, str, str], str]:
    """canonical_entry for a bulk append, whose entries share everything but the seq, the
    person, the purpose and the detail: the shared fields are rendered once, and the function
    returned, render(seq, person_id, purpose, canonical_detail_text), only joins. An import
    appends ten thousand entries; rendering every field of each cost more than hashing it."""
    values = _canonical_values(
        0, at, actor_user_id, actor_email, actor_role, api_token_id, None, action, "", result,
        ip, user_agent, request_id, {},
    )  # fmt: skip
    # The detail is the last field, so nothing follows it.
    before_seq, before_person, before_purpose, before_detail, _ = _pieces_around(
        values, _BATCH_VARYING
    )

    def render(seq: int, person_id: int | None, purpose: str, detail_text: str) -> str:
        return (
            f"{before_seq}{seq}{before_person}{_text(person_id)}{before_purpose}{purpose}"
            f"{before_detail}{detail_text}"
        )

    return render


def entry_hash(prev_hash: str, canonical: str) -> str:
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


# Every field but the detail, rendered by PostgreSQL exactly as `canonical_entry` renders it
# (NULL as the empty string), ending with the separator before the detail.
SQL_FIELDS: dict[str, str] = {
    "seq": "seq",
    "at": """to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')""",
    "actor_user_id": "actor_user_id",
    "actor_email": "actor_email",
    "actor_role": "actor_role",
    "api_token_id": "api_token_id",
    "person_id": "person_id",
    "action": "action",
    "purpose": "purpose",
    "result": "result",
    "ip": "host(ip)",
    "user_agent": "user_agent",
    "request_id": "request_id",
}
assert tuple(SQL_FIELDS) == CANONICAL_FIELDS[:-1]

# `||` over coalesced text rather than concat(): the same text, about 10% less of the
# database's time when verification renders 300,000 entries (docs/benchmarks.md).
_SQL_SEPARATOR = "E'\\x1f'"
SQL_CANONICAL_PREFIX = (
    f"'{CANONICAL_TAG}' || "
    + " || ".join(
        f"{_SQL_SEPARATOR} || coalesce(({expression})::text, '')"
        for expression in SQL_FIELDS.values()
    )
    + f" || {_SQL_SEPARATOR}"
)
