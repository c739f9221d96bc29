"""Spark sees the lake's tables by name: a Hive metastore on PostgreSQL, and the tables in it.

Spark's built-in Hive 2.3 client (`spark.sql.hive.metastore.jars=builtin`) keeps the catalog in a
PostgreSQL database of its own (`metastore`, on the stack's PostgreSQL). pyspark ships no schema
scripts, so DataNucleus creates the schema itself; it does so from Hive's whole model at start
(`autoStartMechanism=MetaData`): left to create each table when first used, it adds a foreign key
to a table that its own open transaction holds, and waits for itself forever.

The connection reaches the driver as environment variables (`LAKEHOUSE_METASTORE_URL`, `_USER`,
`_PASSWORD`; the DAG sets them from the `lake_metastore` Connection). The password stays in the
environment: the conf names it as `${env.LAKEHOUSE_METASTORE_PASSWORD}`, which Hadoop's
Configuration resolves when the Hive client reads it, because pyspark puts every conf of a session
it launches on spark-submit's command line. Without `LAKEHOUSE_METASTORE_URL` nothing changes:
Spark keeps its in-memory catalog.

The stream registers every table of `lakehouse.tables` at start (`register_tables`): one external
Delta table per spec, `layer.name` at its location in the lake; the data stays where it is.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lakehouse.spark.options import StreamOptions
    from lakehouse.tables import TableSpec

log = logging.getLogger(__name__)

URL_VARIABLE = "LAKEHOUSE_METASTORE_URL"
USER_VARIABLE = "LAKEHOUSE_METASTORE_USER"
PASSWORD_VARIABLE = "LAKEHOUSE_METASTORE_PASSWORD"
JDBC_DRIVER_CLASS = "org.postgresql.Driver"
WAREHOUSE = "warehouse"
"""Where managed tables of `CREATE TABLE` without a location go: `<lake>/warehouse`."""
CATALOG_IMPLEMENTATION = "spark.sql.catalogImplementation"


class MetastoreError(RuntimeError):
    """A registered table disagrees with the lake; the message names it."""


@dataclass(frozen=True)
class Metastore:
    """Where the metastore's database is and who logs in; the password stays in the environment."""

    url: str
    user: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Metastore | None:
        """The metastore the environment names, or None (Spark's in-memory catalog)."""
        url = env.get(URL_VARIABLE, "")
        return cls(url=url, user=env.get(USER_VARIABLE, "")) if url else None

    def session_conf(self, lake_uri: str) -> dict[str, str]:
        """The confs of a session whose catalog is this metastore (static: set before it starts)."""
        hadoop = {
            "javax.jdo.option.ConnectionURL": self.url,
            "javax.jdo.option.ConnectionDriverName": JDBC_DRIVER_CLASS,
            "javax.jdo.option.ConnectionUserName": self.user,
            "javax.jdo.option.ConnectionPassword": "${env." + PASSWORD_VARIABLE + "}",
            "datanucleus.schema.autoCreateAll": "true",
            "datanucleus.autoStartMechanism": "MetaData",
            "datanucleus.autoStartMetaDataFiles": "package.jdo",
            "hive.metastore.schema.verification": "false",
        }
        return {
            CATALOG_IMPLEMENTATION: "hive",
            "spark.sql.hive.metastore.jars": "builtin",
            "spark.sql.warehouse.dir": f"{lake_uri.rstrip('/')}/{WAREHOUSE}",
            **{f"spark.hadoop.{key}": value for key, value in hadoop.items()},
        }


def jdbc_url(host: str, port: int | str, database: str) -> str:
    return f"jdbc:postgresql://{host}:{port}/{database}"


def session_conf(env: Mapping[str, str], lake_uri: str) -> dict[str, str]:
    """The metastore confs the environment asks for; none without `LAKEHOUSE_METASTORE_URL`."""
    metastore = Metastore.from_env(env)
    return metastore.session_conf(lake_uri) if metastore else {}


def has_metastore(spark: SparkSession) -> bool:
    return spark.conf.get(CATALOG_IMPLEMENTATION, "in-memory") == "hive"


def _quoted(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def register_statements(spec: TableSpec, location: str) -> list[str]:
    """The SQL that names `spec`'s Delta table at `location`; running it again changes nothing."""
    return [
        f"CREATE SCHEMA IF NOT EXISTS `{spec.layer}`",
        f"CREATE TABLE IF NOT EXISTS {_identifier(spec)} USING delta LOCATION {_quoted(location)}",
    ]


def repoint_statement(spec: TableSpec, location: str) -> str:
    return f"ALTER TABLE {_identifier(spec)} SET LOCATION {_quoted(location)}"


def _identifier(spec: TableSpec) -> str:
    return f"`{spec.layer}`.`{spec.name}`"


def registered_location(spark: SparkSession, spec: TableSpec) -> str:
    """Where the metastore says `spec`'s table lives."""
    for row in spark.sql(f"DESCRIBE TABLE EXTENDED {_identifier(spec)}").collect():
        if row["col_name"] == "Location":
            return str(row["data_type"])
    raise MetastoreError(f"the metastore has no location for {spec.qualified_name}")


def register_tables(spark: SparkSession, options: StreamOptions) -> None:
    """Every table of `lakehouse.tables` by name, at its location in this lake.

    A name registered at another location (a lake moved to another bucket) is pointed at this
    lake's table; a name that cannot be re-pointed fails the start, naming it.
    """
    # Here, not at the top: the DAG imports this module's names, and the specs load pyspark.
    from lakehouse.tables import ALL_TABLES

    for spec in ALL_TABLES:
        location = options.table(spec)
        for statement in register_statements(spec, location):
            spark.sql(statement)
        registered = registered_location(spark, spec)
        if _same_location(registered, location):
            continue
        log.warning("%s was registered at %s: pointing it at %s", spec.qualified_name,
                    registered, location)  # fmt: skip
        try:
            spark.sql(repoint_statement(spec, location))
        except Exception as exc:
            raise MetastoreError(
                f"{spec.qualified_name} is registered at {registered}, not at {location}, and "
                f"cannot be re-pointed: {str(exc).splitlines()[0]}"
            ) from exc
    log.info("%d tables registered in the metastore", len(ALL_TABLES))


def _same_location(registered: str, location: str) -> bool:
    """A local folder comes back from the metastore as `file:` + its path."""
    strip = "file:"
    normal = [path.removeprefix(strip).rstrip("/") for path in (registered, location)]
    return normal[0] == normal[1]


def known_tables(spark: SparkSession) -> list[str]:
    """Every `schema.table` the metastore holds, sorted."""
    names = []
    for database in spark.catalog.listDatabases():
        names += [f"{database.name}.{t.name}" for t in spark.catalog.listTables(database.name)]
    return sorted(names)
