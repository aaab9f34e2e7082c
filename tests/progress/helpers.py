"""Running background work in tests: Celery in-process (eager), and the request's
on-commit callbacks (which queue the tasks) run as the request's work ends, as they would
after its commit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.test import TestCase

from config.celery import app


@contextmanager
def eager_tasks() -> Iterator[None]:
    app.conf.task_always_eager = True
    try:
        with TestCase.captureOnCommitCallbacks(execute=True):
            yield
    finally:
        app.conf.task_always_eager = False


def confirm_import(client, pk, *, follow: bool = False):
    """Confirm a staged CSV import; its task runs (in-process) before this returns. With
    `follow`, the redirect to the import's page is followed."""
    with eager_tasks():
        response = client.post(f"/people/import/{pk}/", {"action": "confirm"})
    if follow and response.status_code == 302:
        return client.get(response["Location"], follow=True)
    return response
