"""Every action the code writes to a firm's log has a label for the log's reader."""

from __future__ import annotations

import re
from pathlib import Path

from tenants.auditlog.labels import ACTION_LABELS, action_label, role_label

ROOT = Path(__file__).resolve().parents[2]
# Written only to the operator log, which its own console shows.
OPERATOR_ONLY = {"chain_verify", "leak_investigation"}
LITERAL = re.compile(r'\baction="([a-z_]+)"')
# practices.services logs through a helper whose fourth argument is the action. (The
# offboarding helper of the same name takes an event: its action is always "offboarding".)
PRACTICES = ROOT / "platform" / "practices" / "services.py"
PRACTICE_ACTION = re.compile(r'_firm_log\([^)]*?"([a-z_]+)"')


def test_every_logged_action_has_a_label():
    codes: set[str] = set()
    for folder in ("platform", "tenants", "billing"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            codes |= set(LITERAL.findall(text))
    codes |= set(PRACTICE_ACTION.findall(PRACTICES.read_text(encoding="utf-8")))
    codes.add("offboarding")
    codes -= OPERATOR_ONLY | {"store_true"}  # argparse's action= is not ours
    assert len(codes) > 30  # the scan found the calls
    assert sorted(codes - set(ACTION_LABELS)) == []


def test_unknown_codes_are_shown_as_they_are():
    assert action_label("something_new") == "something_new"
    assert role_label("nobody") == "nobody"
    assert role_label("handler") != "handler"


def test_every_action_of_the_model_has_a_label():
    from tenants.auditlog.models import Action

    assert {action.value for action in Action} <= set(ACTION_LABELS)
