"""Spark sees the lake's tables by name: the stream registers them in the Hive metastore on the
embedded PostgreSQL, and `lakehouse spark-sql` reads them there, as `lakehouse query` does.

The stream job runs once under spark-submit as the DAG runs it (the metastore's connection in its
environment, the JDBC driver on its class path) over a few raw /simple/price objects in MinIO.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import stream_runner
from conftest import Minio
from simulated_prices import simple_price_envelope

from lakehouse.landed_log import LandedLog
from lakehouse.raw_zone import RawZoneWriter
from lakehouse.runtime import postgres
from lakehouse.runtime.processes import ProcessManager, free_port
from lakehouse.spark.metastore import PASSWORD_VARIABLE, URL_VARIABLE, USER_VARIABLE, jdbc_url

pytestmark = pytest.mark.integration

SUPERUSER_PASSWORD = "super-Secret-1"
METASTORE_PASSWORD = "metastore-Secret-2"
T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
COINS = ("bitcoin", "ethereum")
CURRENCIES = ("usd", "eur")
MINUTES = 2


@pytest.fixture(scope="module")
def metastore_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The embedded PostgreSQL with the metastore's role and database, as `lakehouse up` makes."""
    home = tmp_path_factory.mktemp("postgres")
    port = free_port()
    processes = ProcessManager(home / "run", home / "logs")
    postgres.init_postgres(home / "data", SUPERUSER_PASSWORD)
    processes.start(postgres.postgres_spec(home / "data", port, dict(os.environ)))
    try:
        postgres.secure(home / "data", port, SUPERUSER_PASSWORD)
        postgres.ensure_database(
            port, SUPERUSER_PASSWORD, postgres.METASTORE_ROLE, postgres.METASTORE_DATABASE,
            METASTORE_PASSWORD,
        )  # fmt: skip
        yield {
            URL_VARIABLE: jdbc_url("127.0.0.1", port, postgres.METASTORE_DATABASE),
            USER_VARIABLE: postgres.METASTORE_ROLE,
            PASSWORD_VARIABLE: METASTORE_PASSWORD,
        }
    finally:
        processes.stop("postgres")


@pytest.fixture(scope="module")
def own_lake(minio: Minio) -> Minio:
    """A bucket of this module's own on the session's MinIO: other tests write lake tables into
    the default bucket, and the counts here are of this module's rows only."""
    lake = Minio(replace(minio.lake, bucket=f"metastore-{uuid.uuid4().hex[:8]}"))
    lake.client().create_bucket(Bucket=lake.lake.bucket)
    return lake


def land(minio: Minio, minute: int) -> None:
    """/simple/price from the simulator as of `minute` after T0, landed in the lake's raw zone
    and its landed log, as a collector does."""
    envelope = simple_price_envelope(T0, minute, COINS, CURRENCIES)
    s3, bucket = minio.client(), minio.lake.bucket
    assert RawZoneWriter(s3, bucket, landed=LandedLog(s3, bucket)).write(envelope).created


def lakehouse(
    minio: Minio, home: Path, *args: str, extra: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    lake = minio.lake
    env = {
        **os.environ,
        "LAKEHOUSE_HOME": str(home),
        "LAKEHOUSE_BUCKET": lake.bucket,
        "LAKEHOUSE_S3_ENDPOINT": lake.endpoint_url,
        "LAKEHOUSE_S3_ACCESS_KEY": lake.access_key,
        "LAKEHOUSE_S3_SECRET_KEY": lake.secret_key,
        **extra,
    }
    lakehouse_cli = [sys.executable, "-m", "lakehouse.cli"]
    return subprocess.run(
        [*lakehouse_cli, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_the_stream_registers_the_tables_and_spark_sql_reads_them_by_name(
    own_lake: Minio, metastore_env: dict[str, str], tmp_path: Path
) -> None:
    for minute in range(MINUTES):
        land(own_lake, minute)
    lake = own_lake.lake
    keys = {"AWS_ACCESS_KEY_ID": lake.access_key, "AWS_SECRET_ACCESS_KEY": lake.secret_key}
    job = stream_runner.run(
        f"s3a://{lake.bucket}", "--once", "--s3-endpoint", lake.endpoint_url, "--no-progress",
        extra_env={**keys, **metastore_env},
    )  # fmt: skip
    assert job.returncode == 0, job.stderr[-4000:]
    assert METASTORE_PASSWORD not in " ".join(stream_runner.argv("s3a://x"))

    sql = (
        "select (select count(*) from silver.coin_prices) as now, "
        "(select count(*) from silver.coin_prices version as of 0) as first"
    )
    by_name = lakehouse(
        own_lake, tmp_path, "spark-sql", "--format", "json", sql, extra=metastore_env
    )
    assert by_name.returncode == 0, by_name.stderr[-4000:]
    counts = json.loads(by_name.stdout.strip().splitlines()[-1])[0]
    assert counts["now"] == MINUTES * len(COINS) * len(CURRENCIES)

    for version, expected in ((None, counts["now"]), ("0", counts["first"])):
        as_of = ["--as-of", version] if version else []
        query = lakehouse(
            own_lake, tmp_path, "query", "--format", "json", *as_of,
            "select count(*) as n from silver.coin_prices", extra={},
        )  # fmt: skip
        assert query.returncode == 0, query.stderr[-2000:]
        assert json.loads(query.stdout)[0]["n"] == expected
    assert counts["first"] == 0  # version 0 is the table's creation


def test_an_unknown_table_is_named_with_the_known_ones(
    own_lake: Minio, metastore_env: dict[str, str], tmp_path: Path
) -> None:
    result = lakehouse(
        own_lake, tmp_path, "spark-sql", "select * from silver.coin_price", extra=metastore_env
    )

    assert result.returncode == 1
    error = result.stderr[result.stderr.index("error: ") :]
    assert "TABLE_OR_VIEW_NOT_FOUND" in error and "`silver`.`coin_price`" in error
    assert "line 1 pos 14" in error
    assert (
        "known tables:" in error
        and "silver.coin_prices" in error
        and "ops.stream_progress" in error
    )


def test_an_unreachable_metastore_is_named(own_lake: Minio, tmp_path: Path) -> None:
    url = jdbc_url("127.0.0.1", free_port(), "metastore")
    result = lakehouse(
        own_lake, tmp_path, "spark-sql", "select 1", extra={URL_VARIABLE: url, USER_VARIABLE: "m"}
    )

    assert result.returncode == 1
    assert "is not reachable" in result.stderr
