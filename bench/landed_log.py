"""What finding the new entries of the landed log costs as the log grows (issue 11).

    .venv/bin/python bench/landed_log.py [--quick]

The landed log (`lakehouse.landed_log`) is what a raw-zone source can list instead of `raw/`: a
trigger asks for the entries after the last number it read. This fills a scratch MinIO's log to
1,000, 10,000 and 100,000 entries (quick: to 10,000) and times that listing, five entries from
the end, 15 times at each size. Target, as for the trigger's planning: within 20% at the largest
size of the cost at 10,000. It measures the listing only, not a Spark trigger over the log.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bare_stream
from figures import Figure, run_alone

from lakehouse.landed_log import LandedLog, entry_key
from lakehouse.raw_zone import s3_client
from lakehouse.runtime.minio import scratch_minio

SECTION = "landed log"
PROBES = 15


def fill(s3: Any, bucket: str, first: int, end: int) -> None:
    """Entries `first`..`end - 1`, put directly (as if landed), 32 at a time."""

    def put(seq: int) -> None:
        body = json.dumps({"key": f"raw/bench/{seq}.json", "landed_at": "bench"}).encode()
        s3.put_object(Bucket=bucket, Key=entry_key(seq), Body=body)

    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(put, range(first, end)))


def listing_ms(log: LandedLog, end: int) -> float:
    """Median time to list the five entries after a position near the log's end."""
    times = []
    for _ in range(PROBES):
        started = time.perf_counter()
        found = log.entry_seqs_after(end - 6)
        times.append((time.perf_counter() - started) * 1000)
        if found != list(range(end - 5, end)):
            raise RuntimeError(f"the log after {end - 6} listed {found[:8]}")
    return statistics.median(times)


def measure(quick: bool = False) -> list[Figure]:
    sizes = (1_000, 10_000) if quick else (1_000, 10_000, 100_000)
    figures: list[Figure] = []
    cost: dict[int, float] = {}
    with scratch_minio(bare_stream.scratch_home("landed-log"), bucket="bench-landed") as lake:
        s3 = s3_client(lake)
        log = LandedLog(s3, lake.bucket)
        filled = 0
        for size in sizes:
            started = time.monotonic()
            fill(s3, lake.bucket, filled, size)
            filled = size
            cost[size] = listing_ms(log, size)
            print(f"log of {size:,} entries (filled in {time.monotonic() - started:.0f} s): "
                  f"listing after a position {cost[size]:.1f} ms", flush=True)  # fmt: skip
            figures.append(
                Figure(
                    SECTION,
                    f"listing the new entries of a log of {size:,}",
                    cost[size],
                    "ms",
                    samples=PROBES,
                )
            )
    base, top = (1_000, 10_000) if quick else (10_000, 100_000)
    ratio = cost[top] / cost[base]
    figures.append(
        Figure(SECTION, f"listing at {top:,} / at {base:,}", ratio, "x", "<= 1.2", ratio <= 1.2)
    )
    return figures


if __name__ == "__main__":
    sys.exit(run_alone(measure, __doc__, "to 10,000 entries"))
