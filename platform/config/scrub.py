"""Keep anything shaped like a My Number out of logs and error reports.

Numbers never go into a log message, a URL or a task argument by design; this is the net
under that design. Any run of exactly 12 digits, in ASCII or full width, with or without
hyphens or spaces between groups, becomes «redacted». It over-redacts other 12-digit values
on purpose: a log line that loses an innocent number costs nothing.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.views.debug import SafeExceptionReporterFilter

REDACTED = "«redacted»"
_DIGIT = r"[0-9０-９]"
_SEP = r"[ \-‐‑–—−ー－　]?"


def number_shaped(edge: str = "0-9０-９") -> re.Pattern[str]:
    """12 digits, ASCII or full width, a space or hyphen allowed between any two, with no
    character of the class `edge` on either side (by default: not part of a longer run of
    digits)."""
    return re.compile(rf"(?<![{edge}]){_DIGIT}(?:{_SEP}{_DIGIT}){{11}}(?![{edge}])")


NUMBER_SHAPED = number_shaped()


# A UUID's text (8-4-4-4-12 hex digits) holds a 12-digit run about once in 40 ids. Task
# arguments are ids by design, so the task guard reads a whole UUID as an id, not a number.
UUID_TEXT = re.compile(
    r"(?<![0-9A-Fa-f-])[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
    r"(?![0-9A-Fa-f-])"
)


def scrub(text: str) -> str:
    return NUMBER_SHAPED.sub(REDACTED, text)


def scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, bytes):
        return scrub(value.decode("utf-8", "replace"))
    if isinstance(value, dict):
        return {k: scrub_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(scrub_value(v) for v in value)
    return value


class MyNumberScrubbingFilter(logging.Filter):
    """Formats the record once, scrubs the text, and freezes it (args and exception included),
    so no handler or formatter downstream sees the original."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: keep its template, drop the args
            message = str(record.msg)
        record.msg = scrub(message)
        record.args = None
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = scrub(text)
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


class ScrubbingExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's error reports (the DEBUG page, mails to admins) with numbers scrubbed from
    request parameters and traceback variables, in every environment."""

    def is_active(self, request) -> bool:
        return True

    def get_post_parameters(self, request):
        parameters = super().get_post_parameters(request)
        if not parameters:
            return parameters
        cleaned: Any = parameters.copy()
        for key in cleaned:
            cleaned.setlist(key, [scrub_value(v) for v in cleaned.getlist(key)])
        return cleaned

    def get_traceback_frame_variables(self, request, tb_frame):
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [(name, scrub_value(value) if isinstance(value, str) else _scrub_repr(value))
                for name, value in variables]  # fmt: skip

    def cleanse_setting(self, key, value):
        return scrub_value(super().cleanse_setting(key, value))


def _scrub_repr(value: Any) -> Any:
    text = repr(value)
    return scrub(text) if NUMBER_SHAPED.search(text) else value
