"""./manage.py verify_audit_export FILE: the same check as infra/audit/verify_audit_export.py,
against this platform's own export key."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from audit.signing import public_key_b64
from authz.actions import Action
from authz.jobs import DeclaredCommand
from infra.audit.verify_audit_export import ExportInvalid, verify


class Command(DeclaredCommand, BaseCommand):
    authz_action = Action.OPERATOR_COMMAND
    help = "Verify a consolidated audit export: signature, file digest and every firm's chain."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, **options):
        try:
            with open(options["file"], "rb") as handle:
                data = handle.read()
        except OSError as error:
            raise CommandError(f"cannot read {options['file']}: {error.strerror}") from error
        try:
            report = verify(data, public_key_b64=public_key_b64())
        except ExportInvalid as problem:
            raise CommandError(f"INVALID: {problem}") from problem
        self.stdout.write(
            f"OK: {report.entries} entries from {len(report.firms)} firm(s) "
            f"({', '.join(report.firms)}), signed by key {report.fingerprint}"
        )
