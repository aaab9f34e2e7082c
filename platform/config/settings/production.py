"""Production: everything secret or external comes from the environment; nothing is defaulted."""

import os

from django.core.exceptions import ImproperlyConfigured

from config.env import env_int, env_str

from .base import *  # noqa: F403

PROFILE = "production"
DEBUG = False
DEMO_DATA_ALLOWED = False
AUDIT_EXPORT_SIGNING_KEY_CREATE = False
# Anchored roots go to the Object Lock bucket (infra/terraform/anchors.tf): a folder on a
# pod's disk is neither write-once nor kept. Without ANCHOR_S3_BUCKET, anchoring and exports
# fail with a message that names it.
ANCHOR_STORE = env_str("ANCHOR_STORE", "s3")

for required in ("SECRET_KEY", "DATABASE_URL", "BASE_DOMAIN"):
    if not os.environ.get(required):
        raise ImproperlyConfigured(f"{required} must be set in production")

SITE_SCHEME = "https"
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https"
SECURE_SSL_REDIRECT = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 63072000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
PUBLIC_PORT = env_str("PUBLIC_PORT", "")
_port = f":{PUBLIC_PORT}" if PUBLIC_PORT else ""
CSRF_TRUSTED_ORIGINS = [f"https://{BASE_DOMAIN}{_port}", f"https://*.{BASE_DOMAIN}{_port}"]  # noqa: F405
# Checkout and the customer portal are reached through a form post redirected to Stripe.
CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"] = [  # noqa: F405
    "'self'",
    *CSRF_TRUSTED_ORIGINS,
    *STRIPE_FORM_ACTION,  # noqa: F405
]
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = False

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_FUNCTION": "django_tenants.cache.make_key",
            "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        }
    }
