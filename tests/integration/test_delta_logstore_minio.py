"""Delta commits on s3a are fenced by conditional PUTs (lakehouse ConditionalPutLogStore).

Delta's default S3 log store only keeps two writers of one JVM from creating the same log entry;
ours makes S3 (here MinIO) refuse the second PUT of `_delta_log/<version>.json`, so a stale driver
cannot overwrite a commit, and reports it as the FileAlreadyExistsException Delta retries on.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from delta.tables import DeltaTable
from py4j.protocol import Py4JJavaError
from pyspark.sql import SparkSession

from lakehouse.spark.lease import hold_log_store_commits
from lakehouse.spark.packages import LOGSTORE_CLASS
from lakehouse.spark.session import build_spark_session

pytestmark = pytest.mark.integration

VERSION_0 = "_delta_log/00000000000000000000.json"
VERSION_1 = "_delta_log/00000000000000000001.json"


@pytest.fixture(scope="module")
def s3a_spark(minio: Any) -> Iterator[SparkSession]:
    """A session built the project's way, pointed at the test MinIO."""
    lake = minio.lake
    spark = build_spark_session(
        "lakehouse-logstore-tests",
        s3_endpoint=lake.endpoint_url,
        master="local[1]",
        extra_conf={
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": "1",
            "spark.databricks.delta.snapshotPartitions": "1",
            # The driver reads these from its environment; the test's MinIO has its own keys.
            "spark.hadoop.fs.s3a.access.key": lake.access_key,
            "spark.hadoop.fs.s3a.secret.key": lake.secret_key,
        },
    )
    try:
        yield spark
    finally:
        spark.stop()


def table_prefix() -> str:
    return f"logstore-test/{uuid.uuid4().hex}"


class LogStore:
    """The log store class driven directly through the session's JVM, as Delta drives it."""

    def __init__(self, spark: SparkSession, root: str, **hadoop_conf: str) -> None:
        self._jvm: Any = spark._jvm
        self._conf = self._jvm.org.apache.hadoop.conf.Configuration(
            spark._jsc.hadoopConfiguration()
        )
        for key, value in hadoop_conf.items():
            self._conf.set(key.replace("_", "."), value)
        self._root = root
        package: Any = self._jvm
        for part in LOGSTORE_CLASS.split("."):
            package = getattr(package, part)
        self.store = package(self._conf)

    def write(self, key: str, lines: list[str], *, overwrite: bool = False) -> None:
        actions = self._jvm.java.util.ArrayList()
        for line in lines:
            actions.add(line)
        path = self._jvm.org.apache.hadoop.fs.Path(f"{self._root}/{key}")
        self.store.write(path, actions.iterator(), overwrite, self._conf)


def java_class(exc: Py4JJavaError) -> str:
    return str(exc.java_exception.getClass().getName())


def cause_class(exc: Py4JJavaError) -> str:
    cause = exc.java_exception.getCause()
    return "" if cause is None else str(cause.getClass().getName())


def test_a_second_create_of_a_log_entry_is_refused_and_the_first_stays(
    s3a_spark: SparkSession, minio: Any
) -> None:
    s3, bucket, prefix = minio.client(), minio.lake.bucket, table_prefix()
    store = LogStore(s3a_spark, f"s3a://{bucket}/{prefix}")
    store.write(VERSION_0, ['{"commitInfo":{"writer":"first"}}'])
    first = s3.get_object(Bucket=bucket, Key=f"{prefix}/{VERSION_0}")
    first_body = first["Body"].read()

    with pytest.raises(Py4JJavaError) as refused:
        store.write(VERSION_0, ['{"commitInfo":{"writer":"stale"}}'])

    assert java_class(refused.value) == "java.nio.file.FileAlreadyExistsException"
    assert cause_class(refused.value) == "org.apache.hadoop.fs.s3a.RemoteFileChangedException"
    again = s3.get_object(Bucket=bucket, Key=f"{prefix}/{VERSION_0}")
    assert again["Body"].read() == first_body == b'{"commitInfo":{"writer":"first"}}\n'
    assert again["ETag"] == first["ETag"]


def test_overwrite_replaces_the_object(s3a_spark: SparkSession, minio: Any) -> None:
    """Delta overwrites only files it may (e.g. _last_checkpoint): an ordinary PUT."""
    s3, bucket, prefix = minio.client(), minio.lake.bucket, table_prefix()
    store = LogStore(s3a_spark, f"s3a://{bucket}/{prefix}")
    store.write("_delta_log/_last_checkpoint", ["one"])
    store.write("_delta_log/_last_checkpoint", ["two"], overwrite=True)
    body = s3.get_object(Bucket=bucket, Key=f"{prefix}/_delta_log/_last_checkpoint")["Body"].read()
    assert body == b"two\n"


def test_a_table_commits_through_the_log_store_and_a_stale_writer_is_fenced(
    s3a_spark: SparkSession, minio: Any
) -> None:
    spark, bucket, prefix = s3a_spark, minio.lake.bucket, table_prefix()
    location = f"s3a://{bucket}/{prefix}"
    spark.range(3).write.format("delta").save(location)
    spark.range(3, 5).write.format("delta").mode("append").save(location)

    assert sorted(r.id for r in spark.read.format("delta").load(location).collect()) == [
        0, 1, 2, 3, 4,
    ]  # fmt: skip
    assert DeltaTable.forPath(spark, location).history().count() == 2
    jvm: Any = spark._jvm
    delta_log = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, location)
    s3a_store = delta_log.store().getDelegate(delta_log.logPath()).logStoreImpl()
    assert s3a_store.getClass().getName() == LOGSTORE_CLASS

    # A driver that still believes version 0 is the latest commits its version 1: refused.
    log_entries = minio.client().list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/_delta_log/")
    before = {o["Key"]: o["ETag"] for o in log_entries["Contents"]}
    with pytest.raises(Py4JJavaError) as refused:
        LogStore(spark, location).write(VERSION_1, ['{"commitInfo":{"writer":"stale"}}'])
    assert java_class(refused.value) == "java.nio.file.FileAlreadyExistsException"
    after = minio.client().list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/_delta_log/")
    assert {o["Key"]: o["ETag"] for o in after["Contents"]} == before
    assert DeltaTable.forPath(spark, location).history().count() == 2


def test_without_conditional_writes_the_log_store_refuses_to_commit(
    s3a_spark: SparkSession, minio: Any
) -> None:
    """An unconditional PUT would drop the fence silently: the log store fails instead."""
    s3, bucket, prefix = minio.client(), minio.lake.bucket, table_prefix()
    store = LogStore(
        s3a_spark,
        f"s3a://{bucket}/{prefix}",
        fs_s3a_create_conditional_enabled="false",
        fs_s3a_impl_disable_cache="true",  # a file system of its own, with this setting
    )
    with pytest.raises(Py4JJavaError, match=re.escape("fs.s3a.create.conditional.enabled=true")):
        store.write(VERSION_0, ['{"commitInfo":{}}'])
    assert s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["KeyCount"] == 0


def test_a_driver_whose_lease_ran_out_cannot_commit(s3a_spark: SparkSession, minio: Any) -> None:
    """The lease's sure hold, handed to the log store, closes it to commits once it runs out."""
    location = f"s3a://{minio.lake.bucket}/{table_prefix()}"
    s3a_spark.range(1).write.format("delta").save(location)  # no lease taken yet: not fenced
    hold_for = hold_log_store_commits(s3a_spark)
    try:
        hold_for(0.0)  # a renewal thread that found the lease lost, or a driver paused too long
        with pytest.raises(Py4JJavaError, match="lease may have passed to another driver"):
            s3a_spark.range(1).write.format("delta").mode("append").save(location)
        hold_for(60.0)  # renewed
        s3a_spark.range(1).write.format("delta").mode("append").save(location)
    finally:
        hold_for(3600.0)
    assert DeltaTable.forPath(s3a_spark, location).history().count() == 2
