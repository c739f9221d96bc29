"""Real services for integration tests: a MinIO started the way the stack starts it, and a local
Spark session with Delta's jars."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pyspark.sql import SparkSession

from lakehouse.config import LakeSettings, Settings
from lakehouse.raw_zone import s3_client
from lakehouse.runtime.minio import scratch_minio
from lakehouse.spark.session import build_spark_session


@dataclass(frozen=True)
class Minio:
    lake: LakeSettings

    def client(self) -> Any:
        return s3_client(self.lake)


@pytest.fixture(scope="session")
def minio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Minio]:
    with scratch_minio(tmp_path_factory.mktemp("minio-home")) as lake:
        yield Minio(lake)


@pytest.fixture(scope="module")
def delta_spark() -> Iterator[SparkSession]:
    spark = build_spark_session(
        "lakehouse-delta-tests",
        master="local[1]",
        tools_dir=Settings.from_env().tools_dir,
        extra_conf={
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": "1",
            "spark.databricks.delta.snapshotPartitions": "1",
        },
    )
    try:
        yield spark
    finally:
        spark.stop()
