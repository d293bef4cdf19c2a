"""Configuration from the environment, and the demo world."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from catalog.models import Dataset, File, Replica, Site, StorageEndpoint
from deft.demo import seed_demo
from deft.models import Membership, PhysicsGroup
from requests_app.models import PTag

ROOT = Path(__file__).resolve().parents[2]


# What a production process does not have: the test session's settings module, secret and debug flag.
TEST_ONLY = {"DJANGO_SETTINGS_MODULE", "DEFT_TEST_DIR", "SECRET_KEY", "DEBUG", "PYTEST_CURRENT_TEST"}


def run_check(**env):
    clean = {k: v for k, v in os.environ.items() if k not in TEST_ONLY}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_with_the_default_secret():
    result = run_check(DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY is the built-in default" in result.stderr


def test_production_starts_with_a_real_secret_and_debug_starts_without():
    assert run_check(DEBUG="0", SECRET_KEY="x" * 50).returncode == 0
    assert run_check(DEBUG="1").returncode == 0


def test_check_deploy_is_clean_apart_from_https_settings():
    clean = {k: v for k, v in os.environ.items() if k not in TEST_ONLY}
    env = {**clean, "DEBUG": "0", "SECRET_KEY": "k" * 30 + "Zq7!9bX@2mN$5vL%8cR^1tY&4wE*6uI(0oP"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    https_only = {"security.W004", "security.W008", "security.W012", "security.W016"}
    warnings = set(re.findall(r"security\.W\d+", result.stderr))
    assert warnings <= https_only, result.stderr


@pytest.fixture
def small_world(db):
    return seed_demo(datasets=40, password="deft-demo-test")


def test_seed_creates_groups_people_sites_disks_ptags_and_catalog(small_world):
    assert PhysicsGroup.objects.count() >= 5
    assert set(PhysicsGroup.objects.values_list("name", flat=True)) >= {"PHYS-SUSY", "PHYS-TOP"}
    assert Membership.objects.filter(
        user__username="susy-manager", role="group_manager", group__name="PHYS-SUSY"
    ).exists()
    assert Membership.objects.filter(user__username="prodmgr", role="production_manager").exists()
    assert Site.objects.filter(tier="T1").exists() and Site.objects.filter(tier="T2").exists()
    for token in ("DATADISK", "PRODDISK", "GROUPDISK"):
        assert StorageEndpoint.objects.filter(token_type=token).exists()
    assert PTag.objects.filter(name="p1872", cache="AtlasDerivation 19.1.4.7").exists()
    assert Dataset.objects.filter(name__startswith="mc14_8TeV.", data_type="AOD").exists()
    assert Dataset.objects.filter(name__contains="physics_Muons", project="data12_8TeV").exists()
    assert Dataset.objects.filter(is_container=True).exists()


def test_seeded_files_hold_whole_lumiblocks_and_replicas(small_world):
    data_file = File.objects.filter(dataset__project="data12_8TeV").first()
    assert sum(n for _, _, n in data_file.lumiblocks) == data_file.events
    assert {round(f.events, -3) for f in File.objects.filter(dataset__project="data12_8TeV")} <= {
        1000,
        9000,
        10000,
        11000,
    }
    assert Replica.objects.filter(file=data_file).count() >= 1
    dataset = data_file.dataset
    assert dataset.events == sum(f.events for f in dataset.file_set.all())


def test_seed_is_idempotent(small_world):
    counts = (
        Dataset.objects.count(),
        File.objects.count(),
        Replica.objects.count(),
        Membership.objects.count(),
    )
    again = seed_demo(datasets=40, password="deft-demo-test")
    assert again.datasets_created == 0 and again.files_created == 0
    assert counts == (
        Dataset.objects.count(),
        File.objects.count(),
        Replica.objects.count(),
        Membership.objects.count(),
    )


def test_demo_users_log_in_with_the_demo_password(small_world, client):
    assert client.login(username="susy-manager", password="deft-demo-test")
