"""`lakehouse spark-sql`: SQL on the lake's tables by name, in a Spark session like the stream's.

The session is `build_spark_session`'s (Delta, s3a on the lake, the log store) with the Hive
metastore the stream registers the tables in (`lakehouse.spark.metastore`): the environment's
`LAKEHOUSE_METASTORE_URL` / `_USER` / `_PASSWORD` when set, else the local stack's (its
`METASTORE_DB_PASSWORD`, the same Connection `lake_metastore` the DAG gets). Secrets go to the
JVM through its environment only: pyspark puts a session's confs on spark-submit's command line.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from lakehouse.config import Settings, read_env_file
from lakehouse.runtime import install
from lakehouse.spark.metastore import (
    PASSWORD_VARIABLE,
    URL_VARIABLE,
    USER_VARIABLE,
    Metastore,
    jdbc_url,
    known_tables,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

APP_NAME = "lakehouse-spark-sql"
NOT_FOUND = "TABLE_OR_VIEW_NOT_FOUND"


class SparkSqlError(RuntimeError):
    """The SQL or the metastore failed; the message says which and where."""


def metastore_env(settings: Settings, environ: Mapping[str, str]) -> dict[str, str]:
    """The metastore's variables: the environment's, else the local stack's credentials'."""
    if environ.get(URL_VARIABLE):
        names = (URL_VARIABLE, USER_VARIABLE, PASSWORD_VARIABLE)
        return {name: environ[name] for name in names if name in environ}
    from lakehouse.runtime.airflow_stack import metastore_connection

    creds = read_env_file(settings.credentials_file)
    if not creds.get("METASTORE_DB_PASSWORD"):
        raise SparkSqlError(
            f"no metastore: set {URL_VARIABLE}, {USER_VARIABLE} and {PASSWORD_VARIABLE}, or start "
            f"the local stack (make demo), whose {settings.credentials_file} names it"
        )
    conn = metastore_connection(settings, creds)
    return {
        URL_VARIABLE: jdbc_url(str(conn["host"]), str(conn["port"]), str(conn["schema"])),
        USER_VARIABLE: str(conn["login"]),
        PASSWORD_VARIABLE: str(conn["password"]),
    }


def check_reachable(url: str, timeout: float = 3.0) -> None:
    """Fail at once, naming the address, when nothing listens where the metastore should be
    (the Hive client would retry for minutes)."""
    address = urlsplit(url.removeprefix("jdbc:"))
    host, port = address.hostname or "localhost", address.port or 5432
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        raise SparkSqlError(
            f"the metastore's database at {host}:{port} is not reachable ({exc}); is the stack "
            "running (make demo)?"
        ) from None


def open_session(settings: Settings, env: Mapping[str, str], master: str) -> SparkSession:
    """A session on the lake whose catalog is the metastore `env` names."""
    from lakehouse.spark.session import build_spark_session, size_delta_snapshots

    check_reachable(env[URL_VARIABLE])
    # The JVM pyspark starts inherits these: s3a's keys and the metastore's password.
    os.environ.update(env)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", settings.lake.access_key)
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", settings.lake.secret_key)
    metastore = Metastore(url=env[URL_VARIABLE], user=env.get(USER_VARIABLE, ""))
    conf = {
        **metastore.session_conf(settings.lake.uri("", scheme="s3a")),
        "spark.driver.extraClassPath": str(install.ensure_jdbc_jar(settings.tools_dir)),
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "4",
    }
    spark = build_spark_session(
        APP_NAME,
        s3_endpoint=settings.lake.endpoint_url or None,
        s3_region=settings.lake.region,
        master=master,
        tools_dir=settings.tools_dir,
        extra_conf=conf,
    )
    spark.sparkContext.setLogLevel("ERROR")
    size_delta_snapshots(spark)
    try:
        spark.sql("SHOW DATABASES").collect()
    except Exception as exc:
        raise SparkSqlError(
            f"the metastore at {env[URL_VARIABLE]} failed: {_message(exc)}"
        ) from None
    return spark


def run_sql(spark: SparkSession, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of the statement's result; an SQL error becomes a SparkSqlError that
    keeps Spark's position, and an unknown table's lists the known ones."""
    from pyspark.errors import AnalysisException

    try:
        frame = spark.sql(sql)
        return list(frame.columns), [tuple(row) for row in frame.collect()]
    except AnalysisException as exc:
        message = _message(exc)
        if exc.getCondition() == NOT_FOUND:
            message += f"\nknown tables: {', '.join(known_tables(spark)) or '(none)'}"
        raise SparkSqlError(message) from None


def _message(exc: Exception) -> str:
    """Spark's message without the logical plan some analysis errors append after it."""
    lines = []
    for line in str(exc).strip().splitlines():
        if line.startswith(("'", "+-", "JVM stacktrace:")):
            break
        lines.append(line)
    return "\n".join(lines).strip()
