"""The floor: how soon a landed object is visible through the barest stream with the job's trigger.

    .venv/bin/python bench/floor.py [--quick]

The same probes as the stack's freshness (collector envelopes, timed from the object's
LastModified to the first read that returns it, watched the same way: `NewestRows`), landed in a
scratch MinIO and streamed by `bare_stream` (the job's raw-zone source, the landed log as on the
stack, appended to one Delta table, `--trigger-seconds` of the job, 5 s) instead of the whole
medallion. What the stack adds on top of this is the cost of bronze, parsing, MERGE and gold;
the ratio stack p95 / floor p95 is the figure (target <= 1.5).

It runs after the stack's figures, and a running stack's stream is paused meanwhile (`lakehouse
stream stop`, then `start`), so that the floor is measured alone on the machine, not beside it.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bare_stream
import stack_latency
from figures import Figure, run_alone, spread

from lakehouse.config import LakeSettings, Settings
from lakehouse.landed_log import LandedLog
from lakehouse.query import delta_storage_options
from lakehouse.raw_zone import RawZoneWriter, s3_client
from lakehouse.runtime.minio import scratch_minio
from lakehouse.spark.control import run_cli
from lakehouse.spark.options import RawSource, StreamOptions

SECTION = "floor"
TRIGGER_SECONDS = StreamOptions.trigger_seconds
"""The job's default trigger (the DAG passes no other)."""
RAW_SOURCE: RawSource = "landed"
"""The source the stack's stream reads a new bucket lake with (`--raw-source auto`)."""


@contextmanager
def stack_stream_paused(env: Mapping[str, str] | None) -> Iterator[None]:
    """The running stack's stream driver stopped for the block, and allowed to start after it."""
    settings = Settings.from_env(env)
    if not stack_latency.stack_is_up(settings):
        yield
        return
    print("pausing the stack's stream (lakehouse stream stop)")
    run_cli(settings.lake, "stop", None, wait=180)
    try:
        yield
    finally:
        run_cli(settings.lake, "start", None)


def bare_table(lake: LakeSettings) -> stack_latency.NewestRows:
    """The bare stream's table, followed as the stack's probes follow silver."""
    uri = f"s3://{lake.bucket}/{bare_stream.table(RAW_SOURCE)}"
    return stack_latency.NewestRows(uri, delta_storage_options(lake))


def probe(lake: LakeSettings, count: int, seed: int) -> list[float]:
    """Land `count` probes at uneven moments; seconds from each LastModified to visible."""
    s3 = s3_client(lake)
    writer = RawZoneWriter(s3, lake.bucket, landed=LandedLog(s3, lake.bucket))  # as collectors
    table = bare_table(lake)
    rng = random.Random(seed)
    landed: dict[str, datetime] = {}
    seen: dict[str, float] = {}
    next_landing = time.monotonic()
    deadline = time.monotonic() + stack_latency.PROBE_TIMEOUT + count * 9
    while time.monotonic() < deadline and len(seen) < count:
        if len(landed) < count and time.monotonic() >= next_landing:
            minute = stack_latency.EPOCH + timedelta(minutes=1 + len(landed))
            key = writer.write(stack_latency.probe_envelope(minute, len(landed), seed)).key
            landed[key] = stack_latency.last_modified(s3, lake.bucket, key)
            next_landing = time.monotonic() + rng.uniform(*stack_latency.PROBE_EVERY)
        if table.changed():  # a probe becomes visible only with a new commit
            now = datetime.now(UTC)
            files = table.values("source_file")
            visible = {path.split(f"{lake.bucket}/", 1)[-1] for path in files}
            for key in set(landed) - set(seen):
                if key in visible:
                    seen[key] = (now - landed[key]).total_seconds()
                    print(f"  probe {len(seen):2d}: visible after {seen[key]:5.1f} s")
        time.sleep(0.25)
    return list(seen.values())


def measure(quick: bool = False, env: Mapping[str, str] | None = None) -> list[Figure]:
    count = 10 if quick else 30
    with (
        stack_stream_paused(env),
        scratch_minio(bare_stream.scratch_home(SECTION), bucket="bench-floor") as lake,
        bare_stream.spark_on(lake) as spark,
    ):
        # The source needs `raw/` to exist: one envelope before the start, not timed.
        warm_up = stack_latency.probe_envelope(stack_latency.EPOCH, 0, 0)
        s3 = s3_client(lake)
        RawZoneWriter(s3, lake.bucket, landed=LandedLog(s3, lake.bucket)).write(warm_up)
        query = bare_stream.start(
            spark, lake, trigger_seconds=TRIGGER_SECONDS, raw_source=RAW_SOURCE
        )
        try:
            bare_stream.wait_for_progress(query, after=0)
            delays = probe(lake, count, seed=int(time.time()))
        finally:
            query.stop()
    figures = spread(SECTION, f"landed -> visible, bare stream every {TRIGGER_SECONDS:g} s", delays)
    figures.append(Figure(SECTION, "probes never visible", count - len(delays), "", "0",
                          len(delays) == count))  # fmt: skip
    return figures


if __name__ == "__main__":
    sys.exit(run_alone(measure, __doc__, "10 probes instead of 30"))
