"""The landed-log source on MinIO: it gives the envelopes the JSON file source gives for the same
objects (a corrupt line included), reads each logged object once across restarts, and keeps to
maxFilesPerTrigger and AvailableNow."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import Minio
from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.testing import assertDataFrameEqual
from simulated_prices import simple_price_envelope

from lakehouse.landed_log import LandedLog
from lakehouse.raw_zone import object_key
from lakehouse.spark import landed_source
from lakehouse.spark.options import StreamOptions
from lakehouse.spark.queries import read_raw
from lakehouse.spark.session import build_spark_session

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 6, 5, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def lake(minio: Minio) -> Minio:
    """A bucket of this module's own: the counts here are of its objects only."""
    own = Minio(replace(minio.lake, bucket=f"landed-{uuid.uuid4().hex[:8]}"))
    own.client().create_bucket(Bucket=own.lake.bucket)
    return own


@pytest.fixture(scope="module")
def spark(lake: Minio) -> Iterator[SparkSession]:
    keys = {
        "AWS_ACCESS_KEY_ID": lake.lake.access_key,
        "AWS_SECRET_ACCESS_KEY": lake.lake.secret_key,
    }
    patch = pytest.MonkeyPatch()
    patch.setenv("PYSPARK_PYTHON", sys.executable)  # the source's workers need this venv
    session = build_spark_session(
        "landed-source-tests",
        s3_endpoint=lake.lake.endpoint_url,
        master="local[2]",
        extra_conf={
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": "2",
            "spark.hadoop.fs.s3a.access.key": keys["AWS_ACCESS_KEY_ID"],
            "spark.hadoop.fs.s3a.secret.key": keys["AWS_SECRET_ACCESS_KEY"],
            # The source's Python workers reach MinIO with boto3, which reads the environment.
            **{f"spark.executorEnv.{name}": value for name, value in keys.items()},
        },
    )
    session.dataSource.register(landed_source.LandedDataSource)
    try:
        yield session
    finally:
        session.stop()
        patch.undo()


def land(lake: Minio, key: str, body: bytes) -> None:
    """As a collector lands an object: the PUT, then its landed-log entry."""
    lake.client().put_object(Bucket=lake.lake.bucket, Key=key, Body=body)
    LandedLog(lake.client(), lake.lake.bucket).append(key)


def land_minute(lake: Minio, minute: int) -> str:
    envelope = simple_price_envelope(T0, minute, ("bitcoin", "ethereum"), ("usd", "eur"))
    key = object_key(envelope)
    land(lake, key, envelope.to_json_line().encode())
    return key


def landed_stream(spark: SparkSession, lake: Minio, **options: str) -> DataFrame:
    reader = spark.readStream.format(landed_source.NAME)
    for name, value in {"bucket": lake.lake.bucket, "endpoint_url": lake.lake.endpoint_url,
                        **options}.items():  # fmt: skip
        reader = reader.option(name, value)
    return landed_source.envelopes(reader.load())


def run_available_now(frame: DataFrame, checkpoint: Path) -> list[list[Row]]:
    """The rows of each batch of one AvailableNow run on `checkpoint`."""
    batches: list[list[Row]] = []
    query = (
        frame.writeStream.foreachBatch(lambda batch, _: batches.append(batch.collect()))
        .option("checkpointLocation", str(checkpoint)).trigger(availableNow=True).start()
    )  # fmt: skip
    query.awaitTermination(300)
    assert query.exception() is None, query.exception()
    return [rows for rows in batches if rows]


def test_the_landed_source_reads_what_the_file_source_reads(
    spark: SparkSession, lake: Minio, tmp_path: Path
) -> None:
    for minute in range(1, 6):
        land_minute(lake, minute)
    land(
        lake,
        "raw/coingecko/simple_price/date=2026-12-06/hour=05/corrupt.json",
        b'{"source": 1,\n\n',
    )
    (got,) = run_available_now(landed_stream(spark, lake), tmp_path / "c1")

    options = StreamOptions(lake_uri=f"s3a://{lake.lake.bucket}")
    expected = read_raw(spark, options, stream=False)
    assertDataFrameEqual(got, expected.select(*got[0].asDict()))
    assert len(got) == 6 and sum(row["_corrupt_record"] is not None for row in got) == 1

    # A restart reads only what landed since, and each object once, however often it is logged.
    land_minute(lake, 6)
    LandedLog(lake.client(), lake.lake.bucket).append(land_minute(lake, 7))  # logged twice
    (new,) = run_available_now(landed_stream(spark, lake), tmp_path / "c1")
    assert sorted(row["interval_start"] for row in new) == [
        datetime(2026, 12, 6, 5, 5),
        datetime(2026, 12, 6, 5, 6),
    ]


def test_max_files_per_trigger_splits_the_backlog(
    spark: SparkSession, lake: Minio, tmp_path: Path
) -> None:
    total = LandedLog(lake.client(), lake.lake.bucket).entry_seqs_after(-1)
    batches = run_available_now(landed_stream(spark, lake, maxFilesPerTrigger="3"), tmp_path / "c2")
    sizes = [len(rows) for rows in batches]
    assert sum(sizes) == len(total) - 1  # one object is logged twice
    assert len(sizes) == -(-len(total) // 3) and max(sizes) <= 3


def test_a_bad_option_is_named(spark: SparkSession, lake: Minio, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="maxFilesPerTrigger must be a positive whole number"):
        run_available_now(landed_stream(spark, lake, maxFilesPerTrigger="none"), tmp_path / "c3")
