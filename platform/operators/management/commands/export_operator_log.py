"""./manage.py export_operator_log --out FILE [--since DATE] [--until DATE]

The operator log as CSV, every value exactly as hashed plus prev_hash and hash, so the file
alone lets anyone recompute the chain (docs/operators.md). --since is inclusive, --until
exclusive; an ISO date or date-time, UTC unless it names its offset."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_date, parse_datetime

from authz.actions import Action
from authz.jobs import DeclaredCommand
from operators.log import EXPORT_COLUMNS, export_rows


def _moment(value: str | None, option: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = parse_datetime(value)
        if moment is None:
            day = parse_date(value)
            moment = None if day is None else datetime.combine(day, time.min)
    except ValueError:
        moment = None
    if moment is None:
        raise CommandError(f"{option}: not a date or date-time: {value!r}", returncode=2)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Command(DeclaredCommand, BaseCommand):
    authz_action = Action.OPERATOR_COMMAND
    help = "Export the operator log (with its hash chain) as CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", metavar="FILE", required=True)
        parser.add_argument("--since", metavar="DATE", help="from (inclusive)")
        parser.add_argument("--until", metavar="DATE", help="up to (exclusive)")

    def handle(self, *args: Any, **options: Any) -> None:
        since = _moment(options["since"], "--since")
        until = _moment(options["until"], "--until")
        count, last = 0, None
        with open(options["out"], "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(EXPORT_COLUMNS)
            for row in export_rows(since=since, until=until):
                writer.writerow(row)
                count, last = count + 1, row
        tail = f"; last entry #{last[0]} hash {last[-1]}" if last else ""
        self.stdout.write(f"{count} operator log entries written to {options['out']}{tail}")
