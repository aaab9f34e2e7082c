"""The embedded default: a fresh machine, nothing running, everything under .local/."""

import secrets

from config.env import env_bool
from config.paths import LOCAL_DIR

from .base import *  # noqa: F403
from .base import SECRET_KEY as _SECRET_KEY_FROM_ENV

PROFILE = "local"
DEBUG = env_bool("DEBUG", False)
DEMO_DATA_ALLOWED = True
# Passkeys on http://localhost (a secure context for browsers, but not https for fido2).
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True
# http://127.0.0.1:8000/ goes to the public site on localhost (a firm needs a host name).
LOOPBACK_HOSTS = ("127.0.0.1", "[::1]", "::1")


def _local_secret_key() -> str:
    """A per-machine key kept in .local/ with owner-only permissions, made on first run."""
    path = LOCAL_DIR / "secret_key"
    if not path.exists():
        LOCAL_DIR.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _SECRET_KEY_FROM_ENV or _local_secret_key()

# WhiteNoise serves from the finders locally; the folder only has to exist.
STATIC_ROOT.mkdir(exist_ok=True)  # noqa: F405
