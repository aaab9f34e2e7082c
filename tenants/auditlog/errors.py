"""Errors of the access log. Callers catch `AuditLogUnavailable` to show the user a clear
error; `AuditLogMisuse` is a programming error and should never be caught."""

from __future__ import annotations


class AuditLogUnavailable(Exception):
    """The entry could not be written. The caller's transaction is marked for rollback, so the
    access it would have recorded does not happen either (fail closed)."""

    def __init__(self, message: str = "the access log cannot be written") -> None:
        super().__init__(message)


class AuditLogMisuse(RuntimeError):
    """The log was called where an entry cannot be trusted to commit with its access: outside
    a transaction, in the public or template schema, or a denial inside a transaction."""
