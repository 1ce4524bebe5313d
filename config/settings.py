"""One settings module, driven by environment variables.

Defaults give a safe local install: SQLite under var/, DEBUG off, secrets generated into var/.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet
from csp.constants import NONCE, NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("XIUHUA_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def secret_from_env_or_file(name: str, filename: str, generate) -> str:
    """Read a secret from the environment, else from var/, generating it there once."""
    value = os.environ.get(name)
    if value:
        return value
    path = VAR_DIR / filename
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(generate())
    return path.read_text().strip()


SECRET_KEY = secret_from_env_or_file("SECRET_KEY", "secret_key", lambda: secrets.token_urlsafe(50))
# Encrypts identity numbers at rest and keys their lookup hash. Losing it loses the numbers:
# production keeps it in a secret store, backed up apart from the database.
DATA_KEY = secret_from_env_or_file("XIUHUA_DATA_KEY", "data_key", lambda: Fernet.generate_key().decode())

DEBUG = env_bool("DEBUG")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "xiuhua.core",
    "xiuhua.places",
    "xiuhua.accounts",
    "xiuhua.residents",
    "xiuhua.sms",
    "xiuhua.masks",
    "xiuhua.tracing",
    "xiuhua.isolation",
    "xiuhua.tickets",
    "xiuhua.screening",
    "xiuhua.zones",
    "xiuhua.antigen",
    "xiuhua.passport",
    "xiuhua.supply",
    "xiuhua.volunteers",
]

MIDDLEWARE = [
    # First: past capacity a request is refused at once (503), before anything else runs.
    "xiuhua.core.admission.AdmissionMiddleware",
    # Then, so that an oversized body is refused before anything reads it.
    "xiuhua.core.request_size.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "xiuhua.core.middleware.DocumentCSPMiddleware",
    "xiuhua.core.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "xiuhua.core.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "xiuhua.accounts.middleware.ActiveMembershipMiddleware",
    "xiuhua.accounts.middleware.PasswordChangeRequiredMiddleware",
    # Last, so that a locked-out login is answered before the view runs.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "xiuhua" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "xiuhua.accounts.context_processors.active_membership",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'xiuhua.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend with a health check that needs no `SELECT 1` round trip per request.
    DATABASES["default"]["ENGINE"] = "xiuhua.core.postgresql"
    # Django's own cursors bind parameters client-side and are never prepared; this threshold
    # lets the few server-side binding cursors (the one-statement reservation) be prepared once
    # per connection after that many uses, so the busy day's statement skips the planner.
    # Behind PgBouncer in transaction mode this needs PgBouncer 1.21+ (max_prepared_statements).
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = int(
        os.environ.get("DB_PREPARE_THRESHOLD", "5")
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers go on while one writer writes; IMMEDIATE takes the write lock at BEGIN
    # so two writers queue instead of failing with "database is locked" mid-transaction.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Lockout: 5 failures for one username from one address lock it for 30 minutes.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "0.5"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False
AXES_IPWARE_PROXY_COUNT = int(os.environ.get("PROXY_COUNT", "0")) or None
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]

# Staff sessions end after 8 idle hours or when the browser closes.
SESSION_ENGINE = "xiuhua.core.sessions"  # database sessions read by one fixed statement
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_IDLE_SECONDS", str(8 * 3600)))
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "xiuhua" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            # Production runs collectstatic and sets this for hashed, compressed, cacheable files.
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("XIUHUA_MANIFEST_STATIC")
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = VAR_DIR / "media"
# Personal files (photos of signed isolation pledges): never under a URL, only through views
# that check scope and audit the reveal.
PRIVATE_FILES_ROOT = VAR_DIR / "private"

# Largest roster upload accepted (bytes). 40,000 rows of xlsx is ~3 MB.
ROSTER_MAX_UPLOAD_BYTES = int(os.environ.get("ROSTER_MAX_UPLOAD_BYTES", str(20 * 1024 * 1024)))
# Most rows one roster import may hold.
ROSTER_MAX_ROWS = int(os.environ.get("ROSTER_MAX_ROWS", "100000"))
# Roster files of fewer rows are validated and committed inside the request, larger ones by the worker.
ROSTER_INLINE_MAX_ROWS = int(os.environ.get("ROSTER_INLINE_MAX_ROWS", "2000"))
# Roster exports of more rows are produced by the worker and downloaded later.
ROSTER_EXPORT_INLINE_MAX_ROWS = int(os.environ.get("ROSTER_EXPORT_INLINE_MAX_ROWS", "5000"))
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Largest request body taken at all, refused with a 413 before it is read (xiuhua.core.request_size):
# a roster file at its limit and the form around it; every other upload is smaller.
# Admission (core/admission.py): requests in progress per worker process, by lane; past them the
# answer is an immediate 503. Resident lanes are the path prefixes below with their busy page
# ("json" for an API); "staff" marks a prefix as staff, "open" one without a limit; any other
# path is staff.
XIUHUA_RESIDENT_SLOTS = int(os.environ.get("XIUHUA_RESIDENT_SLOTS", "8"))
XIUHUA_STAFF_SLOTS = int(os.environ.get("XIUHUA_STAFF_SLOTS", "4"))
XIUHUA_BUSY_RETRY_AFTER = int(os.environ.get("XIUHUA_BUSY_RETRY_AFTER", "2"))
XIUHUA_ADMISSION_LANES = [
    ("/healthz", "open"),  # never refused: a load balancer would take a busy machine out
    ("/masks/staff/", "staff"),
    ("/masks/api/", "json"),
    ("/masks/", "masks/public/busy.html"),
    ("/help/", "core/busy.html"),
    ("/arrive/", "core/busy.html"),
    ("/screening/codes/my/", "core/busy.html"),
    ("/antigen/my/report.json", "json"),
    ("/antigen/my/", "core/busy.html"),
    ("/zones/p/", "core/busy.html"),
    ("/passport/d/", "core/busy.html"),
    ("/volunteers/my/", "core/busy.html"),
    ("/volunteers/p/", "core/busy.html"),
    ("/supply/buy/order.json", "json"),
    ("/supply/buy/", "core/busy.html"),
]

XIUHUA_MAX_REQUEST_BYTES = int(
    os.environ.get("XIUHUA_MAX_REQUEST_BYTES", str(ROSTER_MAX_UPLOAD_BYTES + 1024 * 1024))
)

TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}
# SMS fan-out (a notice to a whole street): sms_send_many enqueues SMS_DELIVERY_TASKS batch tasks
# (about one per worker process; each claims SMS_BATCH_SIZE due messages at a time until none
# are left), and every worker sends SMS_SEND_CONCURRENCY requests to the provider at a time.
SMS_DELIVERY_TASKS = int(os.environ.get("SMS_DELIVERY_TASKS", "4"))
SMS_BATCH_SIZE = int(os.environ.get("SMS_BATCH_SIZE", "100"))
SMS_SEND_CONCURRENCY = int(os.environ.get("SMS_SEND_CONCURRENCY", "8"))

# SMS gateway (xiuhua.sms). The default dev backend sends nothing: the outbox table is the
# record, and the staff page can play inbound messages. HttpProviderBackend speaks the
# Alibaba-Cloud-style API documented in xiuhua/sms/backends.py. Secrets come from the
# environment only: they are shared with the provider, not generated here.
SMS_BACKEND = os.environ.get("SMS_BACKEND", "xiuhua.sms.backends.DevBackend")
SMS_PROVIDER_URL = os.environ.get("SMS_PROVIDER_URL", "")
SMS_ACCESS_KEY_ID = os.environ.get("SMS_ACCESS_KEY_ID", "")
SMS_ACCESS_KEY_SECRET = os.environ.get("SMS_ACCESS_KEY_SECRET", "")
SMS_SIGN_NAME = os.environ.get("SMS_SIGN_NAME", "绣花针")
# The number residents text (口罩 …, 求助 …), shown on QR posters and help pages; empty: "ask the committee".
SMS_INBOUND_NUMBER = os.environ.get("SMS_INBOUND_NUMBER", "")
SMS_WEBHOOK_SECRET = os.environ.get("SMS_WEBHOOK_SECRET", "")
SMS_PROVIDER_TIMEOUT = float(os.environ.get("SMS_PROVIDER_TIMEOUT", "10"))
# The address residents reach the site at: links in text messages (work-order follow-up) are
# written without a request to take it from.
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

# Behind an HTTPS proxy in production.
if env_bool("HTTPS"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy (django-csp): scripts only from our static files, never inline (a test
# scans the templates); inline <style> blocks only with the request's nonce; images may be
# data: URLs (QR codes, the signature canvas). Swagger UI at /api/docs works under it as is.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# Every handler redacts door keys, follow-up tokens, query strings, identity numbers and
# mobiles (xiuhua/core/logredact.py). Django's own "django" and "django.server" handlers are
# replaced by ours, so no record reaches a handler without the filter; gunicorn's loggers get
# it from config/gunicorn.py.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "xiuhua.core.logredact.RedactingFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Without handlers of its own, so records go to the root's (Django's default would add
        # an unfiltered console handler and the error mail, which carries the whole request).
        "django": {"handlers": [], "propagate": True},
        # 4xx answers (every probe of a door URL) would flood the log; server errors stay.
        "django.request": {"level": "ERROR"},
        "django.server": {"handlers": [], "level": "WARNING", "propagate": True},
        # Lockouts are audited in the database; its info lines add nothing to the log.
        "axes": {"level": "WARNING"},
    },
}
