"""Catch-up: a backlog of raw objects in MinIO streamed into silver, against one batch read of them.

    .venv/bin/python bench/catch_up.py [--objects 10000] [--runs 3]

Target (DESIGN.md): the stream job takes at most 1.2x the time of a one-shot batch read. Lands
`--objects` raw envelopes of every endpoint (tests/integration/rawgen.py, some bad) in a scratch
MinIO (`lakehouse.runtime.minio.scratch_minio`; the lake's store, through s3a, not a local folder),
then times, from spark-submit to its exit, in alternation `--runs` times on empty tables: the stream
job with `--once` (availableNow: bronze, silver, quarantine, gold, progress, with the lease) and
`bench/apps/batch_silver.py` (bronze, silver and quarantine written once). Both must leave the same
number of rows in silver.coin_prices. Prints each run, the medians and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests" / "integration"))

import bare_stream  # noqa: E402
import stream_runner  # noqa: E402
from figures import Figure  # noqa: E402
from rawgen import Generator  # noqa: E402

from lakehouse.config import LakeSettings  # noqa: E402
from lakehouse.query import delta_storage_options, open_lake, run_query  # noqa: E402
from lakehouse.raw_zone import s3_client  # noqa: E402
from lakehouse.runtime.minio import scratch_minio  # noqa: E402

SECTION = "catch-up"
BATCH_APP = REPO / "bench" / "apps" / "batch_silver.py"  # a spark-submit app, not a bench


def land(lake: LakeSettings, objects: int) -> int:
    """At least `objects` raw objects; the number of silver.coin_prices keys they hold."""
    generator = Generator()
    minute, batch = 0, []
    while generator.expected.objects < objects:
        batch.extend(generator.minute(minute))
        minute += 1
    bare_stream.put_all(lake, batch)
    print(f"landed {generator.expected.objects} raw objects ({minute} minutes of data)")
    return len(generator.expected.coin_prices)


COLLECTED = ("raw/", "_landed/")
"""What the collectors wrote: the raw zone and its landed log, which the stream reads on an s3a
lake (without the log, a run would find nothing to read)."""


def clear_tables(lake: LakeSettings) -> None:
    """Everything the stream wrote: tables, checkpoints, the lease; not what was collected."""
    s3 = s3_client(lake)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=lake.bucket):
        keys = [
            {"Key": o["Key"]}
            for o in page.get("Contents", [])
            if not o["Key"].startswith(COLLECTED)
        ]
        for start in range(0, len(keys), 1000):
            s3.delete_objects(Bucket=lake.bucket, Delete={"Objects": keys[start : start + 1000]})


def timed(command: list[str], lake: LakeSettings) -> float:
    keys = {"AWS_ACCESS_KEY_ID": lake.access_key, "AWS_SECRET_ACCESS_KEY": lake.secret_key}
    started = time.monotonic()
    result = subprocess.run(
        command, env=stream_runner.env(keys), capture_output=True, text=True, check=False
    )
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command[-8:])} failed:\n{result.stderr[-4000:]}")
    return elapsed


def measure(
    quick: bool = False,
    env: Mapping[str, str] | None = None,
    objects: int | None = None,
    runs: int | None = None,
    max_files_per_trigger: int = 1000,
) -> list[Figure]:
    objects = objects or (2_000 if quick else 10_000)
    runs = runs or (1 if quick else 3)
    seconds: dict[str, list[float]] = {"stream": [], "batch": []}
    with scratch_minio(bare_stream.scratch_home(SECTION), bucket="bench-catch-up") as lake:
        prices = land(lake, objects)
        where = ("s3a://" + lake.bucket, "--s3-endpoint", lake.endpoint_url)
        commands = {
            "stream": stream_runner.argv(
                where[0], *where[1:], "--once", "--max-files-per-trigger",
                str(max_files_per_trigger),
            ),
            "batch": stream_runner.argv(where[0], *where[1:], app=BATCH_APP),
        }  # fmt: skip
        for run in range(1, runs + 1):
            for name, command in commands.items():
                clear_tables(lake)
                elapsed = timed(command, lake)
                conn = open_lake(lake.uri(""), delta_storage_options(lake))
                _, ((rows,),) = run_query("select count(*) from silver.coin_prices", conn)
                if rows != prices:
                    raise SystemExit(
                        f"{name}: {rows} rows in silver.coin_prices, expected {prices}"
                    )
                seconds[name].append(elapsed)
                print(f"run {run}: {name:6} {elapsed:6.1f} s", flush=True)
    stream, batch = (statistics.median(seconds[name]) for name in ("stream", "batch"))
    ratio = stream / batch
    print(f"catch-up of {objects:,} objects: stream median {stream:.1f} s, batch median "
          f"{batch:.1f} s, ratio {ratio:.2f} (target <= 1.2)")  # fmt: skip
    return [
        Figure(SECTION, f"stream --once, {objects:,} objects on MinIO", stream, samples=runs),
        Figure(SECTION, f"one batch read, {objects:,} objects on MinIO", batch, samples=runs),
        Figure(SECTION, "stream / batch", ratio, "x", "<= 1.2", ratio <= 1.2, runs),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--max-files-per-trigger", type=int, default=1000)
    args = parser.parse_args(argv)
    measure(objects=args.objects, runs=args.runs, max_files_per_trigger=args.max_files_per_trigger)
    return 0


if __name__ == "__main__":
    sys.exit(main())
