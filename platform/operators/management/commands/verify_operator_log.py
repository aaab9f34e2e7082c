"""./manage.py verify_operator_log

Exit status 0 when the operator log's chain is intact, 1 when it is not (the first bad entry
is named)."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand

from authz.actions import Action
from authz.jobs import DeclaredCommand
from operators.log import verify_operator_log


class Command(DeclaredCommand, BaseCommand):
    authz_action = Action.OPERATOR_COMMAND
    help = "Verify the operator log's hash chain."

    def handle(self, *args: Any, **options: Any) -> None:
        result = verify_operator_log()
        if result.ok:
            self.stdout.write(f"operator log: {result.entries_checked} entries checked, ok")
            return
        self.stdout.write(
            f"operator log: {result.entries_checked} entries checked, NOT OK: "
            f"first bad entry #{result.first_bad_seq}: {result.reason}"
        )
        sys.exit(1)
