"""Run a command, then stop the embedded PostgreSQL if the command started it.

`make test` wraps its steps in this: the settings start the embedded server on first use
(config.embedded_db) and it keeps running between commands, which a test run must not leave
behind. A server that was already running (a `make run` in another terminal) is left alone.
With DATABASE_URL set nothing is embedded and nothing is stopped."""

from __future__ import annotations

import os
import subprocess
import sys

# The command's environment as the Makefile gave it, taken before `config` is imported:
# importing it loads the Celery app, which sets a default DJANGO_SETTINGS_MODULE (the local
# profile) that pytest would then prefer to the test profile its configuration names.
COMMAND_ENV = dict(os.environ)

from config.embedded_db import is_running, stop  # noqa: E402


def main(command: list[str]) -> int:
    was_running = is_running()
    try:
        return subprocess.call(command, env=COMMAND_ENV)  # noqa: S603 (the Makefile's own command line)
    finally:
        if not was_running and is_running():
            stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
