"""Tasks and management commands declare their action too, and run only if they do.

- Celery tasks: `@shared_task(name=..., authz_action=Action.X)` (Celery makes the keyword an
  attribute of the task's class). The app's task class, `AuthorizedTask`, refuses to run a
  task that declares none, and writes the denials its run left pending (authz.errors) when it
  ends, whatever the outcome.
- Management commands subclass `DeclaredCommand` next to their Django base and set
  `authz_action`; `execute` refuses a command that declares none.

What a task or command may then do is decided where it acts: services call `authz.decide`
with the actor the job acts as (`Actor.system(...)` for schedules and the command line, the
user who asked for an import or an export, re-checked when it runs).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.management.base import CommandError
from tenant_schemas_celery.task import TenantTask

from .actions import RULES, Action
from .errors import Denied, flush_pending

logger = logging.getLogger(__name__)


class AuthorizedTask(TenantTask):
    abstract = True
    authz_action: Action | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.authz_action not in RULES:
            logger.error("task %s declares no authorization action: refused", self.name)
            raise Denied(code="undeclared")
        try:
            return super().__call__(*args, **kwargs)
        finally:
            flush_pending()


class DeclaredCommand:
    authz_action: Action | None = None

    def execute(self, *args: Any, **options: Any) -> Any:
        if self.authz_action not in RULES:
            raise CommandError(
                f"{type(self).__module__} declares no authorization action (authz.jobs)"
            )
        try:
            return super().execute(*args, **options)  # type: ignore[misc]
        finally:
            flush_pending()
