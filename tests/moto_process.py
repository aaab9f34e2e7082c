"""A moto server in a subprocess, shared by tests/kms_server.py and tests/s3_server.py: start
the script, read its "PORT n" line, wait until it answers, and stop it at the end.

Each server script prints "PORT n" once it listens and exits when its stdin closes, so the
server goes away even if the test session is killed."""

from __future__ import annotations

import select
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

START_TIMEOUT_SECONDS = 30


def read_port(process: subprocess.Popen[str]) -> int:
    assert process.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            line = process.stdout.readline()
            if line.startswith("PORT "):
                return int(line.split()[1])
            if not line and process.poll() is not None:
                break
    process.kill()
    raise RuntimeError(f"moto server did not start (exit code {process.poll()})")


def wait_until_answering(probe: Callable[[], object]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        try:
            probe()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@contextmanager
def moto_process(script: Path) -> Iterator[str]:
    """Run `script` and yield its endpoint URL (127.0.0.1, a port chosen by the OS)."""
    process = subprocess.Popen(
        [sys.executable, str(script)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        yield f"http://127.0.0.1:{read_port(process)}"
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
