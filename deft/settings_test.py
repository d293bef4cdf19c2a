"""Settings of the test suite (pyproject's DJANGO_SETTINGS_MODULE): the real settings, plus a secret for tests and
a scratch directory per test session, so that no test shares a broker, queue, storage or lock with `make run`.

Production never imports this module, so its check of the default secret holds whatever else is imported there.
"""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

if not os.environ.get("DEFT_TEST_DIR"):
    # The session's own process: it makes the directory and removes it at exit. The worker processes that tests
    # start inherit these variables, so they read the same queue, broker folder and storage.
    _dir = tempfile.mkdtemp(prefix="deft-test-")
    atexit.register(shutil.rmtree, _dir, ignore_errors=True)
    os.environ["DEFT_TEST_DIR"] = _dir
    os.environ["CELERY_QUEUE"] = Path(_dir).name  # deft-test-<random>: never `make run`'s queue, even on Redis
    os.environ["DEFT_STORAGE_ROOT"] = str(Path(_dir) / "storage")
    os.environ.setdefault("SECRET_KEY", "deft-test-settings-only-not-a-deployment-secret")

from deft.settings import *  # noqa: E402, F403
from deft.settings import filesystem_broker  # noqa: E402

RUNNING_TESTS = True
TEST_DIR = Path(os.environ["DEFT_TEST_DIR"])
VAR_DIR = TEST_DIR  # the tick's lock and the beat schedule
CELERY_BEAT_SCHEDULE_FILENAME = str(TEST_DIR / "celerybeat-schedule")
if CELERY_BROKER_URL.startswith("filesystem://"):  # noqa: F405
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker(TEST_DIR / "broker")
if "DEFT_STORAGE_ROOT" in globals():
    DEFT_STORAGE_ROOT = Path(os.environ["DEFT_STORAGE_ROOT"])
