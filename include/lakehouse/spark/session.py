"""The one Spark session builder (Delta's SQL extensions, s3a pointed at the lake, Delta commits
fenced by conditional PUTs) and the stream job's per-session settings.

Credentials are not set here: s3a's default provider chain reads AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY from the driver's environment, so no secret sits in a conf or a command line.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pyspark.sql import SparkSession

from lakehouse.config import Settings
from lakehouse.runtime import install
from lakehouse.spark.options import StreamOptions
from lakehouse.spark.packages import SPARK_EXCLUDED_PACKAGES, SPARK_PACKAGES, logstore_conf


def lake_conf(s3_endpoint: str | None, s3_region: str = "us-east-1") -> dict[str, str]:
    """Spark settings every session of the lakehouse needs, on a cluster as locally."""
    conf = {
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.session.timeZone": "UTC",
        "spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "spark.hadoop.fs.s3a.endpoint.region": s3_region,
        # Put-if-absent / compare-and-swap writes for the job's lease (lakehouse.spark.lease) and
        # for Delta's commits (the log store refuses to commit without them).
        "spark.hadoop.fs.s3a.create.conditional.enabled": "true",
        # Every launcher puts the log store's jar on the driver's class path; a missing jar fails
        # the first s3a commit loudly rather than falling back to an unfenced log store.
        **logstore_conf(),
    }
    if s3_endpoint:
        conf |= {
            "spark.hadoop.fs.s3a.endpoint": s3_endpoint,
            "spark.hadoop.fs.s3a.path.style.access": "true",
            "spark.hadoop.fs.s3a.connection.ssl.enabled": str(
                s3_endpoint.startswith("https")
            ).lower(),
        }
    return conf


LONG_RUNNING_DRIVER_CONF = {
    # The live UI keeps the latest 100 queries and 200 jobs; the driver's rolling event log, read
    # by the History Server, keeps them all. Spark's defaults (1,000 SQL executions with their
    # plans, 1,000 jobs and stages, 100,000 tasks) are reached by a stream of some 30 jobs a
    # micro-batch within its first 10 minutes, and then held in the driver's heap.
    "spark.sql.ui.retainedExecutions": "100",
    "spark.ui.retainedJobs": "200",
    "spark.ui.retainedStages": "200",
    "spark.ui.retainedTasks": "5000",
    # A micro-batch and a gold refresh need more generated classes than the 100 Spark keeps
    # compiled: the driver compiled some 700 classes a minute with Janino, whose code the JIT then
    # compiles anew; the JIT took more CPU than the batches' tasks (39% against 34% of a core).
    # With 2,000 kept: about 110 a minute.
    "spark.sql.codegen.cache.maxEntries": "2000",
}
"""Settings of the stream job's driver, which runs for days and micro-batches every few seconds."""


def build_spark_session(
    app_name: str,
    *,
    s3_endpoint: str | None = None,
    s3_region: str = "us-east-1",
    master: str | None = None,
    tools_dir: Path | None = None,
    extra_conf: Mapping[str, str] | None = None,
) -> SparkSession:
    """Get the session for `app_name`.

    Under spark-submit, master, packages and jars come from the command line and `master` stays
    None; a process that starts its own JVM (tests, tools) passes `master` and gets the packages
    and the log store's jar from `tools_dir` (default: the project's .tools), installed if need be.
    """
    builder = SparkSession.builder.appName(app_name)
    if master is not None:
        tools = tools_dir or Settings.from_env().tools_dir
        builder = builder.master(master).config("spark.jars.packages", ",".join(SPARK_PACKAGES))
        builder = builder.config("spark.jars.excludes", ",".join(SPARK_EXCLUDED_PACKAGES))
        builder = builder.config("spark.jars.ivy", str(install.ivy_dir(tools)))
        builder = builder.config("spark.jars", str(install.ensure_logstore_jar(tools)))
    for key, value in {**lake_conf(s3_endpoint, s3_region), **(extra_conf or {})}.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def size_delta_snapshots(spark: SparkSession) -> None:
    """Delta rebuilds a table's state with this many shuffle partitions (default 50): the lake's
    tables are small and compacted, so the cluster's parallelism is plenty and far faster."""
    spark.conf.set(
        "spark.databricks.delta.snapshotPartitions",
        str(max(1, spark.sparkContext.defaultParallelism)),
    )


def configure_session(spark: SparkSession, options: StreamOptions) -> None:
    size_delta_snapshots(spark)
    if options.compact_min_files > 0:
        spark.conf.set(
            "spark.databricks.delta.autoCompact.minNumFiles", str(options.compact_min_files)
        )
    if options.vacuum_retain_hours < 168:
        # Delta refuses a retention below its default (7 days) unless told this is deliberate.
        spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", "false")


def writer_sessions(spark: SparkSession, options: StreamOptions, count: int) -> list[SparkSession]:
    """Sessions for `count` writes running at once: one context, each its own SQL conf."""
    sessions = [spark.newSession() for _ in range(count)]
    for session in sessions:
        configure_session(session, options)
    return sessions
