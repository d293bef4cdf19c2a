"""`make test` brings its own browser: Debian's chromium, installed when missing and it may (root), else one clear
line saying what to run, and a failure rather than skipped browser tests. apt-get and id are stand-ins on PATH."""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def machine(tmp_path):
    """run(uid=..., apt_exit=...) runs `make chromium` on a machine without chromium where `id -u` says `uid`."""
    bin_dir, chromium, apt_calls = tmp_path / "bin", tmp_path / "chromium", tmp_path / "apt-calls"
    bin_dir.mkdir()

    def run(uid: int, apt_exit: int = 0) -> subprocess.CompletedProcess:
        fake(bin_dir / "id", f"echo {uid}")
        # Like Debian's: `install chromium` puts the browser in place (unless it fails).
        fake(
            bin_dir / "apt-get",
            f'echo "$*" >> {apt_calls}\n'
            f"[ {apt_exit} = 0 ] || exit {apt_exit}\n"
            f'case "$*" in *"install -y -qq chromium"*) printf "#!/bin/sh\\n" > {chromium}; chmod +x {chromium};; esac',
        )
        env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "DEFT_CHROMIUM": str(chromium)}
        env.pop("MAKEFLAGS", None)
        return subprocess.run(
            ["make", "-s", "--no-print-directory", "chromium"], cwd=ROOT, env=env, capture_output=True, text=True
        )

    run.chromium = chromium
    run.apt_calls = lambda: apt_calls.read_text().splitlines() if apt_calls.exists() else []
    return run


def fake(path: Path, body: str) -> None:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def test_as_root_it_installs_debians_chromium_when_missing(machine):
    result = machine(uid=0)
    assert result.returncode == 0, result.stderr
    assert machine.chromium.exists()
    calls = machine.apt_calls()
    assert any(call.endswith("update -qq") for call in calls)
    assert any(call.endswith("install -y -qq chromium") for call in calls)


def test_with_chromium_in_place_it_installs_nothing(machine):
    machine.chromium.write_text("#!/bin/sh\n")
    machine.chromium.chmod(0o755)
    assert machine(uid=0).returncode == 0
    assert machine.apt_calls() == []


def test_without_root_it_fails_with_the_one_command_to_run(machine):
    result = machine(uid=1000)
    assert result.returncode != 0
    assert machine.apt_calls() == []
    lines = [line for line in result.stderr.splitlines() if "make test:" in line]
    assert len(lines) == 1 and "sudo apt-get install -y chromium" in lines[0]


def test_a_failed_install_fails_the_run(machine):
    result = machine(uid=0, apt_exit=100)
    assert result.returncode != 0
    assert "did not install" in result.stderr
    assert not machine.chromium.exists()
