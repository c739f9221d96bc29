"""Catch-up: a backlog of raw objects streamed into silver, against one batch read of them.

    .venv/bin/python bench/catch_up.py --objects 10000

Target (DESIGN.md): the stream job takes at most 1.2x the time of a one-shot batch read. Lands
`--objects` raw envelopes of every endpoint (tests/integration/rawgen.py, some bad) in a local lake
folder, then times, from spark-submit to its exit, in alternation `--runs` times on empty tables:
the stream job with `--once` (availableNow: bronze, silver, quarantine, gold, progress, with the
lease) and `bench/apps/batch_silver.py` (bronze, silver and quarantine written once). Both must
leave the same number of rows in silver.coin_prices. Prints each run, the medians and their ratio.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))

import stream_runner  # noqa: E402
from rawgen import Generator  # noqa: E402

from lakehouse.query import open_lake, run_query  # noqa: E402

BATCH_APP = REPO / "bench" / "apps" / "batch_silver.py"  # a spark-submit app, not a bench


def land(lake: Path, objects: int) -> int:
    """At least `objects` raw objects; the number of silver.coin_prices keys they hold."""
    generator = Generator()
    minute = 0
    while generator.expected.objects < objects:
        for obj in generator.minute(minute):
            obj.land(lake)
        minute += 1
    print(f"landed {generator.expected.objects} raw objects ({minute} minutes of data)")
    return len(generator.expected.coin_prices)


def clear_tables(lake: Path) -> None:
    for child in lake.iterdir():
        if child.name != "raw":
            shutil.rmtree(child)


def timed(command: list[str]) -> float:
    started = time.monotonic()
    result = subprocess.run(
        command, env=stream_runner.env(), capture_output=True, text=True, check=False
    )
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"{command[-3]} failed:\n{result.stderr[-4000:]}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--lake", type=Path, default=Path("/tmp/lakehouse-catch-up-lake"))
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--max-files-per-trigger", type=int, default=1000)
    args = parser.parse_args(argv)

    shutil.rmtree(args.lake, ignore_errors=True)
    prices = land(args.lake, args.objects)
    commands = {
        "stream": stream_runner.argv(
            args.lake, "--once", "--max-files-per-trigger", str(args.max_files_per_trigger)
        ),
        "batch": stream_runner.argv(args.lake, app=BATCH_APP),
    }
    seconds: dict[str, list[float]] = {name: [] for name in commands}
    for run in range(1, args.runs + 1):
        for name, command in commands.items():
            clear_tables(args.lake)
            elapsed = timed(command)
            _, ((rows,),) = run_query(
                "select count(*) from silver.coin_prices", open_lake(str(args.lake))
            )
            if rows != prices:
                raise SystemExit(f"{name}: {rows} rows in silver.coin_prices, expected {prices}")
            seconds[name].append(elapsed)
            print(f"run {run}: {name:6} {elapsed:6.1f} s")
    stream, batch = (statistics.median(seconds[name]) for name in ("stream", "batch"))
    print(
        f"catch-up, raw backlog -> silver: stream median {stream:.1f} s, batch median "
        f"{batch:.1f} s, ratio {stream / batch:.2f} (target <= 1.2)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
