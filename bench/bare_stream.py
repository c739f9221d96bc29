"""The least a stream of the raw zone can do: the job's own source, appended to one Delta table.

`read_raw` is the stream job's reader of the raw zone (explicit envelope schema,
`maxFilesPerTrigger`; a recursive listing of `raw/`, or with `raw_source="landed"` the landed
log); here its rows go straight into one Delta table, no bronze columns, no parsing, no MERGE, no
lease. The floor benchmark times how soon a landed object is visible through it; the trigger-cost
benchmark reads its per-trigger progress. Both run on a scratch MinIO through s3a
(`lakehouse.runtime.minio.scratch_minio`), as the lake does.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql.streaming import StreamingQuery

from lakehouse.config import LakeSettings
from lakehouse.landed_log import LandedLog
from lakehouse.raw_zone import s3_client
from lakehouse.spark.options import RawSource, StreamOptions
from lakehouse.spark.queries import read_raw
from lakehouse.spark.session import build_spark_session, configure_session

TABLE = "floor/raw_events"
CHECKPOINT = "_checkpoints/floor"


@contextmanager
def spark_on(lake: LakeSettings) -> Iterator[SparkSession]:
    """A local[2] session on the scratch lake, stopped on exit."""
    os.environ["AWS_ACCESS_KEY_ID"] = lake.access_key
    os.environ["AWS_SECRET_ACCESS_KEY"] = lake.secret_key
    os.environ["PYSPARK_PYTHON"] = sys.executable  # the landed source's workers import lakehouse
    spark = build_spark_session(
        "bench_bare_stream",
        s3_endpoint=lake.endpoint_url,
        master="local[2]",
        extra_conf={
            "spark.driver.memory": "2g",
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.sql.shuffle.partitions": "4",
            # The keys of this scratch MinIO, which differ from one section's MinIO to the next;
            # the JVM's environment is fixed when the first section starts it. Each section has a
            # bucket of its own, so Hadoop's cache of file systems (one per bucket) never hands a
            # section another's endpoint; with the cache off, every call made a file system and
            # its thread pools, until the JVM could start no more threads.
            "spark.hadoop.fs.s3a.access.key": lake.access_key,
            "spark.hadoop.fs.s3a.secret.key": lake.secret_key,
            # The landed source's Python workers reach MinIO with boto3 and these keys.
            "spark.executorEnv.AWS_ACCESS_KEY_ID": lake.access_key,
            "spark.executorEnv.AWS_SECRET_ACCESS_KEY": lake.secret_key,
        },
    )
    try:
        yield spark
    finally:
        spark.stop()


def options(
    lake: LakeSettings, max_files_per_trigger: int = 1000, raw_source: RawSource = "files"
) -> StreamOptions:
    return StreamOptions(
        lake_uri=f"s3a://{lake.bucket}",
        s3_endpoint=lake.endpoint_url,
        max_files_per_trigger=max_files_per_trigger,
        raw_source=raw_source,
    )


def suffix(raw_source: RawSource) -> str:
    """What sets apart the bare stream's query, checkpoint and table of one source."""
    return "" if raw_source == "files" else f"_{raw_source}"


def table(raw_source: RawSource) -> str:
    """The bare stream's table in the lake, for one source."""
    return f"{TABLE}{suffix(raw_source)}"


def start(
    spark: SparkSession,
    lake: LakeSettings,
    *,
    trigger_seconds: float | None = None,
    max_files_per_trigger: int = 1000,
    raw_source: RawSource = "files",
) -> StreamingQuery:
    """The bare stream; `trigger_seconds` None: everything available now, then it stops. Each
    source has a table and a checkpoint of its own."""
    opts = options(lake, max_files_per_trigger, raw_source)
    configure_session(spark, opts)
    writer = (
        read_raw(spark, opts)
        .writeStream.format("delta")
        .queryName(f"floor{suffix(raw_source)}")
        .option("checkpointLocation", f"{opts.lake_uri}/{CHECKPOINT}{suffix(raw_source)}")
    )
    if trigger_seconds is None:
        writer = writer.trigger(availableNow=True)
    else:
        writer = writer.trigger(processingTime=f"{trigger_seconds} seconds")
    return writer.start(f"{opts.lake_uri}/{table(raw_source)}")


def put_all(lake: LakeSettings, objects: Iterable[Any], threads: int = 16) -> int:
    """PUT every object (`.put(s3, bucket)`, as tests/integration/rawgen.py makes them), then
    log them in the landed log in that order, as the collectors do."""
    s3 = s3_client(lake)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        keys = list(pool.map(lambda obj: obj.put(s3, lake.bucket) or obj.key, objects))
    LandedLog(s3, lake.bucket).append_all(keys)
    return len(keys)


def wait_for_progress(query: StreamingQuery, after: int, timeout: float = 120.0) -> None:
    """Until the query reported more than `after` progress events."""
    deadline = time.monotonic() + timeout
    while len(query.recentProgress) <= after and time.monotonic() < deadline:
        if query.exception() is not None:
            raise RuntimeError(f"the bare stream failed: {query.exception()}")
        time.sleep(0.2)


def scratch_home(name: str) -> Path:
    """A fresh folder for one section's scratch MinIO."""
    import tempfile

    return Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
