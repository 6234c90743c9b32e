"""Benchmark: import N historic representations from CSV, then produce the annual report over them.

    .venv/bin/python bench/report_bench.py                      # 1,000,000 rows, SQLite in a temp dir
    .venv/bin/python bench/report_bench.py --rows 100000
    .venv/bin/python bench/report_bench.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

Targets: the import of 1,000,000 rows in under 2 minutes; the report over 1,000,000
representations in under 10 s; each under 1 GB of memory. Each phase runs in a process of its
own so its peak resident memory is its own. The CSV is made by `reports.synthetic`
(three financial years, 2023/24 to 2025/26) and is not part of the timings.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TODAY = date(2026, 5, 15)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_import(url: str, csv_path: Path) -> dict:
    from zoneinfo import ZoneInfo

    from models import make_engine
    from scheduler import Clock, load_policy
    from reports.importer import import_csv

    engine = make_engine(url)
    started, cpu = time.perf_counter(), time.process_time()
    result = import_csv(engine, csv_path, clock=Clock(load_policy()), tz=ZoneInfo("Europe/London"), now=datetime(2026, 5, 15, 9, tzinfo=UTC))
    return {"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu, "rows": result.imported, "peak_mb": _peak_mb()}


def phase_report(url: str) -> dict:
    from models import make_engine
    from scheduler import load_policy
    from reports.compute import build_report
    from reports.exports import to_csv_zip, to_json
    from reports.html import render_document

    engine = make_engine(url)
    timings = {}
    started, cpu = time.perf_counter(), time.process_time()
    report = build_report(engine, load_policy(), 2025, today=TODAY)
    timings["compute"] = time.perf_counter() - started
    timings["compute_cpu"] = time.process_time() - cpu
    for name, render in (("html", render_document), ("csv", to_csv_zip), ("json", to_json)):
        t = time.perf_counter()
        render(report)
        timings[name] = time.perf_counter() - t
    total = report.table("volumes").rows
    return {"timings": timings, "stage_1_complaints": total[1].cells[0].current, "peak_mb": _peak_mb()}


def _child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.exit(f"phase {args[0:2]} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _postgres_database(admin_url: str) -> tuple[str, object]:
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"heard_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL server to create a scratch database on (default: SQLite)")
    parser.add_argument("--phase", choices=["import", "report"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, help="reuse this CSV instead of generating one")
    args = parser.parse_args()
    if args.phase == "import":
        print(json.dumps(phase_import(args.url, args.csv)))
        return
    if args.phase == "report":
        print(json.dumps(phase_report(args.url)))
        return

    from models.migrate import upgrade
    from reports import synthetic

    with tempfile.TemporaryDirectory(prefix="heard-bench-") as tmp:
        csv_path = args.csv or Path(tmp) / "representations.csv"
        if not args.csv:
            t = time.perf_counter()
            synthetic.write(csv_path, args.rows, first_year=2023, years=3, today=TODAY, prefix="BENCH")
            print(f"generated {args.rows:,} rows ({csv_path.stat().st_size / 1e6:.0f} MB of CSV) in {time.perf_counter() - t:.1f} s (not timed below)")
        drop = None
        if args.postgres:
            url, drop = _postgres_database(args.postgres)
        else:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        try:
            upgrade(url)
            backend = "PostgreSQL" if args.postgres else "SQLite"
            imported = _child("--phase", "import", "--url", url, "--csv", str(csv_path))
            rate = imported["rows"] / imported["seconds"]
            print(f"machine  {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} when the import started (timings stretch when other work shares the cores)")
            print(f"import   {imported['rows']:>9,} rows in {imported['seconds']:6.1f} s  ({rate:,.0f} rows/s; {imported['cpu']:.1f} s of CPU in Heard's process)  peak memory {imported['peak_mb']:,.0f} MB  [{backend}; target < 120 s, < 1 GB]")
            reported = _child("--phase", "report", "--url", url)
            t = reported["timings"]
            print(
                f"report   compute {t['compute']:.2f} s ({t['compute_cpu']:.2f} s of CPU over two threads), HTML with charts {t['html']:.2f} s, CSV zip {t['csv']:.2f} s, JSON {t['json']:.2f} s"
                f"  peak memory {reported['peak_mb']:,.0f} MB  [target < 10 s, < 1 GB]"
            )
            print(f"         ({reported['stage_1_complaints']:,} stage 1 complaints in 2025/26)")
        finally:
            if drop:
                drop()  # type: ignore[operator]


if __name__ == "__main__":
    main()
