"""The embedded PostgreSQL used when no DATABASE_URL is set.

Every entry point (manage.py, gunicorn, celery, pytest) calls `ensure_running()` through the
settings, so whichever starts first starts the server and the others attach to it. The
server keeps running between commands (`make stop-db` or the end of `make run` stops it),
so a second command starts in milliseconds instead of re-running initdb.
"""

from __future__ import annotations

import os
import warnings
from functools import cache
from pathlib import Path

from .paths import LOCAL_DIR

PGDATA = LOCAL_DIR / "pgdata"
DATABASE_NAME = "custody"


@cache
def ensure_running() -> dict[str, str]:
    """Start (or attach to) the embedded server and return its connection parameters."""
    PGDATA.parent.mkdir(parents=True, exist_ok=True)
    pgserver = _pgserver()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = pgserver.get_server(PGDATA, cleanup_mode=None)
    socket_dir = server.get_postmaster_info().socket_dir
    # DATABASE_NAME is a constant of this module, not input.
    query = f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';"  # noqa: S608
    exists = server.psql(query)
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return {"HOST": str(socket_dir), "NAME": DATABASE_NAME, "USER": "postgres", "PORT": ""}


def is_running() -> bool:
    return (PGDATA / "postmaster.pid").exists()


def stop() -> None:
    """Stop the embedded server if it runs; the data stays under .local/pgdata."""
    import subprocess

    pg_ctl = Path(str(_pgserver().__file__)).parent / "pginstall" / "bin" / "pg_ctl"
    if not is_running():
        return
    command = [str(pg_ctl), "-D", str(PGDATA), "-m", "fast", "-w", "stop"]
    if os.geteuid() == 0:  # pgserver runs the server as its own system user when we are root
        command = ["su", "pgserver", "-s", "/bin/sh", "-c", " ".join(command)]
    subprocess.run(command, check=False, capture_output=True)  # noqa: S603


def _pgserver():
    """Import pgserver (lazily: production never loads it). It keeps its inter-process lock
    in the runtime dir, read at import, so every process must agree on that dir first."""
    os.environ.setdefault("XDG_RUNTIME_DIR", str(_runtime_dir()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

    return pgserver


def _runtime_dir() -> Path:
    path = LOCAL_DIR / "run"
    path.mkdir(parents=True, exist_ok=True)
    return path
