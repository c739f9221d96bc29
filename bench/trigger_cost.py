"""What one trigger of the raw-zone stream costs once many objects have gone through it.

    .venv/bin/python bench/trigger_cost.py [--quick]

Spark's file source lists the whole `raw/` tree on every trigger and keeps a log of every file it
has seen, so a month of collection (over 400,000 objects) could make every micro-batch slower than
the one before. This lands `--first` objects (10,000; quick: 1,000) of every endpoint
(tests/integration/rawgen.py) in a scratch MinIO, lets the job's own source (`bare_stream`) read
them all, and then lands one object per trigger for 16 triggers of 5 s and reads each one's
progress: `latestOffset` (the listing and the seen-files check), `getBatch` and `queryPlanning`,
the planning part of `triggerExecution`. Then it lands more objects up to the next size, lets the
source read them, and measures again. Sizes: 1,000, 10,000 and 100,000 (quick: 1,000 and 10,000).
Target: the planning cost at the largest size within 20% of the cost at the size before it.

Both of the stream's sources are measured on the same objects, one after the other, each on a
checkpoint of its own: `files` (Spark's file source) and `landed` (the landed log, which
`put_all` writes as the collectors do; `--raw-source landed`, the stream's source on an s3a lake).
The file source is measured up to 10,000 objects only: it reads 10,000 objects in about 200 s on
two cores, so 100,000 would take over half an hour, and its listing already grows about fivefold
from 1,000 to 10,000 (156 to 775 ms on 2026-12-07). Its ratio is reported against the same
target, to show why the stream does not use it.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))

import bare_stream
from figures import Figure, run_alone
from rawgen import Generator, RawObject

from lakehouse.config import LakeSettings
from lakehouse.runtime.minio import scratch_minio
from lakehouse.spark.options import RawSource

SECTION = "trigger cost"
PLANNING = ("latestOffset", "getBatch", "queryPlanning")
"""The parts of a trigger's `durationMs` that plan it (listing included), not the write."""
TRIGGERS = 16
SOURCES: tuple[RawSource, ...] = ("files", "landed")
TRIGGER_SECONDS = 5.0
FILES_UP_TO = 10_000
"""The largest size the file source is measured at (see above)."""


class Objects:
    """rawgen's minutes of raw objects, handed out in order."""

    def __init__(self) -> None:
        self.generator = Generator()
        self.minute = 0
        self.pending: list[RawObject] = []

    def take(self, count: int) -> list[RawObject]:
        while len(self.pending) < count:
            self.pending.extend(self.generator.minute(self.minute))
            self.minute += 1
        taken, self.pending = self.pending[:count], self.pending[count:]
        return taken


def catch_up(spark: Any, lake: LakeSettings, source: RawSource) -> None:
    """Let the source read everything landed so far (availableNow, in batches of 2,000 files: one
    batch of 9,000 ran the bench's 1 GiB driver out of heap)."""
    query = bare_stream.start(spark, lake, max_files_per_trigger=2_000, raw_source=source)
    query.awaitTermination()
    if query.exception() is not None:
        raise RuntimeError(f"the catch-up failed: {query.exception()}")


def per_trigger(
    spark: Any, lake: LakeSettings, objects: Objects, source: RawSource
) -> list[dict[str, int]]:
    """`durationMs` of TRIGGERS triggers, each with one new object, at the job's batch size."""
    query = bare_stream.start(spark, lake, trigger_seconds=TRIGGER_SECONDS, raw_source=source)
    try:
        bare_stream.wait_for_progress(query, after=0)
        measured = []
        for _ in range(TRIGGERS):
            seen = len(query.recentProgress)
            bare_stream.put_all(lake, objects.take(1))
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                fresh = [p for p in query.recentProgress[seen:] if p["numInputRows"] > 0]
                if fresh:
                    measured.append(dict(fresh[0]["durationMs"]))
                    break
                time.sleep(0.2)
        return measured
    finally:
        query.stop()


def planning_ms(durations: list[dict[str, int]]) -> float:
    return statistics.median(sum(d.get(part, 0) for part in PLANNING) for d in durations)


def measure(quick: bool = False, env: Mapping[str, str] | None = None) -> list[Figure]:
    sizes = (1_000, 10_000) if quick else (1_000, 10_000, 100_000)
    objects = Objects()
    figures: list[Figure] = []
    planning: dict[tuple[RawSource, int], float] = {}
    with (
        scratch_minio(bare_stream.scratch_home("trigger-cost"), bucket="bench-trigger") as lake,
        bare_stream.spark_on(lake) as spark,
    ):
        landed = 0
        for size in sizes:
            started = time.monotonic()
            landed += bare_stream.put_all(lake, objects.take(size - landed))
            print(f"landed {landed} objects ({time.monotonic() - started:.0f} s)", flush=True)
            for source in (s for s in SOURCES if s == "landed" or size <= FILES_UP_TO):
                started = time.monotonic()
                catch_up(spark, lake, source)
                print(f"{source}: read them ({time.monotonic() - started:.0f} s)", flush=True)
                durations = per_trigger(spark, lake, objects, source)
                landed += len(durations)
                planning[source, size] = planning_ms(durations)
                trigger = statistics.median(d.get("triggerExecution", 0) for d in durations)
                listing = statistics.median(d.get("latestOffset", 0) for d in durations)
                print(f"  {source} at {size:,}: planning {planning[source, size]:.0f} ms, "
                      f"listing {listing:.0f} ms, whole trigger {trigger:.0f} ms "
                      f"(medians of {len(durations)})")  # fmt: skip
                figures += [
                    Figure(SECTION, f"{source}: planning per trigger at {size:,} objects",
                           planning[source, size], "ms", samples=len(durations)),
                    Figure(SECTION, f"{source}: listing (latestOffset) at {size:,} objects",
                           listing, "ms", samples=len(durations)),
                    Figure(SECTION, f"{source}: whole trigger at {size:,} objects", trigger,
                           "ms", samples=len(durations)),
                ]  # fmt: skip
    for source in SOURCES:
        first, second = sorted(size for src, size in planning if src == source)[-2:]
        ratio = (
            planning[source, second] / planning[source, first] if planning[source, first] else None
        )
        figures.append(
            Figure(SECTION, f"{source}: planning at {second:,} / at {first:,}", ratio, "x",
                   "<= 1.2", None if ratio is None else ratio <= 1.2)
        )  # fmt: skip
    return figures


if __name__ == "__main__":
    sys.exit(run_alone(measure, __doc__, "1,000 and 10,000 objects"))
