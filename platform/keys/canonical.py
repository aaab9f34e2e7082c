"""One byte encoding of a string mapping, used wherever a context becomes associated data."""

from __future__ import annotations

import json
from collections.abc import Mapping


def canonical_json(values: Mapping[str, str]) -> bytes:
    """Sorted keys, no whitespace, ASCII only: the same mapping always gives the same bytes,
    and no two different mappings give the same bytes (JSON escapes its delimiters)."""
    return json.dumps(
        dict(values), sort_keys=True, separators=(",", ":"), ensure_ascii=True
    ).encode("ascii")
