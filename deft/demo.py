"""Demo data: groups, people, sites and disks, p-tags and a realistic catalog. Idempotent and deterministic.

Names follow the real schemes (DOMAIN.md); numbers follow the real figures (files of ~1k or ~10k events for
data, 5k-event MC files, lumiblocks of a minute of data taking).
"""

import random
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from catalog.models import Dataset, File, Replica, Site, StorageEndpoint, Tier, TokenType
from requests_app.models import PTag

from .models import Membership, PhysicsGroup, Role

TB = 1000**4
GROUPS = [  # name, code, auto-approve
    ("PHYS-SUSY", "SUSY", False),
    ("PHYS-TOP", "TOP", False),
    ("PHYS-HIGGS", "HIGG", False),
    ("PHYS-EXOTICS", "EXOT", True),
    ("PHYS-SM", "STDM", False),
    ("PHYS-BPHYS", "BPHY", False),
]
SITES = [  # name, tier, cloud, slots, events per second per slot
    ("CERN-PROD", Tier.T0, "CERN", 400, 6.0),
    ("BNL-ATLAS", Tier.T1, "US", 300, 5.5),
    ("FZK-LCG2", Tier.T1, "DE", 250, 5.0),
    ("IN2P3-CC", Tier.T1, "FR", 200, 5.0),
    ("RAL-LCG2", Tier.T1, "UK", 200, 4.5),
    ("TRIUMF-LCG2", Tier.T1, "CA", 150, 4.5),
    ("DESY-HH", Tier.T2, "DE", 120, 4.0),
    ("LRZ-LMU", Tier.T2, "DE", 80, 3.5),
    ("MWT2", Tier.T2, "US", 160, 4.0),
    ("AGLT2", Tier.T2, "US", 120, 4.0),
    ("UKI-NORTHGRID-MAN-HEP", Tier.T2, "UK", 90, 3.5),
    ("GRIF-LAL", Tier.T2, "FR", 70, 3.0),
    ("INFN-MILANO-ATLASC", Tier.T2, "IT", 60, 3.0),
    ("IFIC-LCG2", Tier.T2, "ES", 60, 3.0),
]
FORMATS = {  # format: (cpu seconds per event, bytes per event, skim efficiency)
    "DAOD_SUSY1": (0.45, 9_000, 0.12),
    "DAOD_SUSY2": (0.40, 8_000, 0.10),
    "DAOD_SUSY3": (0.40, 8_500, 0.08),
    "DAOD_SUSY4": (0.42, 9_500, 0.15),
    "DAOD_TOPQ1": (0.50, 11_000, 0.30),
    "DAOD_TOPQ2": (0.50, 10_000, 0.20),
    "DAOD_HIGG2D1": (0.35, 7_000, 0.06),
    "DAOD_HIGG4D1": (0.38, 7_500, 0.09),
    "DAOD_EXOT2": (0.30, 6_000, 0.05),
    "DAOD_EXOT3": (0.33, 6_500, 0.07),
    "DAOD_STDM4": (0.28, 5_500, 0.10),
    "DAOD_BPHY1": (0.25, 4_000, 0.04),
}
PTAGS = [  # name, cache, formats
    ("p1872", "AtlasDerivation 19.1.4.7", list(FORMATS)),
    ("p1874", "AtlasDerivation 19.1.4.9", list(FORMATS)),
    (
        "p2011",
        "AtlasDerivation 20.1.3.3",
        ["DAOD_SUSY1", "DAOD_SUSY2", "DAOD_TOPQ1", "DAOD_HIGG2D1", "DAOD_EXOT2"],
    ),
]
USERS = [  # username, role, group
    ("prodmgr", Role.PRODUCTION_MANAGER, None),
    ("shifter", Role.SHIFTER, None),
    ("susy-manager", Role.GROUP_MANAGER, "PHYS-SUSY"),
    ("top-manager", Role.GROUP_MANAGER, "PHYS-TOP"),
    ("higgs-manager", Role.GROUP_MANAGER, "PHYS-HIGGS"),
    ("exotics-manager", Role.GROUP_MANAGER, "PHYS-EXOTICS"),
    ("susy-member", Role.MEMBER, "PHYS-SUSY"),
]
MC_PHYSICS = [
    "PowhegPythia_P2011C_ttbar",
    "Sherpa_CT10_Zee",
    "Sherpa_CT10_Zmumu",
    "Sherpa_CT10_Wenu",
    "Sherpa_CT10_Wmunu",
    "PowhegPythia8_AU2CT10_ggH125_ZZ4lep",
    "MadGraphPythia_AUET2BCTEQ6L1_SM_GG_directCC",
    "Herwigpp_UEEE3_CTEQ6L1_SUSY",
    "Pythia8_AU2CT10_jetjet_JZ2W",
    "McAtNloJimmy_AUET2CT10_SingleTopSChanWenu",
    "AlpgenPythia_P2011C_ZeeNp0",
    "PowhegPythia_P2011C_singletop_tchan_lept",
    "Sherpa_CT10_llll",
    "MadGraphPythia8_AU2MSTW2008LO_zprime1000_tt",
]
MC_TAGS = ["e1727_s1933_s1911_r5591_r5625", "e2176_s1982_s2008_r5787_r5853", "e3099_s1982_s1964_r6065_r6149"]
DATA_STREAMS = ["physics_Muons", "physics_Egamma", "physics_JetTauEtmiss"]
DATA_TAGS = ["r4065_p1278", "r5723_p1751"]
MC_EVENTS_PER_FILE = 5_000
MC_BYTES_PER_EVENT = 300_000  # ~1.5 GB AOD files
DATA_BYTES_PER_EVENT = 250_000


@dataclass
class SeedReport:
    groups: int = 0
    users: int = 0
    sites: int = 0
    endpoints: int = 0
    ptags: int = 0
    datasets_created: int = 0
    files_created: int = 0


def seed_demo(*, datasets: int = 400, password: str = "deft-demo", seed: int = 42) -> SeedReport:
    """Create (or complete) the demo world; running it again creates nothing new."""
    report = SeedReport()
    with transaction.atomic():
        groups = seed_groups(report)
        seed_users(report, groups=groups, password=password)
        sites = seed_sites(report)
        seed_endpoints(report, sites=sites)
        seed_ptags(report)
    seed_catalog(report, count=datasets, rng=random.Random(seed))
    return report


def seed_groups(report: SeedReport) -> dict[str, PhysicsGroup]:
    groups = {}
    for name, code, auto in GROUPS:
        slug = name.lower()
        groups[name], _ = PhysicsGroup.objects.get_or_create(
            name=name,
            defaults={
                "code": code,
                "egroup": f"atlas-{slug}-production@example.org",
                "auto_approve": auto,
                "destination": f"type=GROUPDISK&physgroup={slug}",
            },
        )
    report.groups = len(groups)
    return groups


def seed_users(report: SeedReport, *, groups, password: str) -> None:
    User = get_user_model()
    for username, role, group_name in USERS:
        user, created = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.org"})
        if created:
            user.set_password(password)
            user.is_staff = user.is_superuser = role == Role.PRODUCTION_MANAGER  # admins edit the registries
            user.save()
        Membership.objects.get_or_create(user=user, role=role, group=groups.get(group_name))
    report.users = len(USERS)


def seed_sites(report: SeedReport) -> dict[str, Site]:
    sites = {}
    for name, tier, cloud, slots, rate in SITES:
        sites[name], _ = Site.objects.get_or_create(
            name=name, defaults={"tier": tier, "cloud": cloud, "slots": slots, "events_per_second": rate}
        )
    report.sites = len(sites)
    return sites


def seed_endpoints(report: SeedReport, *, sites) -> None:
    rows = []
    for i, (name, site) in enumerate(sites.items()):
        big = site.tier != Tier.T2
        rows += [
            StorageEndpoint(
                name=f"{name}_DATADISK",
                site=site,
                token_type=TokenType.DATADISK,
                capacity_bytes=(4000 if big else 800) * TB,
                used_bytes=(2600 if big else 500) * TB,
            ),
            StorageEndpoint(
                name=f"{name}_PRODDISK",
                site=site,
                token_type=TokenType.PRODDISK,
                capacity_bytes=(200 if big else 60) * TB,
                used_bytes=0,
            ),
            StorageEndpoint(
                name=f"{name}_SCRATCHDISK",
                site=site,
                token_type=TokenType.SCRATCHDISK,
                capacity_bytes=100 * TB,
                used_bytes=20 * TB,
            ),
        ]
        # Each group keeps its disk at every third site, so a generic destination has several candidates.
        for j, (group, _, _) in enumerate(GROUPS):
            if (i + j) % 3 == 0:
                rows.append(
                    StorageEndpoint(
                        name=f"{name}_{group}",
                        site=site,
                        token_type=TokenType.GROUPDISK,
                        physgroup=group.lower(),
                        capacity_bytes=(150 + 10 * ((i * 7 + j) % 5)) * TB,
                        used_bytes=(60 + 15 * ((i + j) % 6)) * TB,
                    )
                )
    StorageEndpoint.objects.bulk_create(rows, ignore_conflicts=True)
    report.endpoints = StorageEndpoint.objects.count()


def seed_ptags(report: SeedReport) -> None:
    for name, cache, formats in PTAGS:
        params = {
            f: dict(zip(("cpu_per_event", "bytes_per_event", "skim_efficiency"), FORMATS[f], strict=True))
            for f in formats
        }
        PTag.objects.get_or_create(
            name=name,
            defaults={"cache": cache, "transform": "Reco_tf.py", "formats": formats, "format_params": params},
        )
    report.ptags = len(PTAGS)


def dataset_specs(count: int, rng: random.Random):
    """Deterministic (name, fields, files) for `count` datasets: three MC samples for every data one."""
    for i in range(count):
        if i % 4 == 3:
            yield data_dataset(i, rng)
        else:
            yield mc_dataset(i, rng)


def mc_dataset(i: int, rng: random.Random):
    dsid = 110000 + i
    physics = MC_PHYSICS[i % len(MC_PHYSICS)]
    tags = MC_TAGS[i % len(MC_TAGS)]
    name = f"mc14_8TeV.{dsid}.{physics}.merge.AOD.{tags}"
    nfiles = rng.randint(2, 12)
    files = []
    for f in range(nfiles):
        events = MC_EVENTS_PER_FILE if f < nfiles - 1 else rng.choice([1000, 2500, 5000])
        lfn = f"AOD.{dsid:08d}._{f + 1:06d}.pool.root.1"
        files.append((lfn, events, events * MC_BYTES_PER_EVENT, [[195847, f + 1, events]]))
    fields = dict(
        project="mc14_8TeV", number=dsid, physics_short=physics, prod_step="merge", data_type="AOD", tags=tags
    )
    return name, fields, files


def data_dataset(i: int, rng: random.Random):
    run = 200800 + i
    stream = DATA_STREAMS[i % len(DATA_STREAMS)]
    tags = DATA_TAGS[i % len(DATA_TAGS)]
    name = f"data12_8TeV.{run:08d}.{stream}.merge.AOD.{tags}"
    # Real data files were merged differently: some hold ~1k events, most ~10k.
    per_file = 1_000 if i % 3 == 0 else 10_000
    files, lb = [], 1
    for _ in range(rng.randint(2, 8)):
        lumiblocks, left = [], per_file + rng.randint(-per_file // 10, per_file // 10)
        while left > 0:
            n = min(left, rng.randint(40, 400))
            lumiblocks.append([run, lb, n])
            lb, left = lb + 1, left - n
        events = sum(n for _, _, n in lumiblocks)
        lfn = f"data12_8TeV.{run:08d}.{stream}.merge.AOD.{tags}._lb{lumiblocks[0][1]:04d}._0001.1"
        files.append((lfn, events, events * DATA_BYTES_PER_EVENT, lumiblocks))
    fields = dict(
        project="data12_8TeV", number=run, physics_short=stream, prod_step="merge", data_type="AOD", tags=tags
    )
    return name, fields, files


def seed_catalog(report: SeedReport, *, count: int, rng: random.Random, batch: int = 1000) -> None:
    datadisks = list(StorageEndpoint.objects.filter(token_type=TokenType.DATADISK).order_by("name"))
    specs = list(dataset_specs(count, rng))
    for start in range(0, len(specs), batch):
        with transaction.atomic():
            created = seed_dataset_batch(specs[start : start + batch], datadisks=datadisks, rng=rng)
        report.datasets_created += created[0]
        report.files_created += created[1]
    seed_containers()


def seed_dataset_batch(specs, *, datadisks, rng) -> tuple[int, int]:
    names = [name for name, _, _ in specs]
    existing = set(Dataset.objects.filter(name__in=names).values_list("name", flat=True))
    new = [s for s in specs if s[0] not in existing]
    if not new:
        return 0, 0
    Dataset.objects.bulk_create(
        [
            Dataset(
                name=name,
                events=sum(f[1] for f in files),
                files=len(files),
                bytes=sum(f[2] for f in files),
                **fields,
            )
            for name, fields, files in new
        ]
    )
    ids = dict(Dataset.objects.filter(name__in=[s[0] for s in new]).values_list("name", "id"))
    file_rows = [
        File(dataset_id=ids[name], lfn=lfn, events=ev, bytes=size, lumiblocks=lbs)
        for name, _, files in new
        for lfn, ev, size, lbs in files
    ]
    File.objects.bulk_create(file_rows, batch_size=2000)
    file_ids = File.objects.filter(dataset_id__in=ids.values()).values_list("id", "dataset_id")
    placement = {ds_id: rng.sample(datadisks, k=min(2, len(datadisks))) for ds_id in ids.values()}
    replicas = [Replica(file_id=fid, endpoint=ep) for fid, ds_id in file_ids for ep in placement[ds_id]]
    Replica.objects.bulk_create(replicas, batch_size=5000)
    return len(new), len(file_rows)


def seed_containers() -> None:
    """A period container per data stream, holding that stream's runs."""
    for stream in DATA_STREAMS:
        name = f"data12_8TeV.periodB.{stream}.PhysCont.AOD.repro14_v01/"
        members = Dataset.objects.filter(project="data12_8TeV", physics_short=stream, is_container=False)
        container, created = Dataset.objects.get_or_create(
            name=name,
            defaults=dict(
                project="data12_8TeV",
                physics_short=stream,
                prod_step="PhysCont",
                data_type="AOD",
                tags="repro14_v01",
                is_container=True,
            ),
        )
        container.members.add(*members)
        totals = [(m.events, m.files, m.bytes) for m in members]
        Dataset.objects.filter(pk=container.pk).update(
            events=sum(t[0] for t in totals), files=sum(t[1] for t in totals), bytes=sum(t[2] for t in totals)
        )
