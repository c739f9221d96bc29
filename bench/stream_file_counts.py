"""File counts per table over an accelerated stretch of per-minute micro-batches.

    .venv/bin/python bench/stream_file_counts.py --minutes 240 --lake /tmp/bench-lake

Lands `--minutes` minutes of raw envelopes of every endpoint (tests/integration/rawgen.py: about
six objects per minute, live and history, some bad), then runs the stream job with `--once` and
`--max-files-per-trigger` set so that each micro-batch holds about one minute of data: as many
commits as a live stretch of that many minutes, only faster. Maintenance
runs on an accelerated schedule (OPTIMIZE and VACUUM every few wall-clock minutes, VACUUM keeping
`--vacuum-retain-hours`). While the job runs, the script samples every table every few seconds:
live data files (in the Delta snapshot), Parquet files on disk, and _delta_log files. It prints the
maxima and the final figures as a table (and JSON with --json).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))

import stream_runner  # noqa: E402
from deltalake import DeltaTable  # noqa: E402
from rawgen import Generator  # noqa: E402

from lakehouse.tables import ALL_TABLES  # noqa: E402


def count_files(lake: Path) -> dict[str, dict[str, int]]:
    figures: dict[str, dict[str, int]] = {}
    for ref in ALL_TABLES:
        root = lake / ref.path
        if not (root / "_delta_log").is_dir():
            continue
        try:
            live = len(DeltaTable(str(root)).file_uris())
        except Exception:
            continue
        on_disk = sum(1 for p in root.rglob("*.parquet") if "_delta_log" not in p.parts)
        log_files = sum(1 for p in (root / "_delta_log").rglob("*") if p.is_file())
        figures[ref.qualified_name] = {"live": live, "disk": on_disk, "log": log_files}
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--lake", type=Path, default=Path("/tmp/lakehouse-bench-lake"))
    parser.add_argument("--minutes", type=int, default=240)
    parser.add_argument("--compact-min-files", type=int, default=50)
    parser.add_argument("--optimize-minutes", type=float, default=5.0)
    parser.add_argument("--vacuum-minutes", type=float, default=5.0)
    parser.add_argument("--vacuum-retain-hours", type=float, default=0.05)
    parser.add_argument("--log-retention-hours", type=float, default=48.0)
    parser.add_argument("--sample-seconds", type=float, default=10.0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    shutil.rmtree(args.lake, ignore_errors=True)
    generator = Generator()
    for minute in range(args.minutes):
        for obj in generator.minute(minute):
            obj.land(args.lake)
    objects = generator.expected.objects
    per_batch = max(1, round(objects / args.minutes))
    print(f"landed {objects} raw objects for {args.minutes} minutes; {per_batch} per micro-batch")

    maxima: dict[str, dict[str, int]] = {}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(args.sample_seconds):
            for table, figures in count_files(args.lake).items():
                top = maxima.setdefault(table, {k: 0 for k in figures})
                for key, value in figures.items():
                    top[key] = max(top[key], value)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    result = subprocess.run(
        stream_runner.argv(
            args.lake, "--once",
            "--max-files-per-trigger", str(per_batch),
            "--compact-min-files", str(args.compact_min_files),
            "--optimize-minutes", str(args.optimize_minutes),
            "--vacuum-minutes", str(args.vacuum_minutes),
            "--vacuum-retain-hours", str(args.vacuum_retain_hours),
            "--log-retention-hours", str(args.log_retention_hours),
        ),
        env=stream_runner.env(), capture_output=True, text=True, check=False,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    done.set()
    sampler.join()
    if result.returncode != 0:
        print(result.stderr[-5000:], file=sys.stderr)
        return result.returncode

    final = count_files(args.lake)
    for table, figures in final.items():
        top = maxima.setdefault(table, dict(figures))
        for key, value in figures.items():
            top[key] = max(top[key], value)
    from lakehouse.query import open_lake, run_query

    _, batches = run_query(
        "select query_name, count(*), median(duration_ms['triggerExecution'])::int "
        "from ops.stream_progress where input_rows > 0 group by 1 order by 1",
        open_lake(str(args.lake)),
    )
    print(f"job ran {elapsed:.0f} s; micro-batches (query, count, median ms): {batches}")
    header = f"{'table':28} {'live':>6} {'max live':>9} {'on disk':>8} {'max disk':>9} {'log':>6}"
    print(header)
    print("-" * len(header))
    for table in sorted(final):
        f, m = final[table], maxima[table]
        print(
            f"{table:28} {f['live']:>6} {m['live']:>9} {f['disk']:>8} {m['disk']:>9} {f['log']:>6}"
        )
    if args.json:
        report: dict[str, Any] = {
            "minutes": args.minutes,
            "objects": objects,
            "seconds": elapsed,
            "batches": batches,
            "final": final,
            "max": maxima,
            "options": vars(args) | {"lake": str(args.lake), "json": str(args.json)},
        }
        args.json.write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
