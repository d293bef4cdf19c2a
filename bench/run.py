"""`make bench`: run every benchmark module in bench/ and print one table of figures, baselines and ratios.

Each module exposes `run() -> list[dict]` with rows {"benchmark", "ours", "baseline", "limit", "unit", "target"}
("baseline" is the naive way, "limit" the physical limit such as raw SQL or COPY, both measured in the same run).
Benchmarks that need PostgreSQL say so and are skipped on SQLite.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import environ
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deft.settings")


def best_of(fn, repeat: int = 5) -> float:
    """The fastest of `repeat` runs of fn(), in seconds: the least disturbed by the rest of the machine."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def median_of(fn, repeat: int = 7) -> float:
    """The median of `repeat` runs after one warm-up run (queries: we measure the query, not the disk)."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def fmt(value, unit):
    if value is None:
        return "—"
    return f"{value:,.3f} {unit}" if isinstance(value, float) else f"{value:,} {unit}"


def ratio(a, b):
    return f"{b / a:,.1f}x" if a and b else "—"


def run_module(name: str) -> list[dict]:
    """One module in a fresh interpreter: no heap, cache or connection left by another benchmark skews it."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        code = f"import json, bench.{name} as m; json.dump(m.run(), open({out.name!r}, 'w'))"
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, stdout=sys.stderr)
        if done.returncode:
            raise RuntimeError(f"exited with {done.returncode}; its traceback is above")
        return json.loads(Path(out.name).read_text())


def database_ensure() -> None:
    """Create the PostgreSQL database DATABASE_URL names when a fresh machine has not got it yet."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return
    config = environ.Env.db_url_config(url)
    server = {"host": config["HOST"], "port": config["PORT"] or 5432, "user": config["USER"], "dbname": "postgres"}
    with psycopg.connect(**server, autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]).fetchone():
            connection.execute(f'CREATE DATABASE "{config["NAME"]}"')
            print(f"# created database {config['NAME']}", file=sys.stderr)


def main(selected: list[str]) -> int:
    database_ensure()
    modules = sorted(p.stem for p in (ROOT / "bench").glob("bench_*.py"))
    if selected:
        modules = [m for m in modules if any(s in m for s in selected)]
    rows, failed = [], False
    for name in modules:
        print(f"# {name} ...", file=sys.stderr, flush=True)
        try:
            rows += run_module(name)
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            rows.append({"benchmark": name, "ours": None, "target": f"FAILED: {exc}"[:200]})
            failed = True
    header = ("benchmark", "ours", "naive baseline", "baseline/ours", "limit", "ours/limit", "target")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        unit = r.get("unit", "s")
        # A rate (rows/s) is better when higher: flip it, so that both columns read "how many times better".
        speed = (lambda x: 1 / x if x else x) if unit.endswith("/s") else (lambda x: x)
        ours, baseline, limit = speed(r["ours"]), speed(r.get("baseline")), speed(r.get("limit"))
        print(
            f"| {r['benchmark']} | {fmt(r['ours'], unit)} | {fmt(r.get('baseline'), unit)} | "
            f"{ratio(ours, baseline)} | {fmt(r.get('limit'), unit)} | "
            f"{ratio(limit, ours)} | {r.get('target', '')} |"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
