"""./manage.py leak_investigation --tenant SLUG --actor EMAIL --since DATE --until DATE --out FILE

Whose records did one actor (a user's email, or an API token id as `token:ID` or the bare
number) touch in a period, across one firm (--tenant) or several (--tenants a,b): one CSV
row per person and firm (audit.investigation.CSV_COLUMNS). The investigation is logged in
each firm's access log (actor `system:leak-investigation`) and in the operator log.
docs/investigation.md."""

from __future__ import annotations

import csv
import os
import tempfile
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_tenants.utils import tenant_context

from audit.investigation import (
    CSV_COLUMNS,
    Investigation,
    InvestigationInvalid,
    Period,
    Subject,
    csv_rows,
    investigate,
    log_detail,
    merge,
)
from authz.actions import Action
from authz.jobs import DeclaredCommand
from firms.models import Firm
from operators.log import log_operator_action
from tenants.auditlog.services import Actor, log_access

SYSTEM_REASON = "leak-investigation"


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise CommandError(f"not a date (YYYY-MM-DD): {text!r}") from error


class Command(DeclaredCommand, BaseCommand):
    authz_action = Action.OPERATOR_COMMAND
    help = (
        "List every person whose record an actor (email or API token id) touched in a period "
        "(dates inclusive, platform time zone), with how, as CSV."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--tenant", help="one firm's slug")
        which.add_argument("--tenants", help="comma-separated firm slugs")
        parser.add_argument("--actor", required=True, help="email, or token:ID for an API token")
        parser.add_argument("--since", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--until", required=True, help="last day, YYYY-MM-DD")
        parser.add_argument("--out", required=True, help="CSV file to write")

    def handle(self, *args, **options):
        slugs = [s.strip() for s in (options["tenant"] or options["tenants"]).split(",")]
        slugs = [s for s in slugs if s]
        firms = list(Firm.objects.filter(slug__in=slugs).order_by("slug"))
        missing = sorted(set(slugs) - {firm.slug for firm in firms})
        if missing or not slugs:
            raise CommandError(f"unknown firm(s): {', '.join(missing) or '(none given)'}")
        try:
            subject = Subject.parse(options["actor"])
            period = Period(since=_day(options["since"]), until=_day(options["until"]))
        except InvestigationInvalid as error:
            raise CommandError(str(error)) from error
        result = merge(self._investigate(firm, subject, period) for firm in firms)
        out = Path(options["out"])
        try:
            _write_csv(out, result)
        except OSError as error:
            raise CommandError(f"could not write {out}: {error.strerror}") from error
        self.stdout.write(
            f"{subject.label}: {len(result.people)} person(s) in {len(firms)} firm(s), "
            f"{result.number_shown_count} with the number shown; {result.entries} entries; "
            f"written to {out}"
        )

    def _investigate(self, firm: Firm, subject: Subject, period: Period) -> Investigation:
        actor = Actor.system(SYSTEM_REASON)
        with tenant_context(firm), transaction.atomic():
            result = investigate(firm=firm, subject=subject, period=period)
            detail = log_detail(result, "csv")
            log_access(actor=actor, action="investigation", detail=detail)
            log_operator_action(
                actor_email=actor.email, action="leak_investigation", firm=firm, detail=detail
            )
        return result


def _write_csv(out: Path, result: Investigation) -> None:
    """Written beside its destination and renamed when complete (never a partial file);
    UTF-8 with a BOM, as Excel expects for Japanese."""
    descriptor, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_COLUMNS)
            writer.writerows(csv_rows(result))
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
