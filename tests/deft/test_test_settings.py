"""The test suite's own settings: production keeps its secret check, and a test session keeps to its own folders."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What a new process would not have if it were not started from this test session.
SESSION_ONLY = {
    "DJANGO_SETTINGS_MODULE",
    "DEFT_TEST_DIR",
    "CELERY_QUEUE",
    "CELERY_BROKER_URL",
    "DEFT_STORAGE_ROOT",
    "SECRET_KEY",
    "DEBUG",
    "PYTEST_CURRENT_TEST",
}


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in SESSION_ONLY}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=120
    )


def test_a_production_process_that_imports_pytest_still_refuses_the_default_secret():
    result = run_python("import pytest, django; django.setup()", DEBUG="0", DJANGO_SETTINGS_MODULE="deft.settings")
    assert result.returncode != 0
    assert "SECRET_KEY is the built-in default" in result.stderr


SESSION = """
import json, django
django.setup()
from django.conf import settings
from deft.celery import app
app.send_task("tasks.tick", queue=settings.CELERY_TASK_DEFAULT_QUEUE)
out = settings.TEST_DIR / "broker" / "out"
print(json.dumps({"dir": str(settings.TEST_DIR), "queue": settings.CELERY_TASK_DEFAULT_QUEUE,
                  "queued": [p.name for p in out.iterdir()], "storage": __import__("os").environ["DEFT_STORAGE_ROOT"],
                  "tick_lock": str(settings.VAR_DIR / "tick.lock")}))
"""


def run_folder_files() -> set[str]:
    out = ROOT / "var" / "broker" / "out"
    return {p.name for p in out.iterdir()} if out.exists() else set()


def test_a_test_session_queues_work_in_a_folder_of_its_own_and_removes_it_at_the_end():
    before = run_folder_files()
    result = run_python(SESSION, DEBUG="0", DJANGO_SETTINGS_MODULE="deft.settings_test")
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)

    session_dir = Path(seen["dir"])
    assert not session_dir.is_relative_to(ROOT)
    assert seen["queue"] != "deft" and len(seen["queued"]) == 1 and seen["queue"] in seen["queued"][0]
    assert Path(seen["storage"]).is_relative_to(session_dir) and Path(seen["tick_lock"]).is_relative_to(session_dir)
    assert run_folder_files() == before  # nothing for `make run`'s worker to pick up later
    assert not session_dir.exists()
