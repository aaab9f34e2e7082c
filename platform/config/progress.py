"""Progress of long work: the CSV import of people, the consolidated audit exports and the
offboarding export (docs/custody.md, docs/audit-export.md, docs/retention.md).

- Each job's own row holds its figures: done, total, started_at, a status (`queued`,
  `running`, `done`, `failed`) and an error. `ProgressWriter` writes done and total through
  a database connection of its own, in autocommit, so a status request sees them while the
  job's own transaction is still open (the import writes every row in one transaction: all
  or none). It writes in batches: when called, at most once per `interval` seconds, and on
  `flush()`; a write that fails or waits for a lock is skipped, never the job.
- A job queued or running for STALE_AFTER lost its worker: `lost_worker()` lets a confirm
  claim it again, `job_state` shows it failed ("interrupted"); `send_job` queues a job's
  task, or marks the job failed with `not_sent` when the broker is down (D25).
- `eta_seconds` estimates the time left from the rate so far; `job_status` is what a job's
  JSON status endpoint answers; `progress_text` renders the line under the bar from the
  page's translated templates, as frontend/static/js/progress.js does in the browser
  (`display` gives a page both).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from datetime import datetime, timedelta
from typing import Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections
from django.db.models import Q
from django.db.utils import load_backend
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
FINISHED = (DONE, FAILED)
# From this many seconds left on, the time left is shown in minutes (rounded up).
MINUTES_FROM = 120

# The line under a bar. Placeholders: {done}, {total}, {eta}; the page hands them to
# progress.js as data attributes, so the script holds no text of its own.
TEXTS = {
    "queued": _("開始を待っています"),
    "pending": _("{done} / {total} 件"),
    "seconds": _("{done} / {total} 件・残り約 {eta} 秒"),
    "minutes": _("{done} / {total} 件・残り約 {eta} 分"),
    "finishing": _("{done} / {total} 件・仕上げ中"),
}


# --- figures --------------------------------------------------------------------------------


def eta_seconds(
    done: int, total: int, started_at: datetime | None, now: datetime | None = None
) -> int | None:
    """Seconds left at the rate so far (`done` items since `started_at`), rounded up; 0 once
    done reaches total; None while there is no rate to go by (no start, no total, nothing
    done yet, or no time passed)."""
    if started_at is None or total <= 0:
        return None
    if done >= total:
        return 0
    if done <= 0:
        return None
    elapsed = ((now or timezone.now()) - started_at).total_seconds()
    if elapsed <= 0:
        return None
    return math.ceil((total - done) * elapsed / done)


def percent(done: int, total: int) -> int:
    """Whole percent done, 0 to 100."""
    if total <= 0:
        return 0
    return max(0, min(100, 100 * done // total))


def job_status(
    *,
    status: str,
    done: int,
    total: int,
    started_at: datetime | None,
    error: str = "",
    now: datetime | None = None,
) -> dict[str, Any]:
    """A job's status endpoint's answer: status, done, total, percent, eta_seconds, error.
    Done never shows more than total (a total counted at the start can fall behind)."""
    total = max(0, total)
    done = max(0, min(done, total) if total else done)
    if status == DONE:
        done = total = max(done, total)
    return {
        "status": status,
        "done": done,
        "total": total,
        "percent": 100 if status == DONE else percent(done, total),
        "eta_seconds": None if status != RUNNING else eta_seconds(done, total, started_at, now),
        "error": str(error),
    }


def _number(value: int) -> str:
    return f"{value:,}"


def progress_text(figures: dict[str, Any]) -> str:
    """The line under the bar for job_status figures, as progress.js writes it."""
    eta = figures.get("eta_seconds")
    values = {"done": _number(figures["done"]), "total": _number(figures["total"])}
    if figures["status"] == QUEUED:
        key = "queued"
    elif figures["status"] == RUNNING and figures["total"] and figures["done"] >= figures["total"]:
        key = "finishing"
    elif eta is None:
        key = "pending"
    elif eta >= MINUTES_FROM:
        key, values["eta"] = "minutes", _number(math.ceil(eta / 60))
    else:
        key, values["eta"] = "seconds", _number(eta)
    return str(TEXTS[key]).format(**values)


def display(url: str, figures: dict[str, Any]) -> dict[str, Any]:
    """What frontend/templates/progress_bar.html needs: the status URL, the figures as they
    are now (a reload mid-job shows them), the text, and the text templates for progress.js."""
    return {
        "url": url,
        "figures": figures,
        "percent": figures["percent"],
        "text": progress_text(figures),
        "templates": {key: str(text) for key, text in TEXTS.items()},
        "minutes_from": MINUTES_FROM,
    }


# --- a job's life: lost workers, a broker that is down ---------------------------------------

# A job queued or running this long without finishing lost its worker (killed, or its
# message lost): it may be confirmed again, and its page says it was interrupted.
STALE_AFTER = timedelta(minutes=30)


def lost_worker(now: datetime | None = None) -> Q:
    """The jobs (with `queued_at` and `started_at`) whose worker was lost."""
    stale = (now or timezone.now()) - STALE_AFTER
    return Q(status=QUEUED, queued_at__lt=stale) | Q(status=RUNNING, started_at__lt=stale)


def is_stale(status: str, since: datetime | None, now: datetime | None = None) -> bool:
    """Queued or running since `since` (its start, else its queueing), STALE_AFTER ago."""
    return (
        status in (QUEUED, RUNNING)
        and since is not None
        and since < (now or timezone.now()) - STALE_AFTER
    )


def job_state(status: str, since: datetime | None) -> str:
    """The status a page shows: a job whose worker was lost counts as failed."""
    return FAILED if is_stale(status, since) else status


def failure_code(status: str, since: datetime | None, error: str) -> str:
    """Why a job failed ("interrupted" when its worker was lost), or "" when it did not."""
    if job_state(status, since) != FAILED:
        return ""
    return "interrupted" if is_stale(status, since) else error


def send_job(task: Any, args: list, *, model: Any, pk: Any, what: str, **options: Any) -> bool:
    """Queue a job's task. With the broker down (docs/decisions.md D25) the job, still
    queued, is marked failed with `not_sent` at once: its page says nothing was done, and the
    same button queues it again."""
    from config.celery import send_or_log

    sent = send_or_log(task, args, what=what, **options)
    if not sent:
        model.objects.filter(pk=pk, status=QUEUED).update(
            status=FAILED, error="not_sent", finished_at=timezone.now()
        )
    return sent


# --- writing progress -----------------------------------------------------------------------


class ProgressWriter:
    """Writes a job's done (and total, and any other counters) to its row, through its own
    autocommit connection to the same database and schema. Use as a context manager, or
    call close().

    `update()` writes at most once per `interval` seconds (the job calls it once per batch
    of rows or entries); `flush()` writes what is pending. The connection waits at most
    LOCK_TIMEOUT for a row lock: the job's own transaction must not lock the row before its
    last progress write, and if it does, a write is skipped instead of waiting for it."""

    LOCK_TIMEOUT = "2s"
    MAX_FAILURES = 3

    def __init__(
        self,
        model: Any,
        pk: Any,
        *,
        done_field: str = "progress_done",
        total_field: str = "progress_total",
        schema: str | None = None,
        interval: float = 0.5,
    ) -> None:
        self.model = model
        self.pk = pk
        self.done_field = done_field
        self.total_field = total_field
        self.schema = schema or getattr(connection, "schema_name", None)
        self.interval = interval
        self._values: dict[str, Any] = {}
        self._pending = False
        self._last = -math.inf
        self._side: Any = None
        self._failures = 0

    def __enter__(self) -> ProgressWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, done: int, total: int | None = None, **extra: Any) -> None:
        self._values[self.done_field] = done
        if total is not None:
            self._values[self.total_field] = total
        self._values.update(extra)
        self._pending = True
        if time.monotonic() - self._last >= self.interval:
            self.flush()

    def flush(self) -> None:
        if not self._pending or self._failures >= self.MAX_FAILURES:
            return
        self._pending = False
        self._last = time.monotonic()
        try:
            self._write(dict(self._values))
        except DatabaseError as error:
            # Progress is a courtesy; the job goes on. (In tests that never commit, the
            # other connection cannot see the row, nor the firm's schema.)
            self._failures += 1
            logger.info("progress of %s %s not written: %s", self.model.__name__, self.pk,
                        type(error).__name__)  # fmt: skip
            self._drop()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._drop()

    def _connection(self) -> Any:
        if self._side is None:
            main = connections[DEFAULT_DB_ALIAS]
            settings_dict = {**main.settings_dict}
            side = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, "progress")
            if self.schema and hasattr(side, "set_schema"):
                side.set_schema(self.schema)
            with side.cursor() as cursor:
                cursor.execute(f"SET lock_timeout = '{self.LOCK_TIMEOUT}'")
            self._side = side
        return self._side

    def _write(self, values: dict[str, Any]) -> None:
        side = self._connection()
        meta = self.model._meta
        quote = side.ops.quote_name
        assignments, params = [], []
        for name, value in values.items():
            field = meta.get_field(name)
            assignments.append(f"{quote(field.column)} = %s")
            params.append(field.get_db_prep_value(value, side))
        params.append(meta.pk.get_db_prep_value(self.pk, side))
        statement = (
            f"UPDATE {quote(meta.db_table)} SET {', '.join(assignments)} "  # noqa: S608
            f"WHERE {quote(meta.pk.column)} = %s"
        )
        with side.cursor() as cursor:
            cursor.execute(statement, params)

    def _drop(self) -> None:
        if self._side is not None:
            side, self._side = self._side, None
            with contextlib.suppress(DatabaseError):
                side.close()
