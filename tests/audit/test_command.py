"""./manage.py verify_audit_chain: exit 0 when intact, 1 naming the first bad entry, 2 for a
usage error. Also run as a real process, as cron or an operator would."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.audit.conftest import run_verify_chain
from tests.helpers import database_url

from .conftest import append

MANAGE = [sys.executable, "manage.py", "verify_audit_chain"]


@pytest.mark.django_db
def test_intact_chain_exits_0_with_a_line(acme):
    append(acme, 4)
    assert run_verify_chain("--tenant", "acme") == (0, "acme: 4 entries checked, ok\n")


@pytest.mark.django_db
def test_all_prints_a_line_per_firm(acme, globex):
    append(acme, 2)
    code, out = run_verify_chain("--all")
    assert code == 0
    assert out.splitlines() == ["acme: 2 entries checked, ok", "globex: 0 entries checked, ok"]


@pytest.mark.django_db
def test_unknown_slug_is_a_usage_error(acme):
    with pytest.raises(CommandError, match="no firm with slug 'nope'") as raised:
        call_command("verify_audit_chain", "--tenant", "nope")
    assert raised.value.returncode == 2
    with pytest.raises(CommandError, match="no firm"):
        call_command("verify_audit_chain", "--tenant", "public")


@pytest.mark.django_db(transaction=True)
def test_exit_status_as_a_process(acme):
    append(acme, 3)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(),
    }
    ok = subprocess.run([*MANAGE, "--tenant", "acme"], env=env, capture_output=True, text=True)
    assert (ok.returncode, ok.stdout) == (0, "acme: 3 entries checked, ok\n"), ok.stderr
    unknown = subprocess.run([*MANAGE, "--tenant", "nope"], env=env, capture_output=True, text=True)
    assert unknown.returncode == 2 and "no firm with slug 'nope'" in unknown.stderr
    neither = subprocess.run(MANAGE, env=env, capture_output=True, text=True)
    assert neither.returncode == 2 and "--tenant" in neither.stderr
