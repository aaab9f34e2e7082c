"""./manage.py export_audit --tenants demo,demo2 --since DATE --until DATE --out FILE"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from audit.anchor_store import AnchorStoreUnavailable
from audit.export import FORMATS, export_audit
from authz.actions import Action
from authz.jobs import DeclaredCommand
from firms.models import Firm
from infra.audit.verify_anchor import AnchorInvalid


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise CommandError(f"not a date (YYYY-MM-DD): {text!r}") from error


class Command(DeclaredCommand, BaseCommand):
    authz_action = Action.OPERATOR_COMMAND
    help = (
        "Export every access-log entry of the given firms in a period (dates inclusive, in "
        "the platform's time zone) to one signed file."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenants", required=True, help="comma-separated firm slugs")
        parser.add_argument("--since", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--until", required=True, help="last day, YYYY-MM-DD")
        parser.add_argument("--out", required=True)
        parser.add_argument("--format", choices=FORMATS, default=None,
                            help="jsonl or csv (default: from the file's extension)")  # fmt: skip

    def handle(self, *args, **options):
        slugs = [slug.strip() for slug in options["tenants"].split(",") if slug.strip()]
        firms = list(Firm.objects.filter(slug__in=slugs))
        missing = sorted(set(slugs) - {firm.slug for firm in firms})
        if missing or not slugs:
            raise CommandError(f"unknown firm(s): {', '.join(missing) or '(none given)'}")
        first, last = _day(options["since"]), _day(options["until"])
        if last < first:
            raise CommandError("--until is before --since")
        zone = timezone.get_current_timezone()
        since = datetime.combine(first, time.min, tzinfo=zone)
        until = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone)
        out = Path(options["out"])
        file_format = options["format"] or ("csv" if out.suffix.lower() == ".csv" else "jsonl")
        try:
            result = export_audit(
                firms=firms, since=since, until=until, out=out, file_format=file_format
            )
        except OSError as error:
            raise CommandError(f"could not write {out}: {error.strerror}") from error
        except (AnchorStoreUnavailable, AnchorInvalid) as error:
            raise CommandError(f"the latest anchor could not be used: {error}") from error
        self.stdout.write(
            f"{result.entries} entries from {len(result.firms)} firm(s) written to {result.path}; "
            f"sha256 {result.sha256}; signed by key {result.fingerprint}"
        )
