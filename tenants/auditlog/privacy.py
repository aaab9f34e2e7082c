"""Keeping My Numbers out of log entries.

The log records whose record was touched (a person id), never the number. Free text in an
entry (the purpose a client sent, its user agent, the detail a caller passes, which may echo
request parameters) is stored with anything shaped like a My Number masked, so neither a bug
nor a client can plant a number in the log. Masking, not refusing: a denied request that
carried a number in its purpose must still be logged.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

logger = logging.getLogger(__name__)

USER_AGENT_MAX = 500
MASK = "[redacted]"

# 12 digits, optionally grouped 4-4-4 by hyphens or spaces, not part of a longer digit run
# (a 13-digit corporate number is public and is not matched). Applied after NFKC, which turns
# full-width digits and spaces into ASCII ones; long vowel marks and minus signs typed for
# hyphens are folded too.
_NUMBER_SHAPED = re.compile(r"(?<!\d)\d{4}[ \-]?\d{4}[ \-]?\d{4}(?!\d)")
_HYPHENS = str.maketrans({"\u2212": "-", "\u30fc": "-", "\u2010": "-", "\u2011": "-"})
_TWELVE_DIGITS = range(10**11, 10**12)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Our own identifiers, when a value is one and nothing else: a UUID's text (an upload, a
# filing), possibly after a short lowercase scheme ("local:" of a local key id), and a SHA-256
# in hex (a file's digest). Their digits can run 12 long or group 4-4-4
# (a UUID's middle groups: about 1 id in 280; a digest: about 1 in 40), and masking them broke
# the link from an entry to its file. A value that is exactly one of these is no number.
_IDENTIFIER = re.compile(
    r"(?:[a-z][a-z0-9-]{0,19}:)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"|[0-9a-f]{64}"
)


def _normalised(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_HYPHENS)


def looks_like_my_number(text: str) -> bool:
    return bool(_NUMBER_SHAPED.search(_normalised(text)))


def scrubbed(text: str, *, limit: int | None = None) -> str:
    """Control characters dropped (PostgreSQL text cannot hold NUL), number-shaped runs
    masked, then truncated."""
    text = _CONTROL.sub("", text or "")
    if looks_like_my_number(text):
        text = _NUMBER_SHAPED.sub(MASK, _normalised(text))
    return text if limit is None else text[:limit]


def clean_user_agent(user_agent: str) -> str:
    return scrubbed(user_agent, limit=USER_AGENT_MAX)


def clean_detail(detail: Mapping[str, Any] | None) -> dict[str, Any]:
    """The detail as a plain dict with number-shaped values masked.

    Only str, int, bool, None, lists and dicts with string keys are accepted (a ValueError
    otherwise): they come back from jsonb exactly as they went in, which the entry's hash
    needs. A float may come back in another notation (1e16 as 10000000000000000).
    """
    masked: list[str] = []
    value = _clean(dict(detail or {}), "detail", masked)
    if masked:
        # Where, never what: the value itself must not reach the logs either.
        logger.warning("access log detail: masked number-shaped values at %s", ", ".join(masked))
    return value


def _clean_text(value: str, where: str, masked: list[str]) -> str:
    if _IDENTIFIER.fullmatch(value):
        return value
    if looks_like_my_number(value):
        masked.append(where)
    return scrubbed(value)


def _clean(value: Any, where: str, masked: list[str]) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if value in _TWELVE_DIGITS or -value in _TWELVE_DIGITS:
            masked.append(where)
            return MASK
        return value
    if isinstance(value, str):
        return _clean_text(value, where, masked)
    if isinstance(value, Mapping):
        result = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where} has a key that is not a string")
            clean_key = scrubbed(key)
            result[clean_key] = _clean(item, f"{where}.{clean_key}", masked)
        return result
    if isinstance(value, list | tuple):
        return [_clean(item, f"{where}[{index}]", masked) for index, item in enumerate(value)]
    raise ValueError(f"{where} holds a {type(value).__name__}: use str, int, bool, list or dict")
