"""./manage.py anchor_chain_heads: anchor every firm's chain head now, as beat does daily
(audit.anchoring): a signed Merkle root written to write-once storage."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from audit.anchor_store import AnchorExists, AnchorStoreUnavailable
from audit.anchoring import anchor_heads
from authz.actions import Action
from authz.jobs import DeclaredCommand


class Command(DeclaredCommand, BaseCommand):
    authz_action = Action.OPERATOR_COMMAND
    help = (
        "Sign a Merkle root over every firm's access-log chain head and write it to "
        "write-once storage (the daily anchor, on demand)."
    )

    def handle(self, *args, **options):
        try:
            record = anchor_heads()
        except (AnchorExists, AnchorStoreUnavailable) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"anchored {record.tree_size} firm(s): root {record.root}, key {record.key_id}, "
            f"written to {record.location}"
        )
