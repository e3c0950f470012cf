"""KnoxCall settings: one file, every value read from the environment with a default.

The defaults are the embedded profile (`make run`): SQLite in the data dir, in-process cache, in-memory
channel layer and a Celery broker on the filesystem, so a fresh checkout runs with no services. Production
sets DATABASE_URL, REDIS_URL, CELERY_BROKER_URL, SECRET_KEY, ALLOWED_HOSTS, TRUSTED_PROXIES and DEBUG=false;
the system checks in knoxcall/checks.py refuse the development defaults when DEBUG is off.
"""

from pathlib import Path

import environ
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.FileAwareEnv()

DEV_SECRET_KEY = "django-insecure-knoxcall-development-only"

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Created (private) by KnoxcallConfig.ready() in every process, not here: importing settings writes nothing.
DATA_DIR = Path(env.str("KNOXCALL_DATA_DIR", default=str(BASE_DIR / "var"))).resolve()

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "servestatic",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "knoxcall",
    "core",
    "console",
    "environments",
    "routing",
    "secrets_vault",
    "analytics",
    "alerts",
    "configuration",
    "deployments",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outside CommonMiddleware, so it sees a 404 only after APPEND_SLASH had its chance to redirect.
    "routing.middleware.UnmatchedPathMiddleware",
    "servestatic.middleware.ServeStaticMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "knoxcall.urls"
ASGI_APPLICATION = "knoxcall.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "console.context_processors.console",
            ],
        },
    },
]

# --- Storage --------------------------------------------------------------------------------------------
# SQLite runs in WAL mode with IMMEDIATE transactions so the recorder's batched inserts and the console's
# writes never hit "database is locked" upgrades; PostgreSQL comes in through DATABASE_URL.
SQLITE_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
    "transaction_mode": "IMMEDIATE",
}
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'knoxcall.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(SQLITE_OPTIONS)
    # Tests use a file, not :memory:, so gateway threads and subprocesses see the same data.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Celery ---------------------------------------------------------------------------------------------
# The embedded broker is kombu's filesystem transport: no server, survives restarts, shared by the
# `make run` web, worker and beat processes.
CELERY_DATA_DIR = DATA_DIR / "celery"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):  # its folders are made by KnoxcallConfig.ready()
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_DATA_DIR / "queue"),
        "data_folder_out": str(CELERY_DATA_DIR / "queue"),
        "processed_folder": str(CELERY_DATA_DIR / "processed"),
        "control_folder": str(CELERY_DATA_DIR / "control"),  # broadcast/pidbox files, not in the checkout
        "store_processed": False,
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE_FILE = str(DATA_DIR / "celerybeat-schedule")
# One chained task rolls the request logs up and then evaluates the alert rules on those fresh buckets, so an
# evaluation never reads a minute the rollup has not written yet (alerts.tasks.rollup_then_evaluate).
ROLLUP_INTERVAL_SECONDS = env.float("KNOXCALL_ROLLUP_INTERVAL_SECONDS", default=60.0)
CELERY_BEAT_SCHEDULE: dict = {
    "rollup-then-evaluate-alerts": {
        "task": "alerts.rollup_then_evaluate",
        "schedule": ROLLUP_INTERVAL_SECONDS,
    },
    "analytics-purge": {"task": "analytics.purge", "schedule": 3600.0},
    # Notify owners of environments about to expire, then archive the expired ones (environments.expiry).
    "environments-expire": {"task": "environments.expire", "schedule": 60.0},
    # Mark region members down (or up) for every gateway process from their recent buckets.
    "environments-region-health": {
        "task": "environments.region_health",
        "schedule": env.float("KNOXCALL_REGION_HEALTH_INTERVAL_SECONDS", default=15.0),
    },
    # Watched deployments with automatic rollback on: roll back any whose error rate passed its threshold.
    "deployments-auto-rollback": {"task": "deployments.auto_rollback", "schedule": 60.0},
    # Running releases: roll up, judge each candidate against its stable side, act (deployments.releases).
    "deployments-judge-releases": {
        "task": "deployments.judge_releases",
        "schedule": env.float("KNOXCALL_RELEASE_CHECK_INTERVAL_SECONDS", default=15.0),
    },
}

# --- Secrets vault --------------------------------------------------------------------------------------
# Base64 32-byte AES keys, newest first (comma list): the first encrypts, every one decrypts, so a key can be
# rotated in (`manage.py knoxcall secrets rotate-key`) before the old one is removed. Empty in the embedded
# profile: secrets_vault.cipher then generates DATA_DIR/master.key once; DEBUG off refuses that.
KNOXCALL_MASTER_KEY = env.list("KNOXCALL_MASTER_KEY", default=[])

# --- Proxy ----------------------------------------------------------------------------------------------
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
PROXY_MAX_BODY_BYTES = env.int("KNOXCALL_MAX_BODY_BYTES", default=10 * 1024 * 1024)
PROXY_CONNECT_TIMEOUT = env.float("KNOXCALL_CONNECT_TIMEOUT", default=5.0)
PROXY_READ_TIMEOUT = env.float("KNOXCALL_READ_TIMEOUT", default=30.0)
PROXY_POOL_SIZE = env.int("KNOXCALL_POOL_SIZE", default=200)
PROXY_UPSTREAM_CLIENT = env.str("KNOXCALL_UPSTREAM_CLIENT", default="http1")
PROXY_CONFIG_POLL_SECONDS = env.float("KNOXCALL_CONFIG_POLL_SECONDS", default=0.25)
PROXY_RECORDER_FLUSH_SECONDS = env.float("KNOXCALL_RECORDER_FLUSH_SECONDS", default=0.5)
# Rows per insert. Each commit writes every index page its rows touched (request ids are random), so on
# SQLite a batch of 2,000 costs the gateway ~2.5 µs less CPU per call than one of 500 (the flush interval,
# not the size, bounds the batches below ~4,000 calls/s).
PROXY_RECORDER_BATCH_SIZE = env.int("KNOXCALL_RECORDER_BATCH_SIZE", default=2000)
PROXY_RECORDER_MAX_QUEUE = env.int("KNOXCALL_RECORDER_MAX_QUEUE", default=100_000)
# The server writes the request log from a child process (analytics/writer_process.py), not a thread that
# shares the event loop's GIL. In-process tests turn it off (tests/conftest.py) to read the recorder's state.
PROXY_RECORDER_PROCESS = env.bool("KNOXCALL_RECORDER_PROCESS", default=True)
# The writer process's niceness: it must not take a core from the calls in flight, only what they leave idle
# (its queue absorbs the bursts; the soak measures whether it keeps up).
PROXY_RECORDER_NICE = env.int("KNOXCALL_RECORDER_NICE", default=10)
# The longest the event loop waits for the GIL while a background thread (recorder, table watcher) runs
# Python: the interpreter's switch interval, 5 ms by default, set in the gateway process at start-up.
PROXY_GIL_SWITCH_SECONDS = env.float("KNOXCALL_GIL_SWITCH_SECONDS", default=0.001)
# The ASGI server `make run` starts and its limits on what a caller may send (README "Limits").
GATEWAY_SERVER = env.str("KNOXCALL_SERVER", default="uvicorn")
GATEWAY_MAX_HEADER_BYTES = env.int("KNOXCALL_MAX_HEADER_BYTES", default=32 * 1024)
GATEWAY_MAX_HEADERS = env.int("KNOXCALL_MAX_HEADERS", default=100)
GATEWAY_HEADER_TIMEOUT = env.float("KNOXCALL_HEADER_TIMEOUT", default=10.0)
GATEWAY_KEEPALIVE_TIMEOUT = env.int("KNOXCALL_KEEPALIVE_TIMEOUT", default=5)
# Server processes for `make run` and `knoxcall serve`; more than one needs PostgreSQL and Redis (README).
GATEWAY_WORKERS = env.int("KNOXCALL_WORKERS", default=1)
# The gateway's own addresses, so a route aimed back at it is refused as a loop (508).
GATEWAY_PORT = env.int("PORT", default=8000)
# Upstream hosts allowed despite being private or loopback (SSRF rules); the embedded default allows the
# loopback demo upstream only while DEBUG is on.
UPSTREAM_ALLOWED_HOSTS = env.list(
    "KNOXCALL_UPSTREAM_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "::1"] if DEBUG else []
)
DEMO_UPSTREAM_PORT = env.int("KNOXCALL_DEMO_UPSTREAM_PORT", default=8001)

# --- Alerts ---------------------------------------------------------------------------------------------
# Notification URLs follow the same SSRF rules as upstreams; this allow-list (hosts, e.g. an internal
# chat server) is the administrator's exception. Tests allow 127.0.0.1 for their local receivers.
ALERTS_ALLOWED_HOSTS = env.list("KNOXCALL_ALERTS_ALLOWED_HOSTS", default=[])
PAGERDUTY_EVENTS_URL = env.str("PAGERDUTY_EVENTS_URL", default="https://events.pagerduty.com/v2/enqueue")
ALERTS_FROM_EMAIL = env.str("KNOXCALL_ALERTS_FROM_EMAIL", default="knoxcall-alerts@localhost")
ALERTS_HTTP_TIMEOUT = env.float("KNOXCALL_ALERTS_HTTP_TIMEOUT", default=5.0)
ALERTS_DELIVERY_MAX_ATTEMPTS = env.int("KNOXCALL_ALERTS_DELIVERY_MAX_ATTEMPTS", default=6)
ALERTS_DELIVERY_BACKOFF_BASE_SECONDS = env.float("KNOXCALL_ALERTS_BACKOFF_BASE_SECONDS", default=10.0)
ALERTS_DELIVERY_BACKOFF_CAP_SECONDS = env.float("KNOXCALL_ALERTS_BACKOFF_CAP_SECONDS", default=600.0)
# Alert email goes through Django 6.1's mailers: SMTP configured from the environment (tests swap in locmem).
MAILERS = {
    "default": {
        "BACKEND": env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend"),
        "OPTIONS": {
            "host": env.str("EMAIL_HOST", default="localhost"),
            "port": env.int("EMAIL_PORT", default=25),
            "username": env.str("EMAIL_HOST_USER", default=""),
            "password": env.str("EMAIL_HOST_PASSWORD", default=""),
            "use_tls": env.bool("EMAIL_USE_TLS", default=False),
        },
    }
}

# --- Analytics ------------------------------------------------------------------------------------------
ANALYTICS_RETENTION_DAYS = env.int("KNOXCALL_LOG_RETENTION_DAYS", default=7)

# --- Temporary and regional environments ----------------------------------------------------------------
# Every environment multiplies the route table (one resolved entry per route); bench/table.py measures the
# rebuild, and this caps temporary environments until unbounded ones are shown to be affordable.
KNOXCALL_MAX_TEMPORARY_ENVIRONMENTS = env.int("KNOXCALL_MAX_TEMPORARY_ENVIRONMENTS", default=20)
KNOXCALL_EXPIRY_NOTICE_MINUTES = env.int("KNOXCALL_EXPIRY_NOTICE_MINUTES", default=60)
# A gateway process stops sending to a region member after this many connection failures or timeouts in a
# row, and tries it again after the retry delay, doubling up to the maximum while it keeps failing.
KNOXCALL_FAILOVER_THRESHOLD = env.int("KNOXCALL_FAILOVER_THRESHOLD", default=5)
KNOXCALL_FAILOVER_RETRY_SECONDS = env.float("KNOXCALL_FAILOVER_RETRY_SECONDS", default=30.0)
KNOXCALL_FAILOVER_MAX_RETRY_SECONDS = env.float("KNOXCALL_FAILOVER_MAX_RETRY_SECONDS", default=300.0)
# The fleet-wide verdict (environments.regions): over the last window, at least this many calls and this
# share of them failing to connect or timing out marks a member down for every process.
KNOXCALL_REGION_DOWN_WINDOW_SECONDS = env.int("KNOXCALL_REGION_DOWN_WINDOW_SECONDS", default=60)
KNOXCALL_REGION_DOWN_MIN_CALLS = env.int("KNOXCALL_REGION_DOWN_MIN_CALLS", default=5)
KNOXCALL_REGION_DOWN_FAILURE_SHARE = env.float("KNOXCALL_REGION_DOWN_FAILURE_SHARE", default=0.5)
ANALYTICS_ROLLUP_BATCH_SIZE = env.int("KNOXCALL_ROLLUP_BATCH_SIZE", default=10000)
ANALYTICS_LIVE_POLL_SECONDS = env.float("KNOXCALL_LIVE_POLL_SECONDS", default=2.0)
# Environment health over the last 5 minutes (analytics.health): shares of calls that failed (5xx and gateway
# errors), were rate-limited and unauthorized, and the P95. "default" applies to every environment, and an
# entry keyed by an environment's name overrides some of its values (e.g. {"production":
# {"degraded_error_rate": 0.01}}); null turns a check off.
ANALYTICS_HEALTH_THRESHOLDS = {
    "default": {
        "degraded_error_rate": 0.05,
        "down_error_rate": 0.5,
        "degraded_rate_limited_rate": 0.1,
        "down_rate_limited_rate": 0.5,
        "degraded_unauthorized_rate": 0.1,
        "down_unauthorized_rate": 0.5,
        "degraded_p95_ms": 1000.0,
        "down_p95_ms": 10000.0,
    },
    **env.json("KNOXCALL_HEALTH_THRESHOLDS", default={}),
}

# --- Auth, i18n, static ---------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"
# Where the console's Test tab sends its requests; empty means the address this server accepted the console
# request on (the ASGI scope's `server`), never the Host header (routing/tester.py).
KNOXCALL_GATEWAY_URL = env.str("KNOXCALL_GATEWAY_URL", default="")
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
# The ASGI app serves its own static files (the console's CSS, htmx from django-htmx) through ServeStatic's
# async middleware, straight from the apps' static folders, so `make run` needs no collectstatic and no web
# server in front. (WhiteNoise streams files through a sync iterator, which Django's ASGI handler warns
# about on every file and buffers.)
SERVESTATIC_USE_FINDERS = True

SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXIES else None
# A strict Content Security Policy: the console loads only its own scripts and styles (htmx comes from
# django-htmx's static files), has no inline script or style, and takes environment colours from a
# stylesheet the console serves, so nothing needs 'unsafe-inline'.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# --- Rate limits (routing/proxy/ratelimit.py) ---------------------------------------------------------------
# Counters live in Redis when REDIS_URL is set (shared by every gateway process), else in process memory.
RATE_LIMIT_KEY_PREFIX = env.str("KNOXCALL_RATE_LIMIT_PREFIX", default="knoxcall:rl:")
# Seconds a limiter call may wait on Redis (connect, reply) before the call fails open; generous, because a
# busy event loop delays replies too, and a timeout lets calls through unchecked for a second.
RATE_LIMIT_REDIS_TIMEOUT = env.float("KNOXCALL_RATE_LIMIT_REDIS_TIMEOUT", default=2.0)
RATE_LIMIT_REDIS_MAX_CONNECTIONS = env.int("KNOXCALL_RATE_LIMIT_REDIS_CONNECTIONS", default=8)
# Brute-force protection of logins and API authentication, per trusted client IP (knoxcall/lib/throttle.py).
LOGIN_THROTTLE_RATE = env.str("KNOXCALL_LOGIN_THROTTLE_RATE", default="10/m")
API_AUTH_THROTTLE_RATE = env.str("KNOXCALL_API_AUTH_THROTTLE_RATE", default="30/m")
# Seconds between writes of API keys' last_used_at (batched, off the proxy's hot path).
API_KEY_USAGE_FLUSH_SECONDS = env.float("KNOXCALL_API_KEY_USAGE_FLUSH_SECONDS", default=10.0)

# --- Management API (/v1, DRF) ------------------------------------------------------------------------------
# API keys (Bearer or x-api-key) for programs; the console's session too, so a signed-in person can use the
# docs pages. Errors, envelope and pagination: api/. Account identity shown by GET /v1/account.
# Bodies of the /v1 API (and console forms) past this size answer 413; Django's own name for the limit.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("KNOXCALL_API_MAX_BODY_BYTES", default=2_621_440)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.http.api_parsers.JsonBodyParser"],
    "DEFAULT_SCHEMA_CLASS": "core.http.api_schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "core.http.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "KnoxCall management API (self-hosted)",
    "DESCRIPTION": "KnoxCall v1 compatible: envelope {data, meta}, errors {error, status}, Bearer tk_ keys.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"ProvenanceEnum": "routing.revision_api.PROVENANCES"},
}
KNOXCALL_ACCOUNT_SLUG = env.str("KNOXCALL_ACCOUNT_SLUG", default="self-hosted")
KNOXCALL_ACCOUNT_NAME = env.str("KNOXCALL_ACCOUNT_NAME", default="KnoxCall (self-hosted)")
