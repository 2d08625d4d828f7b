"""TradeFlow settings: one module, read from the environment only (see README)."""

from __future__ import annotations

import base64
import hashlib
import warnings
from datetime import timedelta
from pathlib import Path

from celery.schedules import schedule

from tradeflow.env import (
    ConfigError,
    env_bool,
    env_choice,
    env_database,
    env_email,
    env_fernet_keys,
    env_int,
    env_list,
    env_redis_url,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("TRADEFLOW_VAR_DIR", str(BASE_DIR / "var")))

# --- Core -----------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)
if DEBUG:
    SECRET_KEY = env_str(
        "SECRET_KEY", "dev-only-insecure-secret-key-change-me-0000000000"
    )
else:
    SECRET_KEY = env_str("SECRET_KEY")
    if len(SECRET_KEY) < 50:
        raise ConfigError("SECRET_KEY must be at least 50 characters long.")

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
if not DEBUG and not ALLOWED_HOSTS:
    raise ConfigError("ALLOWED_HOSTS must list the host names TradeFlow serves.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "channels",
    "django_htmx",
    "template_partials",
    "djstripe",
    "accounts",
    "brokers",
    "brokers.venues.metatrader",
    "paperbroker",
    "risk",
    "billing",
    "webhooks",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "common.middleware.refuse_nul",
    "common.middleware.content_security_policy",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "common.middleware.idle_sessions",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Staff pages only for a session that passed a second factor.
    "accounts.mfa.staff_second_factor",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "tradeflow.urls"
ASGI_APPLICATION = "tradeflow.asgi.application"
WSGI_APPLICATION = "tradeflow.wsgi.application"
SITE_ID = 1

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
                "billing.context.billing",
            ],
        },
    }
]

# --- Data -------------------------------------------------------------------------
DATABASES = {
    "default": env_database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL and IMMEDIATE transactions let web, worker and beat share one file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif env_bool("DATABASE_POOL", True):
    # Under ASGI each request runs its sync code in a new thread, so a persistent
    # connection is never reused (and at 200 req/s they pile up past
    # max_connections): a request borrows a pooled connection instead.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": env_int("DATABASE_POOL_SIZE", 10, minimum=1),
        "timeout": 10,
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_redis_url("REDIS_URL", "redis://127.0.0.1:6379/0")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "tf",
    }
}

# Secrets at rest (broker credentials) are encrypted with MultiFernet: the first key
# encrypts, every key decrypts, so a new key is put first and old ones kept to rotate.
_dev_fernet = base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest())
FIELD_ENCRYPTION_KEYS = env_fernet_keys(
    "FIELD_ENCRYPTION_KEYS", [_dev_fernet.decode()] if DEBUG else []
)

# --- Users --------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
_VALIDATORS = "django.contrib.auth.password_validation"
# Scoped API tokens for scripts (the API tokens page).
API_TOKENS_PER_USER = env_int("API_TOKENS_PER_USER", 20, minimum=1)
PASSWORD_MIN_LENGTH = env_int("PASSWORD_MIN_LENGTH", 12, minimum=8)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"{_VALIDATORS}.UserAttributeSimilarityValidator"},
    {
        "NAME": f"{_VALIDATORS}.MinimumLengthValidator",
        "OPTIONS": {"min_length": PASSWORD_MIN_LENGTH},
    },
    {"NAME": f"{_VALIDATORS}.CommonPasswordValidator"},
    {"NAME": f"{_VALIDATORS}.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
# Mandatory in production: only then can signup answer the same whether or not the
# email is registered (the owner gets an "account exists" email instead). `make run`
# (DEBUG) lets a newcomer in at once.
ACCOUNT_EMAIL_VERIFICATION = env_choice(
    "ACCOUNT_EMAIL_VERIFICATION",
    "optional" if DEBUG else "mandatory",
    {"none", "optional", "mandatory"},
)
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key", "signup": "20/h/ip"}
# Two-factor sign-in (allauth.mfa; README, "Two-factor sign-in"): an authenticator
# app, security keys and passkeys, recovery codes; offered to everyone, required of
# staff. A wrong code counts against login_failed above, as a wrong password does.
MFA_ADAPTER = "accounts.mfa.MfaAdapter"
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_TOTP_ISSUER = "TradeFlow"
# Browsers offer security keys over https and on http://localhost only; in DEBUG
# the server takes them from any origin (a dev host the browser was told to trust).
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG

_email = env_email("EMAIL_URL", "consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "TradeFlow <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- HTTP security ------------------------------------------------------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# A browser session ends after this long without a request (logged out, back to the
# login page), and after SESSION_COOKIE_AGE whatever happens.
SESSION_IDLE_SECONDS = env_int("SESSION_IDLE_SECONDS", 8 * 3600, minimum=60)
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 14 * 24 * 3600, minimum=3600)

# --- Static -------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# In development WhiteNoise serves straight from the source folders (no collectstatic).
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
# WhiteNoise hands ASGI a file iterator Django must wrap; harmless for static files,
# and it would otherwise print a warning on every stylesheet.
warnings.filterwarnings(
    "ignore", message="StreamingHttpResponse must consume synchronous iterators"
)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- API ----------------------------------------------------------------------
REST_FRAMEWORK = {
    # Basic first: an anonymous API request is a 401 with a Basic challenge.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ThrottledBasicAuthentication",
        "accounts.authentication.ApiTokenAuthentication",
        "accounts.authentication.SessionJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.permissions.TokenScopeAllows",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "common.parsers.StoredJSONParser",
        "common.parsers.StoredFormParser",
        "common.parsers.StoredMultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "common.api.exception_handler",
    "COERCE_DECIMAL_TO_STRING": False,
    "DEFAULT_PAGINATION_CLASS": "common.api.BoundedPagination",
    "PAGE_SIZE": 100,
}
# Seed 004's JWT login (/api/v1/auth/...): short access tokens, refresh tokens
# rotated on every use (a reused one ends its session), both tied to a session
# row that logout, terminate and a password change end at once.
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(
        minutes=env_int("JWT_ACCESS_MINUTES", 15, minimum=1)
    ),
    "REFRESH_TOKEN_LIFETIME": timedelta(
        days=env_int("JWT_REFRESH_DAYS", 14, minimum=1)
    ),
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env_str("JWT_SIGNING_KEY", "") or SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_CLAIM": "user_id",
    "UPDATE_LAST_LOGIN": False,  # session_open does it, in the same write
}
# Seed 004's websocket sends {"type": "ping"} this often, so idle proxies keep it.
WS_PING_SECONDS = env_int("WS_PING_SECONDS", 25, minimum=1)
SPECTACULAR_SETTINGS = {
    "TITLE": "TradeFlow API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name per choice set that several routes share (else drf-spectacular
    # invents hashed names like Side530Enum and warns in `check --deploy`).
    "ENUM_NAME_OVERRIDES": {
        "VenueEnum": ["paper", "projectx", "tradovate", "tradelocker", "mt4", "mt5"],
        "OrderSideEnum": ["buy", "sell"],
        "PositionSideEnum": ["long", "short"],
        "AccountModeEnum": ["demo", "live"],
        "AccountStatusEnum": ["active", "close_only", "error"],
        "BotStatusEnum": ["ACTIVE", "PAUSED", "STOPPED"],
        "SuccessEnum": ["success"],
        "OrderTypeEnum": "brokers.models.OrderType",
        "EntryOrderTypeEnum": ["market", "limit", "stop", "stop_limit"],
        "CloseOrderTypeEnum": ["market", "limit"],
        "ExecutionStatusEnum": "webhooks.models.Execution.Status",
        "PaperOrderStatusEnum": [
            "working",
            "filled",
            "cancelled",
            "expired",
            "rejected",
        ],
    },
}

# --- Async work ---------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 30, minimum=1)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 10
# With acks_late, a task not acknowledged within this window is redelivered.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# Alerts execute on a queue of their own, with workers of their own, so nothing
# housekeeping queues (syncs, sweeps, mails, the monitor) waits in front of an order.
ORDERS_QUEUE = "orders"
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {
    "webhooks.tasks.signal_execute_task": {"queue": ORDERS_QUEUE},
    "webhooks.tasks.execution_run_task": {"queue": ORDERS_QUEUE},
}
ACCOUNT_SYNC_SECONDS = env_int("ACCOUNT_SYNC_SECONDS", 30, minimum=1)
CELERY_BEAT_SCHEDULE = {
    "brokers-sync-accounts": {
        "task": "brokers.tasks.accounts_sync_task",
        "schedule": schedule(ACCOUNT_SYNC_SECONDS),
    },
    **(
        {
            "paper-synthetic-feed": {
                "task": "paperbroker.tasks.paper_feed_task",
                "schedule": schedule(env_int("PAPER_FEED_SECONDS", 2, minimum=1)),
            }
        }
        if env_bool("PAPER_SYNTHETIC_FEED", True)
        else {}
    ),
    "webhooks-sweep-signals": {
        "task": "webhooks.tasks.signals_sweep_task",
        "schedule": schedule(env_int("SIGNAL_SWEEP_SECONDS", 15, minimum=1)),
    },
    "webhooks-refresh-working-executions": {
        "task": "webhooks.tasks.executions_refresh_task",
        "schedule": schedule(env_int("WORKING_ORDERS_REFRESH_SECONDS", 5, minimum=1)),
    },
    "risk-monitor": {
        "task": "risk.tasks.accounts_monitor_task",
        "schedule": schedule(env_int("RISK_MONITOR_SECONDS", 5, minimum=1)),
    },
    "metatrader-heartbeats": {
        "task": "brokers.venues.metatrader.tasks.terminals_watch_task",
        "schedule": schedule(env_int("EA_WATCH_SECONDS", 15, minimum=1)),
    },
    "webhooks-strategy-heartbeats": {
        "task": "webhooks.tasks.strategies_heartbeat_task",
        "schedule": schedule(60),
    },
}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "capacity": 1500, "expiry": 30},
    }
}

# --- Trading ------------------------------------------------------------------
# Venue adapters by venue code; any venue can be plugged in by dotted path.
BROKER_ADAPTERS = {
    "paper": "paperbroker.adapter.PaperAdapter",
    "projectx": "brokers.venues.projectx.adapter.ProjectXAdapter",
    "tradovate": "brokers.venues.tradovate.adapter.TradovateAdapter",
    "tradelocker": "brokers.venues.tradelocker.adapter.TradeLockerAdapter",
    "mt4": "brokers.venues.metatrader.adapter.MetaTraderAdapter",
    "mt5": "brokers.venues.metatrader.adapter.MetaTraderAdapter",
}
# A hosted TradeFlow (a server that traders reach over the internet), as opposed to
# one a trader runs on their own computer: firms that forbid API orders from a
# server (TopstepX) are watched and risk-managed there, never sent orders.
TRADEFLOW_HOSTED = env_bool("TRADEFLOW_HOSTED", False)
# ProjectX: a firm's REST host by firm code, where it is not the published one
# (a test's fake): PROJECTX_API_URLS="topstepx=http://127.0.0.1:9000,...".
PROJECTX_API_URLS = dict(
    item.split("=", 1) for item in env_list("PROJECTX_API_URLS", []) if "=" in item
)
PROJECTX_USER_HUB_URLS = dict(
    item.split("=", 1) for item in env_list("PROJECTX_USER_HUB_URLS", []) if "=" in item
)
PROJECTX_MARKET_HUB_URLS = dict(
    item.split("=", 1)
    for item in env_list("PROJECTX_MARKET_HUB_URLS", [])
    if "=" in item
)
# A market hub that sends no quote for this long is reconnected (feeds freeze).
PROJECTX_QUOTE_STALE_SECONDS = env_int("PROJECTX_QUOTE_STALE_SECONDS", 90, minimum=1)
# How often the venue-streams process looks for accounts connected or removed.
VENUE_STREAMS_RELOAD_SECONDS = env_int("VENUE_STREAMS_RELOAD_SECONDS", 30, minimum=1)
PROJECTX_TIMEOUT_SECONDS = env_int("PROJECTX_TIMEOUT_SECONDS", 10, minimum=1)
# The first wait after a 429 (then twice as long, three times, with jitter).
PROJECTX_BACKOFF_SECONDS = 0.5
PROJECTX_CALLS_PER_MINUTE = env_int("PROJECTX_CALLS_PER_MINUTE", 200, minimum=1)
PROJECTX_BARS_PER_30S = env_int("PROJECTX_BARS_PER_30S", 50, minimum=1)
# How long a call may wait for this login's rate window before it gives up (transient).
PROJECTX_MAX_WAIT_SECONDS = env_int("PROJECTX_MAX_WAIT_SECONDS", 5, minimum=0)
# How far back an order is looked up by its tag (a retry after a crash).
PROJECTX_LOOKBACK_DAYS = env_int("PROJECTX_LOOKBACK_DAYS", 3, minimum=1)
# Tradovate: the REST base of each environment, where it is not the published
# one (a test's fake): TRADOVATE_API_URLS="demo=http://127.0.0.1:9001/v1,...".
TRADOVATE_API_URLS = {
    "demo": "https://demo.tradovateapi.com/v1",
    "live": "https://live.tradovateapi.com/v1",
    **dict(
        item.split("=", 1) for item in env_list("TRADOVATE_API_URLS", []) if "=" in item
    ),
}
TRADOVATE_TIMEOUT_SECONDS = env_int("TRADOVATE_TIMEOUT_SECONDS", 10, minimum=1)
# Access tokens last 80 minutes by one page of Tradovate's docs, 90 by another;
# a token's own expirationTime wins when it gives one.
TRADOVATE_TOKEN_MINUTES = env_int("TRADOVATE_TOKEN_MINUTES", 80, minimum=5)
# How long a call may wait out penalty tickets before it gives up (transient).
TRADOVATE_MAX_WAIT_SECONDS = env_int("TRADOVATE_MAX_WAIT_SECONDS", 10, minimum=0)
TRADOVATE_APP_ID = env_str("TRADOVATE_APP_ID", "TradeFlow")
TRADOVATE_APP_VERSION = "1.0"
# TradeFlow as an OAuth app at Tradovate (its partner program): with these a
# trader connects by signing in at Tradovate, no API key of their own needed.
TRADOVATE_OAUTH_CLIENT_ID = env_str("TRADOVATE_OAUTH_CLIENT_ID", "")
TRADOVATE_OAUTH_CLIENT_SECRET = env_str("TRADOVATE_OAUTH_CLIENT_SECRET", "")
TRADOVATE_OAUTH_URL = env_str(
    "TRADOVATE_OAUTH_URL", "https://trader.tradovate.com/oauth"
)
TRADOVATE_OAUTH_TOKEN_URL = env_str(
    "TRADOVATE_OAUTH_TOKEN_URL", "https://live.tradovateapi.com/auth/oauthtoken"
)
TRADOVATE_OAUTH_REFRESH_DAYS = env_int("TRADOVATE_OAUTH_REFRESH_DAYS", 30, minimum=1)
# TradeLocker: the REST base of each environment, where it is not the published
# one (a test's fake): TRADELOCKER_API_URLS="demo=http://127.0.0.1:9002/backend-api".
TRADELOCKER_API_URLS = {
    "demo": "https://demo.tradelocker.com/backend-api",
    "live": "https://live.tradelocker.com/backend-api",
    **dict(
        item.split("=", 1)
        for item in env_list("TRADELOCKER_API_URLS", [])
        if "=" in item
    ),
}
TRADELOCKER_TIMEOUT_SECONDS = env_int("TRADELOCKER_TIMEOUT_SECONDS", 10, minimum=1)
# MetaTrader's Expert Advisor (docs/ea-protocol.md): how long a poll may wait for
# a command, how often it beats, the grace after a missed beat, how long a
# command waits for an online EA, and how long a given-out command is held for
# the session it went to.
EA_POLL_WAIT_SECONDS = env_int("EA_POLL_WAIT_SECONDS", 10, minimum=0)
EA_HEARTBEAT_SECONDS = env_int("EA_HEARTBEAT_SECONDS", 30, minimum=5)
EA_GRACE_SECONDS = env_int("EA_GRACE_SECONDS", 15, minimum=1)
EA_COMMAND_TTL_SECONDS = env_int("EA_COMMAND_TTL_SECONDS", 10, minimum=1)
EA_LEASE_SECONDS = env_int("EA_LEASE_SECONDS", 5, minimum=1)
EA_UNANSWERED_SECONDS = env_int("EA_UNANSWERED_SECONDS", 3600, minimum=60)
# The first wait after a 429 (then twice as long, three times, with jitter).
TRADELOCKER_BACKOFF_SECONDS = 0.5
# How long a call may wait for its route's rate window before it gives up.
TRADELOCKER_MAX_WAIT_SECONDS = env_int("TRADELOCKER_MAX_WAIT_SECONDS", 5, minimum=0)
# Every venue host's circuit breaker (brokers/venues/breaker.py): this many
# transient failures in a row open it, and for this long its calls fail at once.
VENUE_BREAKER_FAILURES = env_int("VENUE_BREAKER_FAILURES", 5, minimum=1)
VENUE_BREAKER_COOLDOWN_SECONDS = env_int(
    "VENUE_BREAKER_COOLDOWN_SECONDS", 30, minimum=1
)
API_BASIC_AUTH_FAILURES_PER_MINUTE = env_int(
    "API_BASIC_AUTH_FAILURES_PER_MINUTE", 10, minimum=1
)
WEBHOOK_RATE_LIMIT_PER_MINUTE = env_int("WEBHOOK_RATE_LIMIT_PER_MINUTE", 100, minimum=1)
WEBHOOK_MAX_BODY_BYTES = 64 * 1024
# Requests without a valid key, per source address and minute, before they are
# refused without being stored (keeps strangers from filling the signal log).
WEBHOOK_UNAUTHENTICATED_PER_MINUTE = env_int(
    "WEBHOOK_UNAUTHENTICATED_PER_MINUTE", 30, minimum=1
)
# How many reverse proxies sit in front of the web server (their X-Forwarded-For
# entries are trusted to find the client's address). 0: use the socket's address.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
if TRUSTED_PROXY_COUNT:
    # Only behind a proxy that sets it may a request claim to have arrived over TLS.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# A signal or execution still queued after this many seconds is enqueued again by
# the sweeper (a lost message; a dead worker's claim is resumed as soon as its
# PostgreSQL session lock is gone). Enqueuing twice is harmless: claims are guarded.
SIGNAL_STUCK_SECONDS = env_int("SIGNAL_STUCK_SECONDS", 30, minimum=5)
SIGNAL_SWEEP_SECONDS = env_int("SIGNAL_SWEEP_SECONDS", 15, minimum=1)
# Identical bodies from one key within this window are one alert. TradingView gives
# up after 3 s and third parties report it resending on errors within seconds; a
# strategy firing the same message twice in 10 s would be a bug, and alerts that
# carry {{timenow}} differ from one second to the next anyway.
WEBHOOK_DEDUPE_SECONDS = env_int("WEBHOOK_DEDUPE_SECONDS", 10, minimum=1)
# An explicit "id" is unique per key for this long.
WEBHOOK_ID_DEDUPE_HOURS = env_int("WEBHOOK_ID_DEDUPE_HOURS", 24, minimum=1)
# Alerts whose time/timenow is older than this are refused as stale-signal (0: off);
# the clock skew tolerance is added, and is how far ahead a sender's clock may be.
WEBHOOK_MAX_SIGNAL_AGE_SECONDS = env_int("WEBHOOK_MAX_SIGNAL_AGE_SECONDS", 60)
WEBHOOK_CLOCK_SKEW_SECONDS = env_int("WEBHOOK_CLOCK_SKEW_SECONDS", 5)
# How long an execution waits for another one on the same account to finish.
EXECUTION_ACCOUNT_WAIT_SECONDS = env_int("EXECUTION_ACCOUNT_WAIT_SECONDS", 5)
# A signal for several accounts runs their executions side by side on this many
# threads of the worker that received it (a venue call mostly waits on the
# network). Each thread holds a database connection while it works, so no more
# run than the process's pool has to spare (the orders worker is started with a
# pool of 24). 1: one task per account instead, spread over the worker processes.
EXECUTION_FANOUT_THREADS = env_int("EXECUTION_FANOUT_THREADS", 20, minimum=1)
# How long an order sent through the API (seed 003's paper alerts, seed 004's group
# trades) waits for the worker's outcome before it answers "queued".
API_ORDER_WAIT_SECONDS = env_int("API_ORDER_WAIT_SECONDS", 10, minimum=0)
# The live monitor flattens this far (in percent of the limit) before a daily
# loss or drawdown limit, to leave room for the flattening orders' slippage.
RISK_FLATTEN_BUFFER_PERCENT = env_int("RISK_FLATTEN_BUFFER_PERCENT", 5)
# Signals of a strategy in approval mode expire unapproved after this long.
SIGNAL_APPROVAL_MINUTES = env_int("SIGNAL_APPROVAL_MINUTES", 15, minimum=1)

# --- Billing (Stripe, optional: on when the keys are set) ----------------------
STRIPE_LIVE_SECRET_KEY = env_str("STRIPE_LIVE_SECRET_KEY", "")
STRIPE_TEST_SECRET_KEY = env_str("STRIPE_TEST_SECRET_KEY", "")
STRIPE_LIVE_MODE = env_bool("STRIPE_LIVE_MODE", False)
DJSTRIPE_WEBHOOK_SECRET = env_str("DJSTRIPE_WEBHOOK_SECRET", "")
# The API version dj-stripe 2.11's models are written for (its default); without
# it, stripe-python's newer own version would be sent. Move with dj-stripe.
STRIPE_API_VERSION = "2026-05-27.dahlia"
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
DJSTRIPE_USE_NATIVE_JSONFIELD = True
TRIAL_DAYS = env_int("TRIAL_DAYS", 3, minimum=0)
TRIAL_TRADES = env_int("TRIAL_TRADES", 100, minimum=0)
# After a payment fails, new entries keep going this many days (with warnings).
BILLING_GRACE_DAYS = env_int("BILLING_GRACE_DAYS", 7, minimum=0)
# Where Stripe's hosted pages live: the pricing and billing pages' forms lead there.
STRIPE_HOSTED_ORIGINS = env_str(
    "STRIPE_HOSTED_ORIGINS", "https://checkout.stripe.com https://billing.stripe.com"
)
# Calls to /api/billing/webhook per minute from one address (Stripe sends from few).
STRIPE_WEBHOOK_RATE_PER_MINUTE = env_int(
    "STRIPE_WEBHOOK_RATE_PER_MINUTE", 600, minimum=1
)
# What one workspace may hold (billing.quotas): more is refused, never an exit.
WORKSPACE_MAX_ACCOUNTS = env_int("WORKSPACE_MAX_ACCOUNTS", 50, minimum=1)
WORKSPACE_MAX_KEYS = env_int("WORKSPACE_MAX_KEYS", 200, minimum=1)
WORKSPACE_MAX_STRATEGIES = env_int("WORKSPACE_MAX_STRATEGIES", 50, minimum=1)
WORKSPACE_MAX_GROUPS = env_int("WORKSPACE_MAX_GROUPS", 50, minimum=1)

# --- Logging ------------------------------------------------------------------
LOG_LEVEL = env_choice(
    "LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "()": "tradeflow.logfilters.RedactingFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        }
    },
    # Webhook keys travel in URL paths: keep them out of every log line, whoever
    # logs it (Django, Celery, the web server's access log).
    "filters": {"keys": {"()": "tradeflow.logfilters.RedactKeys"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["keys"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        # The servers' own handlers print request lines unredacted: through ours,
        # at our level (they set their own before Django's configuration runs).
        **{
            name: {
                "handlers": ["console"],
                "propagate": False,
                "filters": ["keys"],
                "level": LOG_LEVEL,
            }
            for name in ("uvicorn", "uvicorn.access", "uvicorn.error", "gunicorn")
        },
    },
}
# Celery keeps this configuration in its workers instead of its own handlers.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
