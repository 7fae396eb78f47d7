"""Petri settings, read from environment variables only (see docs/configuration.md)."""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import dj_database_url

from webapp.env import (
    env_bool,
    env_choice,
    env_credentials,
    env_float,
    env_int,
    env_json_object,
    env_json_objects,
    env_label_pairs,
    env_list,
    env_str,
)
from webapp.var import default_database_url, stored_secret_key, var_dir

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = var_dir()
# PETRI_SECRET_KEY, else the key manage.py keeps in var/ (so embedded sessions and runner
# tokens survive restarts), else one for this process alone (a bare import, a test run).
SECRET_KEY = env_str("PETRI_SECRET_KEY") or stored_secret_key(VAR_DIR) or secrets.token_urlsafe(50)
DEBUG = env_bool("PETRI_DEBUG", False)
ALLOWED_HOSTS = env_list("PETRI_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("PETRI_CSRF_TRUSTED_ORIGINS")

# Not "daphne": as an app it only swaps in its runserver, and it would install Twisted's reactor
# in every process that starts Django (0.5 s of CPU here). `manage.py serve` and the web image
# run daphne themselves.
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "webapp.accounts",
    "webapp.realtime",
    "jobs",
    "scheduler",
    # Sign-in: local accounts always; GitHub and Google when configured (PETRI_GITHUB_*...).
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.github",
    "allauth.socialaccount.providers.google",
    # Failed sign-ins, counted per account and per client address (docs/security.md).
    "axes",
    # Recurring runs and housekeeping on a clock: schedules are rows, editable in the admin.
    "django_celery_beat",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "webapp.nul.RefuseNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into a 429 with Retry-After.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "webapp.urls"
WSGI_APPLICATION = "webapp.wsgi.application"
ASGI_APPLICATION = "webapp.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


DATABASE_URL = env_str("DATABASE_URL", default_database_url(VAR_DIR))
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the runner API read while the scheduler writes; IMMEDIATE makes writers
    # queue on the busy timeout instead of failing with "database is locked".
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # A file (not :memory:) so the live server, scheduler and tests share one database;
    # one per test process so parallel runs never meet.
    # In the temporary directory, so tests need no var/.
    test_name = Path(tempfile.gettempdir()) / f"petri-test-{os.getpid()}.sqlite3"
    DATABASES["default"]["TEST"] = {"NAME": str(test_name)}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Made by collectstatic (the image) or by `serve` (embedded), not at import.
STATIC_ROOT = VAR_DIR / "static"
# The web app's build (`make frontend`: webapp/frontend/dist), served under /static/.
FRONTEND_DIST = BASE_DIR / "webapp" / "frontend" / "dist"
STATICFILES_DIRS = [FRONTEND_DIST] if FRONTEND_DIST.is_dir() else []
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(env_str("PETRI_MEDIA_DIR", str(VAR_DIR / "media"))).resolve()

PETRI_MAX_UPLOAD_MB = env_int("PETRI_MAX_UPLOAD_MB", 200, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

LOGIN_URL = "/admin/login/"

# Behind a proxy that ends TLS (docs/security.md): cookies only over HTTPS, the proxy's
# X-Forwarded-Proto believed (it must set it, overwriting the client's), HSTS sent.
PETRI_BEHIND_TLS_PROXY = env_bool("PETRI_BEHIND_TLS_PROXY", False)
PETRI_HSTS_SECONDS = env_int("PETRI_HSTS_SECONDS", 31_536_000, minimum=0)
if PETRI_BEHIND_TLS_PROXY:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = PETRI_HSTS_SECONDS
    SECURE_HSTS_INCLUDE_SUBDOMAINS = False  # other hosts of the domain may not speak HTTPS

# Sign-in throttling with django-axes (docs/security.md): after PETRI_SIGNIN_FAILURE_LIMIT
# failures for one username, or from one client address, sign-in answers 429 for the cool-off.
AXES_FAILURE_LIMIT = env_int("PETRI_SIGNIN_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("PETRI_SIGNIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# A success does not wipe the count: axes would wipe the address's failures too, so an
# attacker could sign in to an account of their own between guesses at someone else's.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_CALLABLE = "webapp.accounts.throttling.lockout_response"
AXES_CLIENT_IP_CALLABLE = "webapp.accounts.throttling.client_address"
# Attempts are kept in the database, so every web process sees the same counts.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "webapp.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "webapp.api.pagination.PetriPagination",
    "DEFAULT_PARSER_CLASSES": [
        "webapp.api.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "webapp.api.exceptions.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Petri API",
    "DESCRIPTION": "Run algorithms over parameter grids and read their results.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI's assets come from the installed sidecar package, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py 8 times reads out after 5 s by default, which races channels_redis's
            # 5 s blocking pop and closes idle websockets with 1011 (channels_redis#422), and
            # caps a pool at 100 connections, which a burst of handshakes exceeds (HTTP 500).
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": 30, "max_connections": 1000}],
                # Instances sharing one Redis database stay apart (the tests: one per process).
                "prefix": env_str("PETRI_CHANNEL_PREFIX", "asgi"),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("PETRI_LOG_LEVEL", "INFO")},
    "loggers": {"django.server": {"level": "WARNING"}},
}

# Petri itself.
BACKEND_NAMES = ("local", "noop", "kubernetes", "slurm")
PETRI_BACKEND = env_choice("PETRI_BACKEND", "local", BACKEND_NAMES)
# Every backend this installation offers; experiments and algorithms may name any of them.
PETRI_BACKENDS = env_list("PETRI_BACKENDS", [PETRI_BACKEND])
if set(PETRI_BACKENDS) - set(BACKEND_NAMES) or PETRI_BACKEND not in PETRI_BACKENDS:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        f"PETRI_BACKENDS must list backends among {', '.join(BACKEND_NAMES)} and include "
        f"PETRI_BACKEND ({PETRI_BACKEND}); got {','.join(PETRI_BACKENDS)!r}"
    )
PETRI_API_URL = env_str("PETRI_API_URL", "http://127.0.0.1:8000").rstrip("/")
PETRI_MAX_RUNNING = env_int("PETRI_MAX_RUNNING", os.cpu_count() or 1, minimum=1)
PETRI_MAX_GRID = env_int("PETRI_MAX_GRID", 100_000, minimum=1)
PETRI_MAX_ATTEMPTS = env_int("PETRI_MAX_ATTEMPTS", 3, minimum=1)
PETRI_POLL_INTERVAL = env_float("PETRI_POLL_INTERVAL", 2.0, minimum=0.01)
PETRI_CLAIM_BATCH = env_int("PETRI_CLAIM_BATCH", 500, minimum=1)
PETRI_HEARTBEAT_INTERVAL = env_int("PETRI_HEARTBEAT_INTERVAL", 15, minimum=1)
PETRI_HEARTBEAT_TIMEOUT = env_int("PETRI_HEARTBEAT_TIMEOUT", 120, minimum=1)
PETRI_SCHEDULER_IN_WEB = env_bool("PETRI_SCHEDULER_IN_WEB", True)
PETRI_USER_MAX_RUNNING = env_int("PETRI_USER_MAX_RUNNING", 0, minimum=0)
PETRI_DISPATCH_TIMEOUT = env_int("PETRI_DISPATCH_TIMEOUT", 120, minimum=1)
PETRI_RECONCILE_INTERVAL = env_float("PETRI_RECONCILE_INTERVAL", 5.0, minimum=0)
PETRI_RETENTION_DAYS = env_int("PETRI_RETENTION_DAYS", 0, minimum=0)
PETRI_RETENTION_BATCH = env_int("PETRI_RETENTION_BATCH", 1000, minimum=1)
PETRI_RETENTION_EVERY = env_int("PETRI_RETENTION_EVERY", 600, minimum=1)
PETRI_NOOP_RECORD_FILE = env_str("PETRI_NOOP_RECORD_FILE")
PETRI_NOOP_SUBMIT_DELAY = env_float("PETRI_NOOP_SUBMIT_DELAY", 0.0, minimum=0)
PETRI_ALGORITHMS_DIR = Path(env_str("PETRI_ALGORITHMS_DIR", str(BASE_DIR / "algorithms"))).resolve()
PETRI_RUNNER_DIR = BASE_DIR / "base-image" / "runner"
# The local backend's sandbox around algorithms (docs/sandbox.md).
PETRI_LOCAL_SANDBOX = env_choice("PETRI_LOCAL_SANDBOX", "bwrap", ("bwrap", "none"))
PETRI_LOCAL_SANDBOX_BWRAP = env_str("PETRI_LOCAL_SANDBOX_BWRAP", "/usr/bin/bwrap")
PETRI_LOCAL_SANDBOX_MAX_PROCESSES = env_int("PETRI_LOCAL_SANDBOX_MAX_PROCESSES", 256, minimum=16)
PETRI_LOCAL_SANDBOX_MAX_FILE_MB = env_int("PETRI_LOCAL_SANDBOX_MAX_FILE_MB", 1024, minimum=1)
PETRI_LOCAL_SANDBOX_UID_BASE = env_int("PETRI_LOCAL_SANDBOX_UID_BASE", 1_700_000, minimum=1000)
# Warm zygotes per catalog algorithm that names modules to preload (docs/sandbox.md).
PETRI_LOCAL_WARM = env_bool("PETRI_LOCAL_WARM", True)

# Slurm backend (PETRI_BACKEND=slurm; docs/slurm.md). Paths must be the same on the compute nodes.
PETRI_SLURM_PYTHON = env_str("PETRI_SLURM_PYTHON", sys.executable)
PETRI_SLURM_RUNNER_DIR = Path(env_str("PETRI_SLURM_RUNNER_DIR", str(PETRI_RUNNER_DIR)))
PETRI_SLURM_ALGORITHMS_DIR = Path(env_str("PETRI_SLURM_ALGORITHMS_DIR", str(PETRI_ALGORITHMS_DIR)))
PETRI_SLURM_LOG_DIR = Path(env_str("PETRI_SLURM_LOG_DIR", str(VAR_DIR / "slurm-logs")))
PETRI_SLURM_ROUTES = env_json_object("PETRI_SLURM_ROUTES")
PETRI_SLURM_EXTRA_ARGS = env_str("PETRI_SLURM_EXTRA_ARGS")
PETRI_SLURM_PENDING_GRACE = env_float("PETRI_SLURM_PENDING_GRACE", 600.0, minimum=0)
PETRI_SLURM_USER = env_str("PETRI_SLURM_USER")

# Kubernetes backend (PETRI_BACKEND=kubernetes; docs/deployment.md).

PETRI_K8S_NAMESPACE = env_str("PETRI_K8S_NAMESPACE")
PETRI_RUNNER_IMAGE = env_str("PETRI_RUNNER_IMAGE", "petri-runner:0.1.0")
PETRI_K8S_IMAGE_PULL_SECRETS = env_list("PETRI_K8S_IMAGE_PULL_SECRETS")
PETRI_K8S_NODE_SELECTOR = env_label_pairs("PETRI_K8S_NODE_SELECTOR")
PETRI_K8S_TOLERATIONS = env_json_objects("PETRI_K8S_TOLERATIONS")
PETRI_K8S_EXTRA_LABELS = env_label_pairs("PETRI_K8S_EXTRA_LABELS")
PETRI_K8S_QPS = env_float("PETRI_K8S_QPS", 20.0, minimum=0.1)
PETRI_K8S_BURST = env_int("PETRI_K8S_BURST", 30, minimum=1)
PETRI_K8S_UNSCHEDULABLE_GRACE = env_int("PETRI_K8S_UNSCHEDULABLE_GRACE", 300, minimum=0)
PETRI_K8S_JOB_TTL = env_int("PETRI_K8S_JOB_TTL", 3600, minimum=60)
PETRI_K8S_NODE_REQUESTS = env_choice(
    "PETRI_K8S_NODE_REQUESTS", "namespace", ("namespace", "cluster")
)
PETRI_SCHEDULER_HEARTBEAT_FILE = env_str("PETRI_SCHEDULER_HEARTBEAT_FILE")
PETRI_K8S_START_GRACE = env_int("PETRI_K8S_START_GRACE", 900, minimum=0)
PETRI_K8S_DEFAULT_DEADLINE = env_int("PETRI_K8S_DEFAULT_DEADLINE", 7 * 24 * 3600, minimum=60)
PETRI_K8S_KUEUE_QUEUE = env_str("PETRI_K8S_KUEUE_QUEUE")
PETRI_K8S_TMP_SIZE = env_str("PETRI_K8S_TMP_SIZE", "2Gi")

# Accounts and sign-in (docs/api.md: Accounts). allauth's own pages live under /accounts/.


def _oauth_app(provider: str) -> list[dict[str, str]]:
    """allauth's APPS for a provider configured by PETRI_<PROVIDER>_CLIENT_ID/SECRET."""
    credentials = env_credentials(f"PETRI_{provider}_CLIENT_ID", f"PETRI_{provider}_CLIENT_SECRET")
    return (
        [{"client_id": credentials[0], "secret": credentials[1], "key": ""}] if credentials else []
    )


AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out account or address before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PETRI_SIGNUP = env_choice("PETRI_SIGNUP", "closed", ("open", "closed"))
# Tokens that POST /api/auth/token/ hands out expire after this many days (0: never).
PETRI_TOKEN_EXPIRY_DAYS = env_int("PETRI_TOKEN_EXPIRY_DAYS", 90, minimum=0)
ACCOUNT_ADAPTER = "webapp.accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "webapp.accounts.adapters.SocialAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email", "password1*", "password2*"]
# With sign-up closed an operator vouches for each account, so addresses are not verified.
ACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
# A link (GET) shows allauth's confirm page; only its POST leaves for the provider (login CSRF).
SOCIALACCOUNT_LOGIN_ON_GET = False
# GitHub hides the address unless asked; the end-of-experiment e-mails need it.
SOCIALACCOUNT_QUERY_EMAIL = True
LOGIN_REDIRECT_URL = "/"
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
SOCIALACCOUNT_PROVIDERS = {
    "github": {"APPS": _oauth_app("GITHUB"), "SCOPE": ["read:user", "user:email"]},
    "google": {"APPS": _oauth_app("GOOGLE"), "SCOPE": ["profile", "email"]},
}

# E-mail: the console unless an SMTP host is set.
PETRI_PUBLIC_URL = env_str("PETRI_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
EMAIL_HOST = env_str("PETRI_EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("PETRI_EMAIL_PORT", 587, minimum=1)
    EMAIL_HOST_USER = env_str("PETRI_EMAIL_USER")
    EMAIL_HOST_PASSWORD = env_str("PETRI_EMAIL_PASSWORD")
    EMAIL_USE_TLS = env_bool("PETRI_EMAIL_TLS", True)
    EMAIL_TIMEOUT = 30
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env_str("PETRI_EMAIL_FROM", "Petri <petri@localhost>")

# `manage.py serve`'s listen backlog: Twisted's default of 50 dropped connections in a burst.
PETRI_LISTEN_BACKLOG = env_int("PETRI_LISTEN_BACKLOG", 1024, minimum=1)

# Open websockets re-check their access (share, token, session, account) this often.
PETRI_WS_RECHECK_SECONDS = env_float("PETRI_WS_RECHECK_SECONDS", 3.0, minimum=0.05)

# Prometheus: GET /metrics, behind a bearer token when one is set.
PETRI_METRICS_TOKEN = env_str("PETRI_METRICS_TOKEN")
PETRI_SCHEDULER_METRICS_PORT = env_int("PETRI_SCHEDULER_METRICS_PORT", 0, minimum=0)

# Celery: beat fires recurring runs and housekeeping; a worker carries them out (docs/schedules.md).
# Embedded, `serve` runs both against kombu's filesystem transport, so no broker is needed.
CELERY_BROKER_URL = env_str("PETRI_CELERY_BROKER_URL", REDIS_URL or "filesystem://")
PETRI_CELERY_DIR = VAR_DIR / "celery"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(PETRI_CELERY_DIR / "queue"),
        "data_folder_out": str(PETRI_CELERY_DIR / "queue"),
        "control_folder": str(PETRI_CELERY_DIR / "control"),
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Installations (and test processes) sharing one Redis keep their tasks apart by queue name.
CELERY_TASK_DEFAULT_QUEUE = env_str("PETRI_CELERY_QUEUE", "petri")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "jobs.beat:SingleBeatScheduler"
# Housekeeping on a clock; beat copies these into its schedule rows, where operators edit them.
CELERY_BEAT_SCHEDULE = {
    "petri: retention": {"task": "petri.prune_expired_jobs", "schedule": PETRI_RETENTION_EVERY},
    "petri: advance pipelines": {"task": "petri.advance_running_pipelines", "schedule": 60.0},
}
# How often a beat that does not hold the beat lock tries to take it over.
PETRI_BEAT_LOCK_RETRY = env_float("PETRI_BEAT_LOCK_RETRY", 5.0, minimum=0.1)
# Whether `serve` runs a Celery worker with beat beside the web server (embedded: yes).
PETRI_CELERY_IN_WEB = env_bool("PETRI_CELERY_IN_WEB", True)
