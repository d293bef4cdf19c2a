"""Settings, read from the environment once, with embedded defaults (see the README's table)."""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()
DEFAULT_SECRET = "deft-insecure-development-secret-change-me"  # noqa: S105 - refused outside debug mode

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default=DEFAULT_SECRET)
RUNNING_TESTS = False  # True in deft/settings_test.py, which the test suite runs on (with a secret of its own)
if not DEBUG and SECRET_KEY == DEFAULT_SECRET:
    raise ImproperlyConfigured("SECRET_KEY is the built-in default: set SECRET_KEY (or DEBUG=1 for development).")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "deft",
    "catalog",
    "requests_app",
    "tasks",
    "monitoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page needs a login unless marked @login_not_required; the API checks its own authentication.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "deft.urls"
WSGI_APPLICATION = "deft.wsgi.application"
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
                "deft.context_processors.roles",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'deft.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while a worker writes; IMMEDIATE takes the write lock up front, so two
    # writers queue on the timeout instead of failing with "database is locked" half-way through.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATABASE_IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
# Off: ids in forms and links must stay plain numbers; numbers for people use `intcomma` explicitly.
USE_THOUSAND_SEPARATOR = False

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise serves from finders in development; the folder must exist
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # `make run` serves static files without collectstatic

# Mail: console by default; SMTP through EMAIL_URL (smtp://user:pass@host:587/?tls=True).
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="deft@localhost")
DEFT_BASE_URL = env("DEFT_BASE_URL", default="http://127.0.0.1:8000")

# Celery: Redis in production and CI; the filesystem transport needs no server for `make run`.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")


def filesystem_broker(folder: Path) -> dict:
    """Transport options of kombu's filesystem broker kept in `folder` (kombu needs its folders to exist)."""
    for sub in ("out", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(folder / "out"),
        "data_folder_out": str(folder / "out"),
        "data_folder_processed": str(folder / "processed"),
        "control_folder": str(folder / "control"),  # else kombu writes ./control/ into the working directory
    }


if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker(VAR_DIR / "broker")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True  # a killed worker's batch is redelivered; our batches are idempotent
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default="deft")
CELERY_BEAT_SCHEDULE: dict = {}  # filled by the apps' workers modules (see tasks/workers.py)
CELERY_BEAT_SCHEDULE["tasks-tick"] = {"task": "tasks.tick", "schedule": 2.0, "options": {"expires": 10}}
CELERY_BEAT_SCHEDULE["tasks-requeue-stale-operations"] = {
    "task": "tasks.requeue_stale_operations", "schedule": 60.0, "options": {"expires": 50},
}  # fmt: skip
CELERY_BEAT_SCHEDULE["monitoring-sample-rollups"] = {"task": "monitoring.sample_rollups", "schedule": 60.0}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "deft.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "deft.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "DEFT API",
    "DESCRIPTION": "Derivation and group production: requests, tasks, jobs, operations, catalog.",
    "VERSION": "1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from the vendored package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "TaskStatusEnum": "tasks.states.TaskStatus",
        "JobStatusEnum": "tasks.states.JobStatus",
        "OperationStatusEnum": "tasks.states.OperationStatus",
        "RequestStatusEnum": "requests_app.models.RequestStatus",
        "DatasetStatusEnum": "catalog.models.DatasetStatus",
    },
}

# The executor backend behind tasks/executors/ (the simulated grid by default).
DEFT_EXECUTOR = env("DEFT_EXECUTOR", default="simulated")
DEFT_SIM_SEED = env.int("DEFT_SIM_SEED", default=42)
DEFT_SIM_TIME_FACTOR = env.float("DEFT_SIM_TIME_FACTOR", default=600.0)
DEFT_SIM_FAILURE_RATE = env.float("DEFT_SIM_FAILURE_RATE", default=0.04)  # random failures of deriv jobs
DEFT_DEMO_PASSWORD = env("DEFT_DEMO_PASSWORD", default="deft-demo")

# Deployment hardening: cookies and headers that do not depend on HTTPS termination.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Bulk actions on tasks (tasks/actions.py): tasks per batch (one transaction each) and a pause between batches
# that leaves the database to others. A Redis broker redelivers the unacknowledged message of a dead worker after
# the visibility timeout (acks_late), so an operation resumes at its cursor.
DEFT_OPERATION_BATCH_SIZE = env.int("DEFT_OPERATION_BATCH_SIZE", default=2000)
# An operation queued or running with no batch committed for this long is queued again (tasks.workers).
DEFT_OPERATION_STALE_S = env.int("DEFT_OPERATION_STALE_S", default=600)
DEFT_OPERATION_PAUSE = env.float("DEFT_OPERATION_PAUSE", default=0.0)
if CELERY_BROKER_URL.startswith("redis"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
# Errors (issue 5): a task is paused, and its group told once, when at least this many of its failures are
# software errors and they are more than this fraction of its failures.
DEFT_SOFTWARE_PAUSE_MIN = env.int("DEFT_SOFTWARE_PAUSE_MIN", default=10)
DEFT_SOFTWARE_PAUSE_FRACTION = env.float("DEFT_SOFTWARE_PAUSE_FRACTION", default=0.5)
