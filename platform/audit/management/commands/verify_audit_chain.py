"""./manage.py verify_audit_chain --tenant SLUG | --all [--full]

By default incremental, as the nightly task: each firm's chain is read from its last
verified, anchored point on (audit.chain_verification); a firm verified for the first time
is read whole. `--full` reads and rehashes every entry from the first. Either way the outcome
is recorded as the firm's verification state.

A chain read whole (`--full`, or a first verification) that holds many entries is split over
`--processes` processes (default: the cores this process may use), each reading and hashing
a range of it in one shared snapshot (tenants.auditlog.verification).

Exit status: 0 when every chain checked is intact, 1 when one is not (the first bad entry of
each broken chain is named), 2 for a usage error such as an unknown slug.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import get_public_schema_name

from audit.anchor_store import AnchorStoreUnavailable, anchor_store
from audit.chain_verification import FirmVerification, usable_anchor, verify_firm
from audit.checkpoints import firms_with_logs
from authz.actions import Action
from authz.jobs import DeclaredCommand
from firms.models import Firm


class Command(DeclaredCommand, BaseCommand):
    authz_action = Action.OPERATOR_COMMAND
    help = (
        "Verify firms' access log hash chains against their heads, public checkpoints and the "
        "newest anchored root. Incremental by default: only the entries after each firm's "
        "last verified, anchored point are read (the whole log the first time); --full "
        "rehashes every entry."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--tenant", metavar="SLUG", help="the firm's slug")
        which.add_argument("--all", action="store_true", help="every firm")
        parser.add_argument(
            "--full",
            action="store_true",
            help="read every entry from the first, not only those after the verified point",
        )
        parser.add_argument(
            "--processes",
            type=_positive,
            default=_usable_cores(),
            metavar="N",
            help="processes that read and hash a long chain read whole (default: the cores)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        firms = firms_with_logs() if options["all"] else [self._firm(options["tenant"])]
        try:
            store = anchor_store()
            anchor = usable_anchor(store)
        except AnchorStoreUnavailable as error:
            raise CommandError(f"the anchor store is unavailable: {error}") from error
        broken = 0
        for firm in firms:
            result = verify_firm(
                firm,
                anchor_name=anchor,
                full=options["full"],
                store=store,
                processes=options["processes"],
            )
            broken += not result.ok
            self.stdout.write(self._line(result))
        if broken:
            self.stderr.write(f"{broken} of {len(firms)} chain(s) failed verification")
            sys.exit(1)

    def _line(self, result: FirmVerification) -> str:
        since = f" from the verified point #{result.since_seq}" if result.since_seq else ""
        read = f"{result.slug}: {result.entries_read} entries checked{since}"
        if result.ok:
            return f"{read}, ok"
        return f"{read}, NOT OK: first bad entry #{result.first_bad_seq}: {result.reason}"

    def _firm(self, slug: str) -> Firm:
        firm = Firm.objects.exclude(schema_name=get_public_schema_name()).filter(slug=slug).first()
        if firm is None:
            raise CommandError(f"no firm with slug {slug!r}", returncode=2)
        return firm


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {text!r}")
    return value


def _usable_cores() -> int:
    """The cores this process may run on (Linux), else the machine's."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
