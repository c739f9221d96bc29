"""What one micro-batch of one price object costs the stream job, on a machine left to it alone.

    .venv/bin/python bench/batch_cost.py [--quick]

The running stack's freshness figures move by 20-30% from one run of the same code to the next on
two cores (the collectors, the scheduler and the probes share the machine with the driver), so they
cannot tell a change to the micro-batch apart from noise. This one runs the job alone: it lands
30 /simple/price envelopes (tests/integration/rawgen.py; quick: 10) in a scratch MinIO, runs the
stream job on them with `--once --max-files-per-trigger 1` (one object per micro-batch, back to
back, as a price landing alone on the running stack is read: bronze, silver, quarantine,
progress, the lease), and reads `ops.stream_progress`:
- the whole micro-batch (`triggerExecution`), which is how long a landing that arrives during a
  batch waits for the next one;
- the MERGE into silver.coin_prices;
- the gold refresh that `--once` ends with (`lakehouse.spark.gold_refresh`): one for every batch's
  silver commits, where the running stack refreshes every `--gold-every-seconds`;
- the job's CPU per batch: the CPU of the run (spark-submit, the JVM, the Python driver) less the
  CPU of a run with nothing to read, over the number of batches (the gold refresh included).
Each batch adds a file or more to every table it writes, as on the running stack between two
OPTIMIZEs, so the median of the last third of the batches against the first third shows whether a
batch costs more as its tables gain files.
"""

from __future__ import annotations

import resource
import statistics
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests" / "integration"))

import bare_stream  # noqa: E402
import stream_runner  # noqa: E402
from catch_up import clear_tables, timed  # noqa: E402
from figures import Figure, run_alone  # noqa: E402
from rawgen import Generator, RawObject  # noqa: E402

from lakehouse.config import LakeSettings  # noqa: E402
from lakehouse.query import delta_storage_options, open_lake, run_query  # noqa: E402
from lakehouse.runtime.minio import scratch_minio  # noqa: E402
from lakehouse.tables import GOLD_REFRESH  # noqa: E402

SECTION = "batch cost"
PRICES = "raw/coingecko/simple_price/"


def price_objects(count: int) -> list[RawObject]:
    """The first `count` /simple/price envelopes of rawgen's minutes (a few are bad ones)."""
    generator, minute = Generator(), 0
    found: list[RawObject] = []
    while len(found) < count:
        found += [o for o in generator.minute(minute) if o.key.startswith(PRICES)]
        minute += 1
    return found[:count]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_job(lake: LakeSettings) -> tuple[float, float]:
    """The stream job with `--once`, one object per batch: its wall time and CPU seconds."""
    command = stream_runner.argv(
        "s3a://" + lake.bucket, "--s3-endpoint", lake.endpoint_url,
        "--once", "--max-files-per-trigger", "1",
    )  # fmt: skip
    cpu = children_cpu()
    wall = timed(command, lake)
    return wall, children_cpu() - cpu


def batch_durations(lake: LakeSettings) -> list[tuple[int, int | None]]:
    """Per micro-batch with input: the whole trigger and the silver.coin_prices MERGE, in ms."""
    return query_lake(
        lake,
        "select duration_ms['triggerExecution'], duration_ms['write silver.coin_prices'] "
        f"from ops.stream_progress where query_name <> '{GOLD_REFRESH}' and input_rows > 0 "
        "order by batch_id",
    )


def gold_refreshes(lake: LakeSettings) -> list[tuple[int, int, int | None]]:
    """Per gold refresh: the silver commits it covered, the whole refresh and its slowest gold
    write, in ms."""
    return query_lake(
        lake,
        "select input_rows, duration_ms['triggerExecution'], "
        "greatest(duration_ms['write gold.coin_ohlc'], duration_ms['write gold.price_anomalies']) "
        f"from ops.stream_progress where query_name = '{GOLD_REFRESH}' order by batch_started_at",
    )


def query_lake(lake: LakeSettings, sql: str) -> list[tuple[Any, ...]]:
    conn = open_lake(lake.uri(""), delta_storage_options(lake))
    _, rows = run_query(sql, conn)
    return [tuple(row) for row in rows]


def median_of(values: list[int | None]) -> float | None:
    present = [v / 1000 for v in values if v is not None]
    return round(statistics.median(present), 2) if present else None


def measure(quick: bool = False, env: Mapping[str, str] | None = None) -> list[Figure]:
    count = 10 if quick else 30
    with scratch_minio(
        bare_stream.scratch_home(SECTION.replace(" ", "-")), bucket="bench-batch-cost"
    ) as lake:
        idle_wall, idle_cpu = run_job(lake)  # nothing landed yet: start-up, tables, exit
        print(f"the job with nothing to read: {idle_wall:.1f} s, {idle_cpu:.1f} s of CPU")
        clear_tables(lake)
        bare_stream.put_all(lake, price_objects(count))
        wall, cpu = run_job(lake)
        batches = batch_durations(lake)
        refreshes = gold_refreshes(lake)
    if len(batches) != count:
        raise SystemExit(f"{len(batches)} micro-batches with input, expected {count}")
    whole, silver_merge = (median_of(list(column)) for column in zip(*batches, strict=True))
    third = count // 3
    first, last = (median_of([b[0] for b in part]) for part in (batches[:third], batches[-third:]))
    per_batch_cpu = (cpu - idle_cpu) / count
    covered, refresh, gold_write = refreshes[-1] if refreshes else (0, None, None)
    print(f"{count} one-object micro-batches in {wall:.0f} s ({cpu:.0f} s of CPU): median "
          f"batch {whole:.2f} s (first third {first:.2f} s, last third {last:.2f} s), silver "
          f"MERGE {silver_merge} s; the gold refresh at the end covered {covered} silver commits "
          f"in {median_of([refresh])} s (slowest gold write {median_of([gold_write])} s); CPU per "
          f"batch {per_batch_cpu:.2f} s")  # fmt: skip
    return [
        Figure(SECTION, "one-object micro-batch (triggerExecution) p50", whole, samples=count),
        Figure(SECTION, "the same, last third / first third of the batches",
               last / first if first and last else None, "x", samples=third),
        Figure(SECTION, "MERGE into silver.coin_prices p50", silver_merge, samples=count),
        Figure(SECTION, f"gold refresh of the {count} batches' commits", median_of([refresh]),
               samples=1),
        Figure(SECTION, "CPU per micro-batch (job's CPU less an idle run's, per batch; the gold "
               "refresh included)", per_batch_cpu, samples=count),
    ]  # fmt: skip


if __name__ == "__main__":
    sys.exit(run_alone(measure, __doc__, "10 objects instead of 30"))
