"""./manage.py offboard_sweep

Runs the same offboarding sweep as the hourly beat task, in this process: retries exports and
billing stops, destroys the keys whose download window is over (or whose owner confirmed the
download), drops the schemas whose key was destroyed OFFBOARDING_DROP_DAYS ago. Safe to stop
and run again (docs/retention.md, "Offboarding")."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from authz.actions import Action
from authz.jobs import DeclaredCommand
from firms.offboarding import offboarding_sweep


class Command(DeclaredCommand, BaseCommand):
    authz_action = Action.OPERATOR_COMMAND
    help = "Run every firm offboarding step that is due."

    def handle(self, *args: Any, **options: Any) -> None:
        result = offboarding_sweep()
        for label, slugs in (
            ("exported", result.exported),
            ("billing stopped", result.billing_stopped),
            ("key destroyed", result.shredded),
            ("schema dropped", result.dropped),
            ("FAILED", result.failed),
        ):
            for slug in slugs:
                self.stdout.write(f"{slug}: {label}")
        self.stdout.write(result.summary())
        if result.failed:
            raise SystemExit(1)
