"""`make run`: set up the embedded default and serve the product, worker and beat included.

Ctrl-C stops every process cleanly (and the embedded PostgreSQL); data stays under .local/.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
PORT = os.environ.get("PORT", "8000")


def manage(*args: str) -> None:
    subprocess.run([PYTHON, str(ROOT / "manage.py"), *args], check=True, cwd=ROOT)  # noqa: S603


def start(name: str, command: list[str]) -> subprocess.Popen:
    print(f"[run] starting {name}", flush=True)
    # Each child gets its own process group so Ctrl-C reaches us first and we stop them in order.
    return subprocess.Popen(command, cwd=ROOT, start_new_session=True)  # noqa: S603


def stop_all(processes: dict[str, subprocess.Popen]) -> None:
    for name, process in processes.items():
        if process.poll() is None:
            print(f"[run] stopping {name}", flush=True)
            process.terminate()  # the leader stops its own children (gunicorn, celery pools)
    deadline = time.monotonic() + 15
    for process in processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ["PORT"] = PORT
    # Stop the embedded database on the way out only if this run started it: another
    # command (tests, a shell) may be using a server that was already running.
    from config.embedded_db import is_running, stop

    owns_database = not os.environ.get("DATABASE_URL") and not is_running()
    manage("migrate_schemas", "--verbosity", "0")
    manage("collectstatic", "--noinput", "--verbosity", "0")
    # DEMO_PEOPLE=300 make run: デモ商事 filled up to 300 people (the people list at scale).
    demo_people = os.environ.get("DEMO_PEOPLE", "")
    manage("seed_demo", *(["--people", demo_people] if demo_people.isdigit() else []))
    bind = ["--bind", f"127.0.0.1:{PORT}"]
    if Path("/proc/net/if_inet6").exists():
        bind += ["--bind", f"[::1]:{PORT}"]
    processes = {
        "web": start(
            "web",
            [
                PYTHON,
                "-m",
                "gunicorn",
                "config.wsgi",
                *bind,
                "--workers",
                "2",
                "--threads",
                "4",
                "--access-logfile",
                "-",
                "--graceful-timeout",
                "5",
            ],
        ),
        "worker": start(
            "worker",
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
            ],
        ),
        "beat": start(
            "beat", [PYTHON, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO"]
        ),
    }
    print(f"[run] serving http://localhost:{PORT}/ (Ctrl-C stops everything)", flush=True)
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stopping:
            for name, process in processes.items():
                if process.poll() is not None:
                    print(f"[run] {name} exited with {process.returncode}; stopping", flush=True)
                    stopping = True
            time.sleep(0.5)
    finally:
        stop_all(processes)
        if owns_database:
            stop()
            print("[run] embedded PostgreSQL stopped; data kept in .local/pgdata", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
