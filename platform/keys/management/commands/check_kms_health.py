"""./manage.py check_kms_health [--tenant SLUG]

The KMS health check (keys.health) now, in this process: one line per firm, exit status 1 if
any firm's key failed."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from authz.actions import Action
from authz.jobs import DeclaredCommand
from keys.health import check_all, check_firm_key

from ._common import firm_by_slug


class Command(DeclaredCommand, BaseCommand):
    authz_action = Action.OPERATOR_COMMAND
    help = "Round-trip every firm's key-encryption key (or one firm's) and report."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", metavar="SLUG", help="only this firm")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["tenant"]:
            one = check_firm_key(firm_by_slug(options["tenant"]))
            results = [] if one is None else [one]
        else:
            results = check_all()
        failed = 0
        for result in results:
            if result.ok:
                self.stdout.write(f"{result.firm_slug}: ok")
            else:
                failed += 1
                self.stdout.write(f"{result.firm_slug}: FAILED ({result.reason})")
        if failed:
            sys.exit(1)
