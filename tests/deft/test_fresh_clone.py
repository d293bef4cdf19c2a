"""A new user's first command: `make run` in a fresh clone serves the portal, its workers tick, and nothing fails."""

import http.client
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What a new user's shell does not have: this test session's settings, database, broker, secret, make's own state.
SESSION_ONLY = {
    "DJANGO_SETTINGS_MODULE",
    "DEFT_TEST_DIR",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CELERY_QUEUE",
    "DEFT_STORAGE_ROOT",
    "SECRET_KEY",
    "DEBUG",
    "PYTEST_CURRENT_TEST",
    "VIRTUAL_ENV",
    "MAKEFLAGS",
    "MFLAGS",
    "MAKELEVEL",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def home_page_status(port: int) -> tuple[int, str] | None:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/")
        response = conn.getresponse()
        return response.status, response.getheader("Location") or ""
    except OSError:
        return None


def wait_until(condition, timeout: float, what: str, proc: subprocess.Popen, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"`make run` exited ({proc.returncode}) before {what}:\n{log.read_text()[-3000:]}")
        if value := condition():
            return value
        time.sleep(1)
    pytest.fail(f"timed out waiting for {what}:\n{log.read_text()[-3000:]}")


def stop_group(proc: subprocess.Popen) -> None:
    """Stop `make run` and everything it started (server, worker, beat): they share its process group."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            os.killpg(proc.pid, 0)  # raises once no process of the group is left
            time.sleep(0.5)
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.mark.fresh_clone
@pytest.mark.timeout(1200)  # a new venv (pip's cache makes it quick), migrations, demo data, then the first ticks
def test_make_run_in_a_fresh_clone_serves_the_home_page_and_its_worker_logs_no_traceback(tmp_path):
    clone = tmp_path / "deft"
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
    subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "checkout", "--quiet", "--detach", head.stdout.strip()], cwd=clone, check=True)

    port, log = free_port(), tmp_path / "make-run.log"
    env = {k: v for k, v in os.environ.items() if k not in SESSION_ONLY}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if not p.startswith(str(ROOT)))
    with open(log, "w") as out:
        proc = subprocess.Popen(
            ["make", "run", f"PORT={port}"],
            cwd=clone,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        status, location = wait_until(lambda: home_page_status(port), 900, "the home page", proc, log)
        assert status == 200 or (status == 302 and "/login/" in location), (status, location)
        # The worker's clock takes the tick lock every 2 s: seen twice, the worker has run for a while.
        tick_lock = clone / "var" / "tick.lock"
        first = wait_until(lambda: tick_lock.exists() and tick_lock.stat().st_mtime, 120, "a tick", proc, log)
        wait_until(lambda: tick_lock.stat().st_mtime > first, 60, "a second tick", proc, log)
    finally:
        stop_group(proc)
    output = log.read_text()
    assert "Traceback" not in output, output[-5000:]
