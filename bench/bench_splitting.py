"""Speed of job splitting and merge planning, next to a naive version and the bare-loop limit.

Run alone (``.venv/bin/python bench/bench_splitting.py``) or through ``bench/run.py``, which calls ``run()``.
No Django needed. Every figure is the best of 5 runs, in seconds, measured in the same process.
"""

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: make `tasks` importable
from bench.run import best_of  # noqa: E402
from tasks.engine.merge_planning import UnmergedOutput, plan_merges  # noqa: E402
from tasks.engine.splitting import InputFile, split_by_lumiblock  # noqa: E402

FILES, LUMIBLOCKS, EVENTS = 2_000, 100_000, 10_000_000
LUMIBLOCKS_BIG_FILE, LUMIBLOCKS_SMALL_FILE = 90, 10  # files alternate ~9k and ~1k events
EVENTS_PER_JOB = 5_000
OUTPUTS = 20_000
FORMATS = ("DAOD_EGAM1", "DAOD_HIGG2D1", "DAOD_SUSY1", "DAOD_TOPQ1")


# --- splitting --------------------------------------------------------------------------------------


def make_dataset(seed: int = 2012) -> list[InputFile]:
    """Files alternating 90 and 10 lumiblocks (~9k and ~1k events) of 0-200 events each.

    Counts come in pairs summing to 200, then are shuffled: the totals are exact (2,000 files,
    100,000 lumiblocks, 10M events) while job boundaries fall anywhere.
    """
    rng = random.Random(seed)
    mean = EVENTS // LUMIBLOCKS
    counts = []
    for _ in range(LUMIBLOCKS // 2):
        n = rng.randint(0, 2 * mean)
        counts += [n, 2 * mean - n]
    rng.shuffle(counts)
    files, run, next_lb, taken = [], 200842, 1, 0
    for i in range(FILES):
        if i % 200 == 0:  # a new run every 200 files
            run, next_lb = run + 1, 1
        size = LUMIBLOCKS_BIG_FILE if i % 2 == 0 else LUMIBLOCKS_SMALL_FILE
        lfn = f"data12_8TeV.{run:08d}.physics_Muons.merge.AOD.r4065_p1278._{i:06d}.pool.root.1"
        files.append(InputFile(lfn, [(run, next_lb + j, n) for j, n in enumerate(counts[taken : taken + size])]))
        next_lb, taken = next_lb + size, taken + size
    return files


def naive_split(files, events_per_job):
    """The obvious way: a dict per lumiblock, re-summing the job at every step, copying the job list."""
    rows = [{"lfn": f.lfn, "run": r, "lb": lb, "events": n} for f in files for r, lb, n in f.lumiblocks]
    jobs, current = [], []
    for row in rows:
        total = sum(r["events"] for r in current)
        if total and row["events"] and total + row["events"] > events_per_job:
            jobs.append(current)
            current = []
        current = current + [row]
    if current:
        jobs.append(current)
    return [(sum(r["events"] for r in job), [(r["lfn"], r["run"], r["lb"], r["events"]) for r in job]) for job in jobs]


def bare_loop(files) -> int:
    """The physical limit: touch every lumiblock once and add its events."""
    total = 0
    for _, lumiblocks in files:
        for _, _, n in lumiblocks:
            total += n
    return total


def bench_split() -> dict:
    files = make_dataset()
    assert len(files) == FILES and sum(len(f.lumiblocks) for f in files) == LUMIBLOCKS
    assert bare_loop(files) == EVENTS
    ours = split_by_lumiblock(files, events_per_job=EVENTS_PER_JOB)
    naive = naive_split(files, EVENTS_PER_JOB)
    assert [(j.nevents, j.lumiblocks) for j in ours] == naive, "naive baseline must split the same way"
    return {
        "benchmark": f"split {EVENTS / 1e6:.0f}M events, {FILES:,} files, {LUMIBLOCKS:,} lumiblocks "
        f"into {len(ours):,} jobs",
        "ours": best_of(lambda: split_by_lumiblock(files, events_per_job=EVENTS_PER_JOB)),
        "baseline": best_of(lambda: naive_split(files, EVENTS_PER_JOB)),
        "limit": best_of(lambda: bare_loop(files)),
        "unit": "s",
        "target": "<= 0.5 s",
    }


# --- merging ----------------------------------------------------------------------------------------


def make_outputs(seed: int = 2014) -> list[UnmergedOutput]:
    """20,000 outputs of 20-400 MB over 4 formats; ~3 % from failed jobs, ~1 % empty."""
    rng = random.Random(seed)
    outputs = []
    for i in range(OUTPUTS):
        size = rng.randint(20_000_000, 400_000_000)
        empty = rng.random() < 0.01
        outputs.append(
            UnmergedOutput(
                id=i,
                format=FORMATS[i % len(FORMATS)],
                bytes=0 if empty else size,
                events=0 if empty else size // 50_000,
                job_ok=rng.random() >= 0.03,
            )
        )
    return outputs


def naive_merges(outputs, max_bytes=4_000_000_000, max_files=50):
    """The obvious way: scan all outputs once per format, re-sum the group at every step, copy lists."""
    plans = []
    for fmt in sorted({o.format for o in outputs}):
        group = []
        for out in [o for o in outputs if o.format == fmt and o.job_ok and o.bytes > 0 and o.events > 0]:
            if group and sum(o.bytes for o in group) + out.bytes > max_bytes:
                plans.append([o.id for o in group])
                group = []
            group = group + [out]
            if sum(o.bytes for o in group) >= max_bytes or len(group) >= max_files:
                plans.append([o.id for o in group])
                group = []
        if group:
            plans.append([o.id for o in group])
    return plans


def bare_outputs_loop(outputs) -> int:
    total = 0
    for out in outputs:
        total += out.bytes
    return total


def bench_merge() -> dict:
    outputs = make_outputs()
    ours = plan_merges(outputs, final=True)
    assert [list(p.output_ids) for p in ours] == naive_merges(outputs), "naive baseline must plan the same merges"
    return {
        "benchmark": f"plan merges of {OUTPUTS:,} unmerged outputs into {len(ours):,} merge jobs",
        "ours": best_of(lambda: plan_merges(outputs, final=True)),
        "baseline": best_of(lambda: naive_merges(outputs)),
        "limit": best_of(lambda: bare_outputs_loop(outputs)),
        "unit": "s",
        "target": "none set",
    }


def run() -> list[dict]:
    return [bench_split(), bench_merge()]


def main() -> None:
    print(f"{'benchmark':<72} {'ours':>9} {'naive':>9} {'naive/ours':>10} {'limit':>9} {'ours/limit':>10}  target")
    for row in run():
        print(
            f"{row['benchmark']:<72} {row['ours']:>9.4f} {row['baseline']:>9.4f} "
            f"{row['baseline'] / row['ours']:>9.1f}x {row['limit']:>9.4f} {row['ours'] / row['limit']:>9.1f}x"
            f"  {row['target']}"
        )


if __name__ == "__main__":
    main()
