"""The idempotent Delta sinks on a real Delta session, and the session a micro-batch runs in.

A replayed micro-batch (same txnAppId and txnVersion) must write nothing, for appends and for
MERGE; several targets of one foreachBatch use distinct app ids. The conf a foreachBatch sets on
its batch's session must not leak into the driver's session (Spark clones the session per query).
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType, TimestampType

from lakehouse import tables
from lakehouse.spark import sinks
from lakehouse.spark.control import Lease, LocalStore, lease_key, read_lease
from lakehouse.spark.lease import HadoopStore, LeaseHeld, LeaseLost, StreamLease

pytestmark = pytest.mark.integration

SCHEMA = StructType(
    [
        StructField("id", LongType(), nullable=False),
        StructField("value", StringType()),
        StructField("fetched_at", TimestampType()),
        StructField("source_file", StringType()),
    ]
)
T1 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
T2 = datetime(2026, 1, 1, 12, 5, tzinfo=UTC)


def rows(spark: SparkSession, location: str) -> list[tuple[Any, ...]]:
    df = spark.read.format("delta").load(location)
    return sorted(tuple(r) for r in df.select("id", "value").collect())


def test_replayed_appends_and_merges_write_nothing(
    delta_spark: SparkSession, tmp_path: Path
) -> None:
    spark = delta_spark
    location = str(tmp_path / "t")
    sinks.ensure_table(spark, location, SCHEMA)
    first = spark.createDataFrame([(1, "a", T1, "f1"), (2, "b", T1, "f1")], SCHEMA)
    txn = sinks.Txn("q:append", 0)
    sinks.append_batch(first, location, txn)
    sinks.append_batch(first, location, txn)  # the replay after a crash
    assert rows(spark, location) == [(1, "a"), (2, "b")]

    other = sinks.Txn("q:other-table", 0)  # another target of the same batch: its own app id
    merged = str(tmp_path / "m")
    sinks.ensure_table(spark, merged, SCHEMA)
    sinks.merge_batch(first, merged, ("id",), ("fetched_at",), txn=other)
    newer = spark.createDataFrame([(1, "A", T2, "f2"), (3, "c", T2, "f2")], SCHEMA)
    sinks.merge_batch(newer, merged, ("id",), ("fetched_at",), txn=sinks.Txn("q:other-table", 1))
    assert rows(spark, merged) == [(1, "A"), (2, "b"), (3, "c")]

    # Batch 1 replayed with different content (it never is; this shows it is skipped entirely).
    sinks.merge_batch(
        spark.createDataFrame([(4, "d", T2, "f3")], SCHEMA),
        merged, ("id",), ("fetched_at",), txn=sinks.Txn("q:other-table", 1),
    )  # fmt: skip
    assert rows(spark, merged) == [(1, "A"), (2, "b"), (3, "c")]
    # An older row never overwrites a newer one, even in a later batch.
    older = spark.createDataFrame([(1, "stale", T1, "f0")], SCHEMA)
    sinks.merge_batch(older, merged, ("id",), ("fetched_at",), txn=sinks.Txn("q:other-table", 2))
    assert rows(spark, merged) == [(1, "A"), (2, "b"), (3, "c")]
    assert spark.conf.get(sinks.TXN_APP_ID, None) is None


def test_foreach_batch_conf_stays_in_the_query_session(
    delta_spark: SparkSession, tmp_path: Path
) -> None:
    spark = delta_spark
    seen: list[tuple[bool, str | None]] = []

    def batch_fn(batch: Any, batch_id: int) -> None:
        session = batch.sparkSession
        session.conf.set("lakehouse.test.marker", f"batch-{batch_id}")
        seen.append((session is spark, session.conf.get("lakehouse.test.marker", None)))

    source = tmp_path / "in"
    source.mkdir()
    (source / "a.json").write_text('{"id": 1}\n')
    query = (
        spark.readStream.schema("id long")
        .json(str(source))
        .writeStream.foreachBatch(batch_fn)
        .option("checkpointLocation", str(tmp_path / "cp"))
        .trigger(availableNow=True)
        .start()
    )
    query.awaitTermination()
    assert seen == [(False, "batch-0")]
    assert spark.conf.get("lakehouse.test.marker", None) is None


def test_lease_refuses_a_second_driver_until_the_first_expires(
    delta_spark: SparkSession, tmp_path: Path
) -> None:
    store = HadoopStore(delta_spark, str(tmp_path))
    first = StreamLease(store, ttl_seconds=2.0, owner="host-a:1:aaaa")
    first.acquire()
    second = StreamLease(store, ttl_seconds=2.0, owner="host-b:2:bbbb")
    with pytest.raises(LeaseHeld, match="host-a:1:aaaa"):
        second.acquire(wait_seconds=0)
    first.renew()
    # The first driver dies without releasing: the second gets the lease once it expired.
    second.acquire(wait_seconds=10, poll=0.2)
    lease = read_lease(LocalStore(tmp_path))
    assert lease is not None and lease.owner == "host-b:2:bbbb"
    with pytest.raises(Exception, match="now held by host-b"):
        first.renew()
    second.release()
    assert read_lease(LocalStore(tmp_path)) is None


def test_lease_expiry_is_judged_on_the_lakes_clock(
    delta_spark: SparkSession, tmp_path: Path
) -> None:
    """What counts is how long ago the lease object was written, not the clock of its writer."""
    store, local = HadoopStore(delta_spark, str(tmp_path)), LocalStore(tmp_path)
    lease_file = tmp_path / lease_key()
    # A writer whose clock runs 10 minutes ahead: its lease says "live" long after it died.
    ahead = Lease.new("fast-clock:1:aaaa", ttl_seconds=2.0, acquired_at=time.time() + 600)
    local.write(lease_key(), replace(ahead, expires_at=time.time() + 600).to_json().encode())
    stale = time.time() - 10
    os.utime(lease_file, (stale, stale))
    taker = StreamLease(store, ttl_seconds=2.0, owner="host-b:2:bbbb")
    taker.acquire(wait_seconds=0)  # expired on the lake: taken at once
    taker.release()
    # A writer whose clock runs 10 minutes behind: its fresh lease looks expired to it.
    behind = Lease.new("slow-clock:3:cccc", ttl_seconds=30.0)
    local.write(lease_key(), replace(behind, expires_at=time.time() - 600).to_json().encode())
    with pytest.raises(LeaseHeld, match="slow-clock:3:cccc"):
        StreamLease(store, ttl_seconds=30.0, owner="host-b:2:bbbb").acquire(wait_seconds=0)


def test_the_fence_refuses_a_paused_driver_and_a_driver_whose_lease_was_taken(
    delta_spark: SparkSession, tmp_path: Path
) -> None:
    store = HadoopStore(delta_spark, str(tmp_path))
    paused = StreamLease(store, ttl_seconds=3.0, owner="host-a:1:aaaa")
    paused.acquire()
    paused.check_fence()  # just acquired: may commit
    time.sleep(3.0 - paused.margin + 0.5)  # no renewal ran: as if SIGSTOPped
    with pytest.raises(LeaseLost, match="paused or cut off"):
        paused.check_fence()
    assert paused.lost_reason is not None

    taken = StreamLease(store, ttl_seconds=30.0, owner="host-c:3:cccc")
    taken.acquire(wait_seconds=10, poll=0.2)
    taken.check_fence()
    other = Lease.new("host-d:4:dddd", ttl_seconds=30.0)
    store.write(lease_key(), other.to_json().encode(), if_absent=False, if_etag=None)
    with pytest.raises(LeaseLost, match="now held by host-d:4:dddd"):
        taken.check_fence()


def test_lease_on_minio_uses_conditional_writes(delta_spark: SparkSession, minio: Any) -> None:
    """put-if-absent and compare-and-swap on S3: a stale writer cannot overwrite the lease."""
    lake = minio.lake
    conf = delta_spark._jsc.hadoopConfiguration()
    for key, value in {
        "fs.s3a.endpoint": lake.endpoint_url,
        "fs.s3a.path.style.access": "true",
        "fs.s3a.connection.ssl.enabled": "false",
        "fs.s3a.access.key": lake.access_key,
        "fs.s3a.secret.key": lake.secret_key,
        "fs.s3a.create.conditional.enabled": "true",
        "fs.s3a.impl.disable.cache": "true",
    }.items():
        conf.set(key, value)
    store = HadoopStore(delta_spark, f"s3a://{lake.bucket}/lease-test")
    assert store.conditional
    assert store.write("k", b"one", if_absent=True, if_etag=None)
    assert not store.write("k", b"two", if_absent=True, if_etag=None)  # exists: refused
    first = store.read("k")
    assert first is not None and first.data == b"one" and first.etag
    assert store.write("k", b"three", if_absent=False, if_etag=first.etag)
    assert not store.write("k", b"four", if_absent=False, if_etag=first.etag)  # stale etag
    latest = store.read("k")
    assert latest is not None and latest.data == b"three"

    a = StreamLease(store, ttl_seconds=30.0, owner="host-a:1:aaaa")
    a.acquire()
    with pytest.raises(LeaseHeld):
        StreamLease(store, ttl_seconds=30.0, owner="host-b:2:bbbb").acquire()
    a.renew()
    a.release()
    assert store.read("_leases/lakehouse_stream.json") is None


def test_a_null_never_overwrites_a_stored_value_in_silver(
    delta_spark: SparkSession, tmp_path: Path
) -> None:
    spark = delta_spark
    silver, gold = str(tmp_path / "silver"), str(tmp_path / "gold")
    for location in (silver, gold):
        sinks.ensure_table(spark, location, SCHEMA)
    good = spark.createDataFrame([(1, "good", T1, "f1")], SCHEMA)
    newer_null = spark.createDataFrame([(1, None, T2, "f2")], SCHEMA)

    sinks.merge_batch(good, silver, ("id",), ("fetched_at",), txn=sinks.Txn("q:silver", 0))
    sinks.merge_batch(newer_null, silver, ("id",), ("fetched_at",), txn=sinks.Txn("q:silver", 1))
    sinks.merge_batch(good, gold, ("id",), None, txn=sinks.Txn("q:gold", 0))
    sinks.merge_batch(newer_null, gold, ("id",), None, txn=sinks.Txn("q:gold", 1))

    stored = spark.read.format("delta").load(silver).collect()
    assert [(r.id, r.value, r.source_file) for r in stored] == [(1, "good", "f2")]
    assert rows(spark, gold) == [(1, None)]  # gold rows are recomputed: replaced whole


def test_a_finer_price_is_never_replaced_by_a_coarser_one_also_in_an_upgraded_table(
    delta_spark: SparkSession, tmp_path: Path
) -> None:
    """A lake written before prices had a resolution gains the columns, its rows count as minutes,
    and then a later-fetched hourly point never replaces a minute; a later minute still does."""
    spark, spec = delta_spark, tables.SILVER_COIN_PRICES
    location = str(tmp_path / "coin_prices")
    new_columns = ("resolution", "resolution_rank")
    legacy = StructType([f for f in spec.schema.fields if f.name not in new_columns])
    minute = datetime(2026, 1, 1, 12, 0)

    def price(value: float, fetched: datetime, resolution: str | None, file: str) -> dict[str, Any]:
        row: dict[str, Any] = {
            "coin_id": "bitcoin", "vs_currency": "usd", "price_ts": minute, "price": value,
            "observed_at": minute, "mode": "live" if file == "live" else "history",
            "fetched_at": fetched, "source_file": file,
        }  # fmt: skip
        if resolution is not None:
            row |= {"resolution": resolution, "resolution_rank": tables.RESOLUTION_RANK[resolution]}
        return row

    def batch(*rows: dict[str, Any]) -> Any:
        return spark.createDataFrame(list(rows), spec.schema)  # dicts: columns by name

    sinks.ensure_table(spark, location, legacy)
    spark.createDataFrame([price(100.0, T1, None, "live")], legacy).write.format("delta").mode(
        "append"
    ).save(location)

    sinks.ensure_table(spark, location, spec.schema, fill=spec.fill)
    sinks.ensure_table(spark, location, spec.schema, fill=spec.fill)  # a restart: nothing to do

    def stored() -> list[tuple[Any, ...]]:
        df = spark.read.format("delta").load(location)
        return [tuple(r) for r in df.select("price", "resolution", "resolution_rank").collect()]

    assert stored() == [(100.0, "1m", 4)]
    versions = DeltaTable.forPath(spark, location).history().count()
    assert versions == 4  # create, append, add columns, fill; the restart committed nothing

    merge = partial(sinks.merge_batch, location=location, keys=spec.keys, order_by=spec.order)
    merge(batch(price(90.0, T2, "1h", "day")), txn=sinks.Txn("q:silver", 0))
    assert stored() == [(100.0, "1m", 4)]  # the later hourly point does not replace the minute
    merge(batch(price(101.0, T2, "1m", "minutely")), txn=sinks.Txn("q:silver", 1))
    assert stored() == [(101.0, "1m", 4)]  # at equal resolution the newer fetch wins


def test_a_merge_within_key_ranges_reads_only_the_files_they_overlap(
    delta_spark: SparkSession, tmp_path: Path
) -> None:
    """Three days in three files; the files of the first and the last day are then lost from
    disk, so a MERGE that opens them fails: bounded by the batch's range it never does."""
    spark, location = delta_spark, str(tmp_path / "prices")
    schema = StructType([*SCHEMA.fields, StructField("ts", TimestampType(), nullable=False)])
    days = [datetime(2026, 1, day, 12, tzinfo=UTC) for day in (1, 2, 3)]
    sinks.ensure_table(spark, location, schema)
    for day in days:
        sinks.append_batch(
            spark.createDataFrame([(1, "old", T1, "f1", day)], schema),
            location,
            sinks.Txn("q:load", day.day),
        )
    files = spark.read.format("delta").load(location).select("ts", F.input_file_name())
    for ts, uri in files.collect():
        if ts.day != 2:
            Path(uri.removeprefix("file:")).unlink()

    batch = spark.createDataFrame(
        [(1, "new", T2, "f2", days[1]), (2, "added", T2, "f2", days[1])], schema
    )
    merge = partial(sinks.merge_batch, batch, location, ("id", "ts"), ("fetched_at",))
    with pytest.raises(Exception, match=r"(?i)not exist|FileNotFound|FILE_NOT_EXIST"):
        merge(txn=sinks.Txn("q:merge", 0))  # unbounded: it opens every file
    lo = int(days[1].timestamp() * 1_000_000)
    merge(txn=sinks.Txn("q:merge", 1), key_ranges=sinks.key_ranges({"ts": (lo, lo)}))

    day_two = spark.read.format("delta").load(location).where(F.col("ts") == F.lit(days[1]))
    assert sorted((r.id, r.value) for r in day_two.collect()) == [(1, "new"), (2, "added")]
