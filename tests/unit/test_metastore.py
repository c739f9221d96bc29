"""The Hive metastore's confs and the registration SQL, as the stream and `spark-sql` build them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lakehouse import tables
from lakehouse.config import Settings
from lakehouse.runtime import airflow_stack
from lakehouse.runtime.processes import free_port
from lakehouse.runtime.stack import generate_credentials
from lakehouse.spark import metastore
from lakehouse.spark.options import StreamOptions
from lakehouse.spark.spark_sql import SparkSqlError, check_reachable, metastore_env

ENV = {
    metastore.URL_VARIABLE: "jdbc:postgresql://127.0.0.1:5433/metastore",
    metastore.USER_VARIABLE: "metastore",
    metastore.PASSWORD_VARIABLE: "ms-Secret-value-1",
}


def test_without_a_metastore_url_the_session_keeps_spark_s_own_catalog() -> None:
    assert metastore.Metastore.from_env({}) is None
    assert metastore.session_conf({metastore.PASSWORD_VARIABLE: "x"}, "s3a://lake") == {}


def test_the_conf_names_the_password_s_variable_never_its_value() -> None:
    conf = metastore.session_conf(ENV, "s3a://lake/")

    assert conf["spark.sql.catalogImplementation"] == "hive"
    assert conf["spark.sql.hive.metastore.jars"] == "builtin"
    assert conf["spark.sql.warehouse.dir"] == "s3a://lake/warehouse"
    hadoop = "spark.hadoop.javax.jdo.option."
    assert conf[f"{hadoop}ConnectionURL"] == ENV[metastore.URL_VARIABLE]
    assert conf[f"{hadoop}ConnectionUserName"] == "metastore"
    assert conf[f"{hadoop}ConnectionDriverName"] == "org.postgresql.Driver"
    assert conf[f"{hadoop}ConnectionPassword"] == "${env.LAKEHOUSE_METASTORE_PASSWORD}"
    assert not any(ENV[metastore.PASSWORD_VARIABLE] in value for value in conf.values())
    # DataNucleus makes the whole schema at start (lazily, it deadlocks on its own foreign keys).
    assert conf["spark.hadoop.datanucleus.schema.autoCreateAll"] == "true"
    assert conf["spark.hadoop.datanucleus.autoStartMechanism"] == "MetaData"
    assert conf["spark.hadoop.hive.metastore.schema.verification"] == "false"


def test_registration_names_each_table_at_its_location_idempotently() -> None:
    statements = metastore.register_statements(tables.SILVER_COIN_PRICES, "s3a://lake/silver/x'y")

    assert statements == [
        "CREATE SCHEMA IF NOT EXISTS `silver`",
        "CREATE TABLE IF NOT EXISTS `silver`.`coin_prices` USING delta "
        "LOCATION 's3a://lake/silver/x\\'y'",
    ]
    assert metastore.repoint_statement(tables.GOLD_COIN_OHLC, "s3a://b/gold/coin_ohlc") == (
        "ALTER TABLE `gold`.`coin_ohlc` SET LOCATION 's3a://b/gold/coin_ohlc'"
    )


def test_every_spec_gets_its_schema_and_table() -> None:
    created = {
        statement
        for spec in tables.ALL_TABLES
        for statement in metastore.register_statements(spec, f"s3a://lake/{spec.path}")
    }
    layers = {spec.layer for spec in tables.ALL_TABLES}

    assert layers == {"bronze", "silver", "gold", "ops"}
    assert len(created) == len(layers) + len(tables.ALL_TABLES)


@pytest.mark.parametrize(
    ("registered", "location", "same"),
    [
        ("file:/tmp/lake/silver/t", "/tmp/lake/silver/t", True),
        ("s3a://lake/silver/t", "s3a://lake/silver/t/", True),
        ("s3a://old/silver/t", "s3a://lake/silver/t", False),
    ],
)
def test_a_location_compares_as_the_metastore_returns_it(
    registered: str, location: str, same: bool
) -> None:
    assert metastore._same_location(registered, location) is same


def test_spark_sql_takes_the_environment_s_metastore_else_the_stack_s(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"LAKEHOUSE_HOME": str(tmp_path), "LAKEHOUSE_POSTGRES_PORT": "6001"}
    )

    assert metastore_env(settings, ENV) == ENV
    with pytest.raises(SparkSqlError, match="no metastore"):
        metastore_env(settings, {})

    creds = generate_credentials()
    settings.credentials_file.write_text(
        f"METASTORE_DB_PASSWORD={creds['METASTORE_DB_PASSWORD']}\n"
    )
    env = metastore_env(settings, {})
    assert env == {
        metastore.URL_VARIABLE: "jdbc:postgresql://127.0.0.1:6001/metastore",
        metastore.USER_VARIABLE: "metastore",
        metastore.PASSWORD_VARIABLE: creds["METASTORE_DB_PASSWORD"],
    }
    # The DAG's Connection is the same database and role.
    airflow_env = airflow_stack.airflow_env(settings, "demo", creds, tmp_path, tmp_path / "pw")
    conn = json.loads(airflow_env["AIRFLOW_CONN_LAKE_METASTORE"])
    assert (conn["conn_type"], conn["port"], conn["schema"], conn["login"]) == (
        "postgres", 6001, "metastore", "metastore",
    )  # fmt: skip
    assert airflow_env["AIRFLOW_VAR_LAKEHOUSE_SPARK_JDBC_JAR"].endswith(".jar")


def test_an_unreachable_metastore_is_named_at_once() -> None:
    port = free_port()
    with pytest.raises(SparkSqlError, match=f"127.0.0.1:{port} is not reachable"):
        check_reachable(f"jdbc:postgresql://127.0.0.1:{port}/metastore", timeout=1.0)


class FakeCatalogSpark:
    """Records the SQL `register_tables` runs; DESCRIBE answers with `registered`'s locations."""

    def __init__(self, registered: dict[str, str], refuse_alter: bool = False) -> None:
        self.registered = registered
        self.refuse_alter = refuse_alter
        self.statements: list[str] = []

    def sql(self, statement: str) -> FakeCatalogSpark:
        self.statements.append(statement)
        if statement.startswith("ALTER TABLE") and self.refuse_alter:
            raise RuntimeError("DELTA_SCHEMA_MISMATCH: the schemas differ\nat ...")
        self._last = statement
        return self

    def collect(self) -> list[dict[str, str]]:
        name = self._last.rsplit(" ", 1)[-1].replace("`", "")
        return [{"col_name": "Location", "data_type": self.registered.get(name, "")}]


def options(lake: str) -> StreamOptions:
    return StreamOptions(lake_uri=lake)


def test_registering_again_changes_nothing_and_a_moved_table_is_re_pointed() -> None:
    here = {spec.qualified_name: f"s3a://lake/{spec.path}" for spec in tables.ALL_TABLES}
    spark = FakeCatalogSpark(here)
    metastore.register_tables(spark, options("s3a://lake"))  # type: ignore[arg-type]
    assert not any(s.startswith("ALTER") for s in spark.statements)

    moved = {**here, "silver.devices": "s3a://old-bucket/silver/devices"}
    spark = FakeCatalogSpark(moved)
    metastore.register_tables(spark, options("s3a://lake"))  # type: ignore[arg-type]
    assert [s for s in spark.statements if s.startswith("ALTER")] == [
        "ALTER TABLE `silver`.`devices` SET LOCATION 's3a://lake/silver/devices'"
    ]


def test_a_table_that_cannot_be_re_pointed_fails_naming_it() -> None:
    moved = {spec.qualified_name: "s3a://old-bucket/x" for spec in tables.ALL_TABLES}
    spark = FakeCatalogSpark(moved, refuse_alter=True)

    with pytest.raises(
        metastore.MetastoreError,
        match=re.escape(
            "bronze.raw_events is registered at s3a://old-bucket/x, not at "
            "s3a://lake/bronze/raw_events"
        ),
    ) as caught:
        metastore.register_tables(spark, options("s3a://lake"))  # type: ignore[arg-type]
    assert "DELTA_SCHEMA_MISMATCH" in str(caught.value)


def test_spark_sql_shell_binds_the_session_and_stops_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import code

    from lakehouse import cli
    from lakehouse.spark import spark_sql

    class Session:
        stopped = False

        def stop(self) -> None:
            self.stopped = True

    session = Session()
    bound: dict[str, object] = {}
    monkeypatch.setattr(spark_sql, "metastore_env", lambda settings, environ: ENV)
    monkeypatch.setattr(spark_sql, "open_session", lambda settings, env, master: session)
    monkeypatch.setattr(code, "interact", lambda banner, local: bound.update(local))

    assert cli.main(["spark-sql", "--shell"]) == 0
    assert bound == {"spark": session} and session.stopped
    assert cli.main(["spark-sql"]) == cli.EXIT_FAILURE  # neither SQL nor --shell
