"""Create or update the Stripe products, prices and tax rate of billing.plans; safe to run on
every deploy (docs/billing.md)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from authz.actions import Action
from authz.jobs import DeclaredCommand
from billing.catalog import sync_catalog
from billing.stripe_api import billing_enabled, client


class Command(DeclaredCommand, BaseCommand):
    authz_action = Action.OPERATOR_COMMAND
    help = "Create or update the Stripe catalog (products, prices, tax rate), idempotently."

    def add_arguments(self, parser):
        parser.add_argument(
            "--skip-customers",
            action="store_true",
            help="do not push the invoice registration number to existing customers",
        )

    def handle(self, *args, **options):
        if not billing_enabled():
            raise CommandError("STRIPE_SECRET_KEY is not set: billing is off.")
        report = sync_catalog(client(), customers=not options["skip_customers"])
        for label, items in (
            ("created", report.created),
            ("updated", report.updated),
            ("unchanged", report.unchanged),
        ):
            for item in items:
                self.stdout.write(f"{label}: {item}")
