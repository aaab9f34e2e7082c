"""./manage.py verify_audit_export FILE: the same check as infra/audit/verify_audit_export.py,
against this platform's own signing keys (current and retired, picked by key id), including
each firm's inclusion proof in the anchored root. With --anchor-from-store, the proofs are
rebuilt from the latest anchor in the write-once store instead of taken from the file."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from audit.anchor_store import AnchorMissing, AnchorStoreUnavailable, anchor_store
from audit.signing import verification_keys
from authz.actions import Action
from authz.jobs import DeclaredCommand
from infra.audit.verify_audit_export import ExportInvalid, verify


class Command(DeclaredCommand, BaseCommand):
    authz_action = Action.OPERATOR_COMMAND
    help = (
        "Verify a consolidated audit export: signature, file digest, every firm's chain, and "
        "each firm's head against the anchored root."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument(
            "--anchor",
            metavar="NAME",
            help="check against this anchor of the write-once store (anchors/....json) "
            "instead of the proofs in the file",
        )

    def handle(self, *args, **options):
        try:
            with open(options["file"], "rb") as handle:
                data = handle.read()
        except OSError as error:
            raise CommandError(f"cannot read {options['file']}: {error.strerror}") from error
        document = None
        if options["anchor"]:
            try:
                document = json.loads(anchor_store().read(options["anchor"]))
            except (AnchorMissing, AnchorStoreUnavailable, ValueError) as error:
                raise CommandError(
                    f"cannot read the anchor {options['anchor']}: {error}"
                ) from error
        try:
            report = verify(data, keys=verification_keys(), anchor_document=document)
        except ExportInvalid as problem:
            raise CommandError(f"INVALID: {problem}") from problem
        self.stdout.write(
            f"OK: {report.entries} entries from {len(report.firms)} firm(s) "
            f"({', '.join(report.firms)}), signed by key {report.fingerprint}"
        )
        for firm in report.firms:
            self.stdout.write(f"  {firm}: {report.anchors[firm]}")
