"""Settings shared by every profile. Values come from the environment; see docs/configuration.md."""

from __future__ import annotations

from datetime import timedelta

import dj_database_url
from celery.schedules import crontab

from config.env import env_bool, env_int, env_list, env_str
from config.paths import LOCAL_DIR, REPO_ROOT


def gettext_noop(message: str) -> str:
    """Marks a string for makemessages without importing Django's translation machinery
    into the settings (importing it here changes how a failed settings import surfaces)."""
    return message


PROFILE = "base"
DEBUG = False
SECRET_KEY = env_str("SECRET_KEY")

# Firms live at {slug}.{BASE_DOMAIN}; the bare domain serves sign-up, login and consoles.
BASE_DOMAIN = env_str("BASE_DOMAIN", "localhost")
PUBLIC_PORT = env_str("PUBLIC_PORT", env_str("PORT", "8000"))
SITE_SCHEME = env_str("SITE_SCHEME", "http")
ALLOWED_HOSTS = [BASE_DOMAIN, f".{BASE_DOMAIN}"]
# Addresses sent on to the bare domain (firms.middleware): only the embedded default sets them.
LOOPBACK_HOSTS: tuple[str, ...] = ()

SHARED_APPS = [
    # firms first: its migrate_schemas (skips up-to-date schemas) overrides django-tenants'.
    "firms",
    "django_tenants",
    "accounts",
    "public_site",
    "operators",
    "practices",
    "keys",
    "audit",
    "billing",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "tenants.workspace",
    "tenants.auditlog",
    "tenants.custody",
    "tenants.collection",
    "tenants.retention",
    "tenants.filings",
    "tenants.compliance",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "firms.Firm"
TENANT_DOMAIN_MODEL = "firms.Domain"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
ROOT_URLCONF = "config.urls_tenant"
# New firms are cloned from this migrated template instead of running every migration.
TENANT_BASE_SCHEMA = "firm_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
TENANT_SUBPROCESS_PARALLEL = env_int("TENANT_SUBPROCESS_PARALLEL", 2)
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
# Issue `SET search_path` once per schema switch instead of before every query (half the
# round trips of a request). Safe because django-tenants (>= 4.0) forgets the cached path on
# every rollback and savepoint rollback, where PostgreSQL undoes a SET (docs/decisions.md D16).
TENANT_LIMIT_SET_CALLS = True

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "firms.middleware.FirmHostMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "authz.web.AuthorizationMiddleware",
    # Last, so it is the first to see a view's exception: domain errors become clear pages
    # (config.error_layer, the same table the API's exception handler uses).
    "config.error_layer.ErrorLayerMiddleware",
]


def database_settings() -> dict:
    """DATABASE_URL when set, else the embedded PostgreSQL under .local/."""
    url = env_str("DATABASE_URL")
    config: dict
    if url:
        config = dict(dj_database_url.parse(url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60)))
    else:
        from config.embedded_db import ensure_running

        config = {**ensure_running(), "PASSWORD": "", "CONN_MAX_AGE": 60}
    config["ENGINE"] = "config.db_backend"  # django-tenants' backend, fewer round trips
    config.setdefault("OPTIONS", {})
    config.setdefault("CONN_HEALTH_CHECKS", True)
    # TEST_DB_NAME lets two test runs on one machine (two checkouts, two agents) keep apart.
    config.setdefault("TEST", {"NAME": env_str("TEST_DB_NAME") or f"test_{config['NAME']}"})
    return config


DATABASES = {"default": database_settings()}
# A connection that has served this many distinct firm schemas is closed at the end of the
# request or task (config.db_recycling): its PostgreSQL backend caches every relation it
# touched, about 110 KB a firm (bench/backend_memory.py, docs/decisions.md D42). 0: never.
DB_RECYCLE_AFTER_SCHEMAS = env_int("DB_RECYCLE_AFTER_SCHEMAS", 200)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [REPO_ROOT / "frontend" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "accounts.context_processors.navigation",
                "billing.context_processors.billing",
            ],
            "builtins": ["config.page_title"],
        },
    },
]
WSGI_APPLICATION = "config.wsgi.application"

# Japanese first, English second.
LANGUAGE_CODE = "ja"
# Each language is named in itself, whichever language the page is in.
LANGUAGES = [("ja", "日本語"), ("en", "English")]
LOCALE_PATHS = [REPO_ROOT / "frontend" / "locale"]
# The person's side (the collection page, its emails and reminders) speaks more: the
# languages of the people small firms employ (issue 18, docs/translations.md). Staff pages stay
# in LANGUAGES. "ja-easy" is やさしい日本語 (plain Japanese, furigana as <ruby>); "fil" is
# Filipino (Tagalog). Each is named in itself.
PERSON_LANGUAGES = [
    ("ja", "日本語"),
    ("ja-easy", "やさしい にほんご"),
    ("en", "English"),
    ("vi", "Tiếng Việt"),
    ("id", "Bahasa Indonesia"),
    ("zh-hans", "简体中文"),
    ("zh-hant", "繁體中文"),
    ("ko", "한국어"),
    ("fil", "Filipino (Tagalog)"),
    ("ne", "नेपाली"),
    ("my", "မြန်မာဘာသာ"),
    ("pt-br", "Português (Brasil)"),
]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = REPO_ROOT / "staticfiles"
STATICFILES_DIRS = [REPO_ROOT / "frontend" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Sessions are host-only: a session on one firm's host is never sent to another's. Moving
# between hosts goes through a one-time hand-off (accounts.handoff), see docs/decisions.md.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 60 * 60 * 8)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_TRUSTED_ORIGINS = [
    f"{SITE_SCHEME}://{BASE_DOMAIN}:{PUBLIC_PORT}",
    f"{SITE_SCHEME}://*.{BASE_DOMAIN}:{PUBLIC_PORT}",
    f"{SITE_SCHEME}://{BASE_DOMAIN}",
    f"{SITE_SCHEME}://*.{BASE_DOMAIN}",
]

# Security headers and a strict Content-Security-Policy with no inline script or style.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # allauth renders the TOTP QR code as a data: URI image.
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        # Sign-in posts on the bare domain and is redirected on to a firm's host.
        "form-action": [
            "'self'",
            f"{SITE_SCHEME}://{BASE_DOMAIN}:*",
            f"{SITE_SCHEME}://*.{BASE_DOMAIN}:*",
        ],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(LOCAL_DIR / "cache"),
        # Cache keys carry the schema, so one firm never reads another's cached data.
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    }
}

# Mail: the console by default (the verification link shows in `make run`'s output);
# SMTP when EMAIL_HOST is set.
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "マイナンバー保管サービス <no-reply@localhost>")

# django-allauth: email login, mandatory verification, TOTP + recovery codes + WebAuthn.
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = 3
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_FORMS = {"signup": "firms.forms.FirmSignupForm"}
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
ACCOUNT_DEFAULT_HTTP_PROTOCOL = SITE_SCHEME
ACCOUNT_REAUTHENTICATION_TIMEOUT = 600
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
MFA_ADAPTER = "accounts.mfa_adapter.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_TOTP_ISSUER = "MyNumber Custody"
# One 30-second step of drift either side (RFC 6238, section 5.2): a code typed in the last
# seconds of its step, or on a phone whose clock is a little off, still opens. allauth marks
# an accepted code used for the whole window, so the same code is still refused a second time.
MFA_TOTP_TOLERANCE = 1
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = False

# Account lockout after repeated failures (accounts.lockout).
LOGIN_LOCKOUT_THRESHOLD = env_int("LOGIN_LOCKOUT_THRESHOLD", 5)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15)
HANDOFF_TTL = timedelta(seconds=60)
INVITATION_TTL = timedelta(days=7)

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Every firm endpoint derives from tenants.api.base.FirmAPIView, which fixes these.
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "tenants.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "My Number custody API",
    "DESCRIPTION": "Firm API on https://{slug}.{BASE_DOMAIN}/api/v1/. Authorization: Bearer TOKEN.",
    "VERSION": "1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
}

# Celery: a broker that needs no server by default (kombu's filesystem transport).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {}
    if env_str("CELERY_BROKER_URL")
    else {
        "data_folder_in": str(LOCAL_DIR / "broker" / "queue"),
        "data_folder_out": str(LOCAL_DIR / "broker" / "queue"),
        "processed_folder": str(LOCAL_DIR / "broker" / "processed"),
        "control_folder": str(LOCAL_DIR / "broker" / "control"),
        "store_processed": False,
    }
)
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(LOCAL_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict = {
    "purge-expired-tickets": {"task": "accounts.purge_expired", "schedule": 3600.0},
    "collection-reminders": {"task": "collection.remind_all", "schedule": 3600.0 * 6},
    # Requests unanswered for the practice's number of days are told to the client's owners,
    # once (practices.escalation); checked as often as the reminders go.
    "practice-escalations": {"task": "practices.escalate_all", "schedule": 3600.0 * 6},
    # Filled filings' sealed uploads are deleted once their 24 hours are over.
    "filings-purge": {"task": "filings.purge_all", "schedule": 900.0},
}

DEMO_DATA_ALLOWED = False
# How long a revealed number stays on screen before the page hides it again.
REVEAL_DISPLAY_SECONDS = env_int("REVEAL_DISPLAY_SECONDS", 30)
# CSV import of people (tenants.custody.csv_import): the most data rows one file may hold
# (counting stops at the first row over the limit), and the largest file accepted, in bytes.
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 20_000)
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 10 * 1024 * 1024)
# Filings (tenants.filings): the largest file accepted (a 10,000-row 統一CSV is about 7 MB),
# kept in memory only, under FILE_UPLOAD_MAX_MEMORY_SIZE, and how long its sealed upload
# can be downloaded filled before it is deleted.
FILING_MAX_BYTES = env_int("FILING_MAX_BYTES", 40 * 1024 * 1024)
FILING_KEEP_HOURS = env_int("FILING_KEEP_HOURS", 24)

# --- Collection (tenants/collection) ---
# Uploads stay in memory and are encrypted before anything is written: a photo of someone's
# My Number card never lands in a temporary file. A request larger than this (four files of
# the document limit and the form) is refused with a clear message rather than spooled.
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.MemoryFileUploadHandler"]
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("FILE_UPLOAD_MAX_MEMORY_SIZE", 42 * 1024 * 1024)
# A link asking someone for their number works this many days.
COLLECTION_LINK_DAYS = env_int("COLLECTION_LINK_DAYS", 14)
# An unanswered link is sent again every this many days until it is answered or expires.
COLLECTION_REMINDER_DAYS = env_int("COLLECTION_REMINDER_DAYS", 3)
# The January board calls an unanswered link overdue after this many days (by then the
# schedule has sent it again twice).
COLLECTION_OVERDUE_DAYS = env_int("COLLECTION_OVERDUE_DAYS", 7)

# Key provider for firm key-encryption keys: "local" (embedded default) or "aws".
KEY_PROVIDER = env_str("KEY_PROVIDER", "local")

# Anything shaped like a My Number is scrubbed from every log line and error report.
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.scrub.ScrubbingExceptionReporterFilter"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"scrub_my_numbers": {"()": "config.scrub.MyNumberScrubbingFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["scrub_my_numbers"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "pgserver": {"level": "WARNING"},
    },
}

# --- Keys (platform/keys) ---
# See docs/keys.md. The local provider's master key is a file outside the database, created
# on first use with owner-only permissions.
LOCAL_MASTER_KEY_PATH = env_str("LOCAL_MASTER_KEY_PATH") or str(LOCAL_DIR / "keys" / "master.key")
# Unwrapped data keys stay in this process's memory (never Django's cache) this long; 0 = never.
KEY_CACHE_SECONDS = env_int("KEY_CACHE_SECONDS", 300)
# Before using a firm's cached keys, read its key generation (keys.generation) unless it was
# read less than this ago: a destroyed or refused key stops working in every process within
# this time. 0 = read it on every use. docs/keys.md, D29.
KEY_GENERATION_CHECK_SECONDS = float(env_str("KEY_GENERATION_CHECK_SECONDS", "0.25"))
# The platform key's KEK (keys.platform_key: TOTP secrets, audit-export files) under the aws
# provider: a KMS key id, ARN or alias made outside the application (terraform). Empty: the
# platform creates one on first use (alias <AWS_KMS_ALIAS_PREFIX>_platform).
PLATFORM_KMS_KEY_ID = env_str("PLATFORM_KMS_KEY_ID")
# aws provider: no endpoint means real AWS; a URL points at any KMS-compatible endpoint.
# No credentials means boto3's default chain (instance role, environment, profile).
AWS_KMS_ENDPOINT_URL = env_str("AWS_KMS_ENDPOINT_URL") or None
AWS_REGION = env_str("AWS_REGION", "ap-northeast-1")
AWS_ACCESS_KEY_ID = env_str("AWS_ACCESS_KEY_ID") or None
AWS_SECRET_ACCESS_KEY = env_str("AWS_SECRET_ACCESS_KEY") or None
# Short and bounded, so an unreachable KMS fails a reveal in seconds (HTTP 503), not minutes.
AWS_KMS_CONNECT_TIMEOUT = env_int("AWS_KMS_CONNECT_TIMEOUT", 2)
AWS_KMS_READ_TIMEOUT = env_int("AWS_KMS_READ_TIMEOUT", 5)
AWS_KMS_MAX_ATTEMPTS = env_int("AWS_KMS_MAX_ATTEMPTS", 2)
AWS_KMS_ALIAS_PREFIX = env_str("AWS_KMS_ALIAS_PREFIX", "alias/mynumber-custody/")
AWS_KMS_ENABLE_KEY_ROTATION = env_bool("AWS_KMS_ENABLE_KEY_ROTATION", True)
# The key policy (JSON) every firm key is created with; production sets it to Terraform's
# firm_kek_policy_json output. Empty: KMS's default policy (the account's IAM decides).
AWS_KMS_KEY_POLICY = env_str("AWS_KMS_KEY_POLICY")
# Automatic rotation (keys.rotation): a firm's KEK and data key are rotated once they are this
# many days old; beat looks daily.
KEY_ROTATION_DAYS = env_int("KEY_ROTATION_DAYS", 365)
CELERY_BEAT_SCHEDULE["key-rotation"] = {"task": "keys.rotate_due", "schedule": 3600.0 * 24}
# KMS health checks (keys.health): a round trip under every firm's KEK this often; a failure
# logs "KMS_HEALTH_FAILED firm=<slug> reason=<code>" at ERROR, for alarms.
KEY_HEALTH_CHECK_SECONDS = env_int("KEY_HEALTH_CHECK_SECONDS", 900)
CELERY_BEAT_SCHEDULE["kms-health"] = {
    "task": "keys.health_check_all",
    "schedule": float(KEY_HEALTH_CHECK_SECONDS),
}

# --- Object storage (platform/objectstore) ---
# See docs/documents.md. Large encrypted blobs (ID document images and PDFs) live here, not in
# the database; every object is sealed with keys.envelope before it is stored.
# "local" (embedded default): files under OBJECT_STORE_LOCAL_DIR; "s3": a bucket.
OBJECT_STORE = env_str("OBJECT_STORE", "local")
OBJECT_STORE_LOCAL_DIR = env_str("OBJECT_STORE_LOCAL_DIR") or str(LOCAL_DIR / "objects")
# s3: region and credentials are the AWS_* settings above (one identity for KMS and S3).
# No endpoint means real AWS; a URL points at any S3-compatible server.
OBJECT_STORE_S3_BUCKET = env_str("OBJECT_STORE_S3_BUCKET")
OBJECT_STORE_S3_ENDPOINT_URL = env_str("OBJECT_STORE_S3_ENDPOINT_URL") or None
# Server-side encryption asked for on every put, on top of our own envelope: "aws:kms"
# (default; satisfies a bucket policy that requires it), "AES256", or "" for none (a server
# without KMS). Set the environment variable to an empty string to turn it off.
OBJECT_STORE_S3_SSE = env_str("OBJECT_STORE_S3_SSE", "aws:kms")
# Short and bounded, so an unreachable store fails an upload or a view in seconds (HTTP 503).
OBJECT_STORE_S3_CONNECT_TIMEOUT = env_int("OBJECT_STORE_S3_CONNECT_TIMEOUT", 2)
OBJECT_STORE_S3_READ_TIMEOUT = env_int("OBJECT_STORE_S3_READ_TIMEOUT", 10)
OBJECT_STORE_S3_MAX_ATTEMPTS = env_int("OBJECT_STORE_S3_MAX_ATTEMPTS", 2)
# Uploaded documents (tenants/collection/documents.py): larger files are refused before they
# are read whole; images are refused above this many pixels before they are decoded (a small
# file can declare a huge image: a decompression bomb).
DOCUMENT_MAX_BYTES = env_int("DOCUMENT_MAX_BYTES", 10 * 1024 * 1024)
DOCUMENT_MAX_PIXELS = env_int("DOCUMENT_MAX_PIXELS", 40_000_000)

# --- Audit (platform/audit, tenants/auditlog) ---
# The Ed25519 key that signs consolidated audit exports (docs/audit-export.md): a file
# outside the database, created with owner-only permissions on first use.
AUDIT_EXPORT_SIGNING_KEY_PATH = env_str("AUDIT_EXPORT_SIGNING_KEY_PATH") or str(
    LOCAL_DIR / "keys" / "audit-export-ed25519.pem"
)
# Locally the key is made on first use; production sets this False and refuses to sign
# without the mounted key (each replica would otherwise invent a key of its own).
AUDIT_EXPORT_SIGNING_KEY_CREATE = env_bool("AUDIT_EXPORT_SIGNING_KEY_CREATE", True)
# An export made in the UI can be downloaded this long, then its file is removed.
AUDIT_EXPORT_DOWNLOAD_HOURS = env_int("AUDIT_EXPORT_DOWNLOAD_HOURS", 24)
# When set, every finished export is also copied to this bucket (Object Lock in production).
AUDIT_EXPORT_S3_BUCKET = env_str("AUDIT_EXPORT_S3_BUCKET")
AUDIT_EXPORT_S3_ENDPOINT_URL = env_str("AUDIT_EXPORT_S3_ENDPOINT_URL") or None
# A request id first, so every response (redirects and refusals too) carries it and every
# access log entry of one request shares it.
MIDDLEWARE.insert(0, "audit.middleware.RequestIdMiddleware")
# Only behind a proxy we run, which appends the client's address to X-Forwarded-For.
TRUST_X_FORWARDED_FOR = env_bool("TRUST_X_FORWARDED_FOR", False)
# Each firm's chain head is copied to the public schema hourly (audit.tasks).
CELERY_BEAT_SCHEDULE["audit-checkpoints"] = {"task": "audit.checkpoint_all", "schedule": 3600.0}
# Public keys of signing keys retired before the anchor store existed (base64 raw Ed25519,
# comma-separated); later keys stay in the anchor store itself (audit.signing).
AUDIT_SIGNING_RETIRED_PUBLIC_KEYS = env_list("AUDIT_SIGNING_RETIRED_PUBLIC_KEYS")
# Daily anchored roots (audit.anchoring, docs/access-log.md): a Merkle root over every firm's
# chain head, signed, written to write-once storage. "local": an append-only folder (make
# run); "s3": a bucket with Object Lock, each object locked in COMPLIANCE mode for
# ANCHOR_RETENTION_DAYS (infra/terraform/anchors.tf).
ANCHOR_STORE = env_str("ANCHOR_STORE", "local")
ANCHOR_LOCAL_DIR = env_str("ANCHOR_LOCAL_DIR") or str(LOCAL_DIR / "anchors")
ANCHOR_S3_BUCKET = env_str("ANCHOR_S3_BUCKET")
ANCHOR_S3_ENDPOINT_URL = env_str("ANCHOR_S3_ENDPOINT_URL") or None
ANCHOR_S3_KMS_KEY_ID = env_str("ANCHOR_S3_KMS_KEY_ID")
ANCHOR_RETENTION_DAYS = env_int("ANCHOR_RETENTION_DAYS", 365 * 10)
# 15:45 UTC is 00:45 in Japan: the anchor of a day holds every entry of the day before.
CELERY_BEAT_SCHEDULE["audit-anchor"] = {
    "task": "audit.anchor_heads",
    "schedule": crontab(hour=15, minute=45),
}
# Nightly, after the anchor: every firm's chain verified from its last verified, anchored
# point (audit.chain_verification); 16:15 UTC is 01:15 in Japan.
CELERY_BEAT_SCHEDULE["audit-verify"] = {
    "task": "audit.verify_all_chains",
    "schedule": crontab(hour=16, minute=15),
}
# An export still queued this long after it was asked for is sent again (its first send
# failed because the broker was down, docs/decisions.md D25); beat looks every minute.
AUDIT_EXPORT_REDISPATCH_SECONDS = env_int("AUDIT_EXPORT_REDISPATCH_SECONDS", 60)
# A job "running" this long lost its worker: the dispatcher sends it again (export_jobs).
AUDIT_EXPORT_STALE_MINUTES = env_int("AUDIT_EXPORT_STALE_MINUTES", 30)
CELERY_BEAT_SCHEDULE["audit-export-dispatch"] = {
    "task": "audit.dispatch_queued_exports",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["audit-export-purge"] = {
    "task": "audit.purge_expired_exports",
    "schedule": 3600.0,
}

# --- Retention (tenants/retention) ---
# Daily: delete (or propose) every number past its due date, one task per firm. The time is
# UTC: 15:30 UTC is 00:30 in Japan, just after due dates (JST calendar days) turn over.
CELERY_BEAT_SCHEDULE["retention-sweep"] = {
    "task": "retention.sweep_all",
    "schedule": crontab(hour=15, minute=30),
}

# --- Firm offboarding (firms.offboarding, docs/retention.md "Offboarding") ---
# The final export can be downloaded this many days after it is ready; then (or as soon as
# the owner confirms the download) the firm's key is destroyed and the archive removed.
OFFBOARDING_EXPORT_DAYS = env_int("OFFBOARDING_EXPORT_DAYS", 30)
# The schema is dropped this many days after the key was destroyed: KMS's shortest pending
# window, so the key and the data go for good together.
OFFBOARDING_DROP_DAYS = env_int("OFFBOARDING_DROP_DAYS", 7)
CELERY_BEAT_SCHEDULE["offboarding-sweep"] = {
    "task": "firms.offboarding_sweep",
    "schedule": 3600.0,
}

# --- Billing (billing/, docs/billing.md) ---
# Without STRIPE_SECRET_KEY billing is off: no Stripe call is made and every firm is on
# BILLING_DEFAULT_PLAN ("standard": no people limit, so the embedded default is unlimited).
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
# Enough on its own for /billing/webhook/ to verify and record events.
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
# Unset means Stripe itself; a URL points the SDK at stripe-mock or the tests' stub.
STRIPE_API_BASE = env_str("STRIPE_API_BASE")
# Seconds a webhook signature stays valid (Stripe's default): older ones are replays.
STRIPE_WEBHOOK_TOLERANCE = env_int("STRIPE_WEBHOOK_TOLERANCE", 300)
# Printed on every invoice (適格請求書発行事業者登録番号), e.g. T1234567890123.
STRIPE_INVOICE_REGISTRATION_NUMBER = env_str("STRIPE_INVOICE_REGISTRATION_NUMBER")
# Product ids and price lookup keys start with this, so two deployments can share an account.
STRIPE_CATALOG_PREFIX = env_str("STRIPE_CATALOG_PREFIX", "mnc_")
BILLING_DEFAULT_PLAN = env_str("BILLING_DEFAULT_PLAN", "standard")
BILLING_TRIAL_DAYS = env_int("BILLING_TRIAL_DAYS", 30)
# Past due: new data is still accepted this many days, then the firm is read-only.
BILLING_GRACE_DAYS = env_int("BILLING_GRACE_DAYS", 14)
# Checkout and the customer portal are reached by a form post that redirects to Stripe.
STRIPE_FORM_ACTION = ["https://checkout.stripe.com", "https://billing.stripe.com"]
CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"] += STRIPE_FORM_ACTION
# The quantity billed follows headcount on every change, and daily to catch the rest.
CELERY_BEAT_SCHEDULE["billing-quantity-sync"] = {
    "task": "billing.sync_all_quantities",
    "schedule": crontab(hour=17, minute=0),
}

# --- Sub-processors (委託先・再委託先), for the firms' supervision report ---
# docs/investigation.md and docs/legal-duties.md. Each entry is shown in a firm's monthly
# supervision report (audit.supervision) when its condition holds for that firm:
# "always"; "key_provider:<name>" (the firm's key provider); "object_store:<kind>";
# "email" (EMAIL_HOST set); "billing" (STRIPE_SECRET_KEY set); "audit_export_s3"
# (AUDIT_EXPORT_S3_BUCKET set). Edit this list when the deployment changes who handles
# the firms' data: firms must be told, and a new sub-processor needs their permission.
SUBPROCESSOR_HOSTING = env_str(
    "SUBPROCESSOR_HOSTING",
    gettext_noop("Amazon Web Services, Inc.（Amazon EC2 / Amazon RDS for PostgreSQL）"),
)
SUBPROCESSOR_EMAIL = env_str(
    "SUBPROCESSOR_EMAIL", gettext_noop("Amazon Web Services, Inc.（Amazon SES）")
)


# Marked for translation (shown in the firm's language on the supervision report);
# "{region}" is filled in with AWS_REGION there.
_AWS_LOCATION = gettext_noop("日本（AWS {region}）")
SUBPROCESSORS: list[dict[str, str]] = [
    {
        "code": "hosting",
        "when": "always",
        "name": SUBPROCESSOR_HOSTING,
        "purpose": gettext_noop("アプリケーションとデータベースの稼働（個人番号は暗号化して保存）"),
        "location": _AWS_LOCATION,
    },
    {
        "code": "kms",
        "when": "key_provider:aws",
        "name": gettext_noop("Amazon Web Services, Inc.（AWS KMS）"),
        "purpose": gettext_noop("事業者ごとの鍵暗号化鍵の保管と利用（鍵は KMS の外に出ません）"),
        "location": _AWS_LOCATION,
    },
    {
        "code": "object_storage",
        "when": "object_store:s3",
        "name": gettext_noop("Amazon Web Services, Inc.（Amazon S3）"),
        "purpose": gettext_noop("暗号化した本人確認書類の画像と出力ファイルの保管"),
        "location": _AWS_LOCATION,
    },
    {
        "code": "audit_archive",
        "when": "audit_export_s3",
        "name": gettext_noop(
            "Amazon Web Services, Inc.（Amazon S3、アクセス記録の保管用バケット）"
        ),
        "purpose": gettext_noop("署名付きアクセス記録の出力ファイルの保管（個人番号は含みません）"),
        "location": _AWS_LOCATION,
    },
    {
        "code": "email",
        "when": "email",
        "name": SUBPROCESSOR_EMAIL,
        "purpose": gettext_noop("招待・提出依頼・通知メールの送信（個人番号は送りません）"),
        "location": _AWS_LOCATION,
    },
    {
        "code": "payments",
        "when": "billing",
        "name": gettext_noop("Stripe, Inc.（Stripe Payments Japan 株式会社）"),
        "purpose": gettext_noop("利用料金の請求と決済（個人番号は送りません）"),
        "location": gettext_noop("米国・日本"),
    },
]
