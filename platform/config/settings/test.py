"""The test profile: the local default with faster hashing and in-memory side channels."""

from config.env import env_str

from .local import *  # noqa: F403

PROFILE = "test"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    }
}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# The retention sweep's clock, moved forward by tests that run a real worker process
# (tests/retention/test_worker.py); read only here, never in other profiles.
RETENTION_NOW = env_str("RETENTION_NOW") or None


def _local_redis() -> str:
    """Redis on 127.0.0.1:6379 when one answers (CI has it): the worker tests then run on the
    broker production uses. A fresh machine has none and keeps the filesystem broker."""
    import socket

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.2).close()
    except OSError:
        return ""
    return "redis://127.0.0.1:6379/15"


if not env_str("CELERY_BROKER_URL") and (_redis := _local_redis()):
    CELERY_BROKER_URL = _redis
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
