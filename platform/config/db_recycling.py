"""Close a database connection once it has served many firm schemas, so that the memory of
the PostgreSQL backend behind it stays bounded.

A backend caches the catalogue entries (relcache, catcache) of every relation it touches and
keeps them for its whole life. A firm is a schema of its own tables, so a web thread or a
worker whose connection serves requests or tasks for thousands of firms grows its backend by
every firm's relations (bench/backend_memory.py measured it; docs/decisions.md). Closing the
connection ends the backend and its caches; Django opens a new one on the next query.

The check runs where closing is safe and cheap: when a request has finished (Django's own
`close_old_connections` runs there too) and after a Celery task (as Celery's Django fixup
does), never inside a transaction. `DB_RECYCLE_AFTER_SCHEMAS` (settings) is the number of
distinct firm schemas a connection may serve: it is closed at the end of the request or task
that brought the next one; 0 turns it off. `CONN_MAX_AGE`
still applies as well: whichever comes first.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)


def recycle_after() -> int:
    return int(getattr(settings, "DB_RECYCLE_AFTER_SCHEMAS", 0) or 0)


def recycle_if_due(limit: int | None = None) -> list[str]:
    """Close every connection of this thread that has served more than `limit` (default: the
    setting) firm schemas and is not inside a transaction. Returns the aliases closed."""
    limit = recycle_after() if limit is None else limit
    if limit <= 0:
        return []
    closed = []
    for conn in connections.all(initialized_only=True):
        served = getattr(conn, "schemas_served", None)
        if served is None or len(served) <= limit or conn.in_atomic_block:
            continue
        logger.debug("closing connection %s after %d firm schemas", conn.alias, len(served))
        conn.close()
        closed.append(conn.alias)
    return closed


def _on_request_finished(sender: Any, **kwargs: Any) -> None:
    recycle_if_due()


def _on_task_postrun(sender: Any = None, **kwargs: Any) -> None:
    recycle_if_due()


def connect_signals() -> None:
    """Called from firms.apps.FirmsConfig.ready (firms is the tenancy app)."""
    from celery.signals import task_postrun
    from django.core.signals import request_finished

    request_finished.connect(_on_request_finished, dispatch_uid="config.db_recycling.request")
    task_postrun.connect(_on_task_postrun, dispatch_uid="config.db_recycling.task")
