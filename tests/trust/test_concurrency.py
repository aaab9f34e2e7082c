"""Twenty clients reveal and write at once against a live server (Django's threaded live
server here; bench/concurrency.py does a minute on gunicorn and prints the req/s). Then every
request has exactly one access-log entry, the chain verifies, and PostgreSQL saw no deadlock."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.trust, pytest.mark.django_db(transaction=True)]

BENCH = Path(__file__).resolve().parents[2] / "bench"


def mixed_load():
    spec = importlib.util.spec_from_file_location("mixed_load", BENCH / "mixed_load.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mixed_load"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("seconds", [pytest.param(4, id="4s"),
                                     pytest.param(60, id="60s", marks=pytest.mark.slow)])  # fmt: skip
def test_twenty_clients_reveal_and_write_at_once(live_server, seconds):
    load = mixed_load()
    port = urlsplit(live_server.url).port
    token, ids = load.firm_with_numbers("load", people=50)
    deadlocks_before = load.deadlocks()

    result = load.run_mixed_load(port=port, host=f"load.localhost:{port}", token=token, ids=ids,
                                 clients=20, seconds=seconds)  # fmt: skip
    print(f"\n{result.requests} requests from 20 clients in {result.seconds:.1f} s: "
          f"{result.rate:.0f} req/s (Django's threaded live server)")  # fmt: skip

    assert result.failures == []
    operations = set(result.sent.values())
    assert {"reveal", "person_create", "number_set"} <= operations, operations
    log = load.check_log("load", result)
    assert log.missing == [], f"{len(log.missing)} requests left no log entry"
    assert log.duplicated == [], f"{len(log.duplicated)} requests left more than one entry"
    assert log.chain_ok
    assert load.deadlocks() == deadlocks_before
