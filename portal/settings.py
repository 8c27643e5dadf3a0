"""Settings for the skill master studio portal, read from the environment (see portal/env.py).

PORTAL_ENV=development (the default) gives a working portal with nothing else set: an SQLite file
under var/, Celery tasks run eagerly in the web process, and e-mail printed to the console.
PORTAL_ENV=production demands SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL and turns on every
transport-security setting `manage.py check --deploy` asks for.
"""
from __future__ import annotations

import secrets
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from portal.env import Env

BASE_DIR = Path(__file__).resolve().parent.parent
env = Env()

PORTAL_ENV = env.str("PORTAL_ENV", "development")
if PORTAL_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(
        f"环境变量 PORTAL_ENV 的值无效（{PORTAL_ENV!r}）：应为 development 或 production。"
    )
PRODUCTION = PORTAL_ENV == "production"

VAR_DIR = Path(env.str("PORTAL_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _dev_secret(name: str) -> str:
    """A per-checkout random secret for development, kept in var/ (never committed)."""
    path = VAR_DIR / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env.bool("DEBUG", default=not PRODUCTION)

SECRET_KEY = env.str("SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("环境变量 SECRET_KEY 未设置：生产环境必须提供至少 50 个字符的随机密钥。")
    SECRET_KEY = _dev_secret("dev-secret-key")
elif len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("环境变量 SECRET_KEY 的值无效：长度应不少于 50 个字符。")

# --- Personal information keys (see portal/crypto.py) ----------------------------------------------
PII_ENCRYPTION_KEYS = env.list("PII_ENCRYPTION_KEYS")
PII_HASH_KEY = env.str("PII_HASH_KEY")
if PRODUCTION and not (PII_ENCRYPTION_KEYS and PII_HASH_KEY):
    raise ImproperlyConfigured("环境变量 PII_ENCRYPTION_KEYS 和 PII_HASH_KEY 必须在生产环境设置（个人信息加密密钥）。")
if not PII_ENCRYPTION_KEYS:
    from cryptography.fernet import Fernet

    _key_file = VAR_DIR / "dev-pii-key"
    if not _key_file.exists():
        _key_file.write_text(Fernet.generate_key().decode())
        _key_file.chmod(0o600)
    PII_ENCRYPTION_KEYS = [_key_file.read_text().strip()]
if not PII_HASH_KEY:
    PII_HASH_KEY = _dev_secret("dev-pii-hash-key")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("环境变量 ALLOWED_HOSTS 未设置：生产环境必须列出对外服务的主机名，用逗号分隔。")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "portal",
    "workshops",
    "reviews",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "portal.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "portal.context_processors.portal",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
_db_url = env.url("DATABASE_URL", ("postgres", "postgresql", "sqlite"))
if PRODUCTION and not _db_url:
    raise ImproperlyConfigured("环境变量 DATABASE_URL 未设置：生产环境应使用 PostgreSQL，如 postgres://user:pass@host:5432/portal。")
if _db_url:
    try:
        DATABASES = {"default": dj_database_url.parse(_db_url, conn_max_age=60, conn_health_checks=True)}
    except ValueError as exc:
        raise ImproperlyConfigured(f"环境变量 DATABASE_URL 的值无效：{exc}") from None
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            # Waiting on the write lock beats failing with "database is locked" in the demo.
            "OPTIONS": {"timeout": 20},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache and Celery ----------------------------------------------------------------------
REDIS_URL = env.url("REDIS_URL", ("redis", "rediss"))
if REDIS_URL:
    # portal.cache: a Redis outage turns cache calls into misses instead of error pages; short socket
    # timeouts so an unreachable host costs a second, not a hung worker (docs/reliability.md).
    CACHES = {"default": {"BACKEND": "portal.cache.ResilientRedisCache", "LOCATION": REDIS_URL,
                          "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
# Without a broker the demo still works: tasks run in-process, at once.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True  # a worker that dies mid-task leaves the message to be redelivered
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# While Redis is down a web request that queues a task must fail fast, not hang: Celery's result
# backend retries its connection 20 times a second apart before giving up (a 20-second page), and
# publishing retries three times. Callers treat a failed .delay() as "queue it later"
# (portal/notifications.py; docs/reliability.md).
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"retry_policy": {"max_retries": 1, "interval_start": 0,
                                                            "interval_step": 0.2, "interval_max": 0.2}}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# Periodic tasks; each feature adds its own entry below its own settings, e.g.
# CELERY_BEAT_SCHEDULE["reminders-daily-sweep"] = {"task": "...", "schedule": crontab(hour=7, minute=0)}.
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}

# The e-mail outbox (portal/notifications.py): copies a broker outage kept from being queued go out
# on the next sweep after it.
CELERY_BEAT_SCHEDULE["notifications-email-outbox"] = {
    "task": "portal.tasks.email_unsent_notifications", "schedule": crontab(minute="*/5"),
    "options": {"expires": 4 * 60}}

# --- Deadline reminders (portal/reminders.py, docs/reminders.md) ---------------------------------------
# The daily sweep: reminders before and after every deadline, escalations, and the end of notice
# periods. Exactly once is enforced in the database, so a second beat or a retried task sends nothing
# twice; a message not run within the day expires rather than pile up behind tomorrow's.
CELERY_BEAT_SCHEDULE["reminders-daily-sweep"] = {
    "task": "portal.reminders.daily_sweep", "schedule": crontab(hour=7, minute=0), "options": {"expires": 20 * 3600}}

# --- Auth -----------------------------------------------------------------------------------------
AUTH_USER_MODEL = "portal.User"
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:dashboard"
LOGOUT_REDIRECT_URL = "public:home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "portal.passwords.CharacterClassValidator"},
]
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", 8 * 3600, minimum=60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Account security (等保2.0 三级 身份鉴别; portal/security.py, docs/security.md) ----------------------
# N failed logins (passwords or second-factor codes) for one username within the window lock it for the
# same number of minutes. State is kept in the database so every gunicorn worker sees it.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1)
# Failures from one client address within the same window before that address is refused (spraying).
LOGIN_IP_FAILURE_LIMIT = env.int("LOGIN_IP_FAILURE_LIMIT", 30, minimum=1)
# Bureau staff and administrators must change their password after this many days.
PASSWORD_MAX_AGE_DAYS = env.int("PASSWORD_MAX_AGE_DAYS", 90, minimum=1)
STAFF_IDLE_TIMEOUT_MINUTES = env.int("STAFF_IDLE_TIMEOUT_MINUTES", 30, minimum=1)
IDLE_TIMEOUT_MINUTES = env.int("IDLE_TIMEOUT_MINUTES", 120, minimum=1)
# Bureau staff and administrators must use a TOTP second factor. Off by default in development so
# the demo accounts log in with the password alone; on by default in production.
REQUIRE_STAFF_TOTP = env.bool("REQUIRE_STAFF_TOTP", PRODUCTION)
MIDDLEWARE += [
    # After AuthenticationMiddleware, MessageMiddleware and HtmxMiddleware, whose attributes they use.
    "portal.security.IdleTimeoutMiddleware",
    "portal.security.SecondFactorMiddleware",
    "portal.security.PasswordExpiryMiddleware",
]

# --- I18N -----------------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Files ----------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Development serves static files straight from static/ and the apps; production runs collectstatic.
WHITENOISE_USE_FINDERS = not PRODUCTION
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    # Uploads live outside the web root and are only ever served through a view that checks access.
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(VAR_DIR / "uploads"), "base_url": None}},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "uploads"
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)

# --- Retention of application materials (个人信息保护法 第十九条; workshops/retention.py) ---------------
# Attachments of rejected and withdrawn applications are deleted this many years after the decision;
# three years matches the ban a sanction imposes (平顶山 第十四条 / 郑州 第十七条). The audit trail stays.
ATTACHMENT_RETENTION_YEARS = env.int("ATTACHMENT_RETENTION_YEARS", 3, minimum=1)
CELERY_BEAT_SCHEDULE["purge-expired-attachments"] = {
    "task": "workshops.tasks.purge_expired_attachments", "schedule": crontab(hour=2, minute=30)}

# --- E-mail ---------------------------------------------------------------------------------------
EMAIL_HOST = env.str("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env.int("EMAIL_PORT", 25, minimum=1)
    EMAIL_HOST_USER = env.str("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", False)
    EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", False)
    if EMAIL_USE_TLS and EMAIL_USE_SSL:
        raise ImproperlyConfigured("环境变量 EMAIL_USE_TLS 与 EMAIL_USE_SSL 不能同时为 true。")
    EMAIL_TIMEOUT = 20
else:
    EMAIL_BACKEND = env.str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.email("DEFAULT_FROM_EMAIL", "技能大师工作室管理平台 <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Security -------------------------------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", False)
    if env.bool("BEHIND_TLS_PROXY", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SILENCED_SYSTEM_CHECKS: list[str] = []
if PRODUCTION and not env.bool("SECURE_HSTS_PRELOAD", False):
    # Intranet hosts are not on the public preload list; preload is opt-in.
    SILENCED_SYSTEM_CHECKS.append("security.W021")

# --- Logging --------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", "INFO").upper()},
    # WeasyPrint reports every rendering step at INFO; fontTools every subset.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "weasyprint": {"level": "WARNING"},
                "fontTools": {"level": "WARNING"}},
}

PORTAL_SITE_NAME = "技能大师工作室管理服务平台"
