"""
### lakehouse_stream

Keeps the one streaming driver of the lake alive. `run_stream_job` (SparkSubmitOperator, client
mode) runs `jobs/lakehouse_stream.py`, which streams the raw zone into bronze, silver and gold (the
tables of `lakehouse.tables`, listed in the README), exactly once, from its checkpoints. The Spark
UI shows the query `medallion`; each micro-batch is recorded in `ops.stream_progress`.

The DAG is `@continuous` with one active run: a driver that dies fails the task, which is retried,
and every finished run is followed by a new one, so a driver is always running.

**Stopping.** `lakehouse stream stop` leaves a stop request in the lake; the driver finishes its
current micro-batches, releases its lease and exits 0, and the task succeeds. The next run's
`start_allowed` sensor then waits (rescheduling itself, holding no worker slot) until
`lakehouse stream start` removes the request. A second driver started by hand refuses to run while
this one holds the lease (`_leases/lakehouse_stream.json`); after a crash the restarted driver
waits up to `--lease-wait-seconds` for the dead driver's lease to expire.

Connections: `spark_default` (master: local[2] or spark://host:7077), `lake_s3` and
`lake_metastore` (the Hive metastore's PostgreSQL database, where the driver registers the tables
by name); their credentials reach the driver as environment variables, never on the command line.
Variables: `lakehouse_bucket`, `lakehouse_spark_ivy_dir`, `lakehouse_spark_logstore_jar` (the path
of the log store's jar, which fences Delta commits with conditional PUTs),
`lakehouse_spark_jdbc_jar` (the metastore's JDBC driver), `lakehouse_spark_ui_port`,
`lakehouse_spark_local_ip` (where the driver listens; default 127.0.0.1),
`lakehouse_spark_event_log_dir` (an existing folder, as an absolute path, where the driver writes
its rolling event log for a Spark History Server; unset or empty: no event log), and optionally one
`lakehouse_stream_<option>` per tunable option of the job (`lakehouse.spark.options`; the
README's "The stream job" lists them).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import dag, task

from lakehouse.spark.event_log import event_log_conf
from lakehouse.spark.metastore import PASSWORD_VARIABLE, URL_VARIABLE, USER_VARIABLE
from lakehouse.spark.options import StreamOptions, dag_arguments
from lakehouse.spark.packages import SPARK_EXCLUDED_PACKAGES, SPARK_PACKAGES, logstore_conf

STREAM_JOB = Path(__file__).resolve().parents[1] / "jobs" / "lakehouse_stream.py"
BUCKET = "{{ var.value.get('lakehouse_bucket', 'lake') }}"
# The address the driver binds its RPC, block manager and UI to: loopback unless the deployment
# names one (executors on other machines must reach the driver).
LOCAL_IP = "{{ var.value.get('lakehouse_spark_local_ip', '127.0.0.1') }}"
# Where the driver writes its event log: a folder on its machine that the deployment created. Spark
# refuses to start with an event log folder that does not exist, so without the Variable the
# driver writes none.
EVENT_LOG = event_log_conf(
    directory="{{ 'file://' ~ var.value.get('lakehouse_spark_event_log_dir', '') }}",
    enabled="{{ 'true' if var.value.get('lakehouse_spark_event_log_dir', '') else 'false' }}",
)
METASTORE_URL = (
    "jdbc:postgresql://{{ conn.lake_metastore.host }}:{{ conn.lake_metastore.port }}"
    "/{{ conn.lake_metastore.schema }}"
)
LEASE_TTL_SECONDS = StreamOptions.lease_ttl_seconds
JOB_ARGUMENTS = dag_arguments(
    lake_uri=f"s3a://{BUCKET}",
    s3_endpoint="{{ conn.lake_s3.extra_dejson.endpoint_url }}",
    lease_ttl_seconds=str(LEASE_TTL_SECONDS),
    # After a crash the new driver waits for the dead driver's lease to expire.
    lease_wait_seconds=str(LEASE_TTL_SECONDS * 2),
)


@dag(
    schedule="@continuous",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["lakehouse", "spark"],
)
def lakehouse_stream() -> None:
    @task.sensor(poke_interval=30, mode="reschedule", timeout=timedelta(days=365).total_seconds())
    def start_allowed(bucket: str) -> bool:
        """True unless `lakehouse stream stop` left a stop request in the lake."""
        from lakehouse.spark.control import stop_requested
        from lakehouse_airflow.hooks import lake_control_store

        return not stop_requested(lake_control_store(bucket))

    run = SparkSubmitOperator(
        task_id="run_stream_job",
        application=str(STREAM_JOB),
        name="lakehouse_stream",
        conn_id="spark_default",
        packages=",".join(SPARK_PACKAGES),
        exclude_packages=",".join(SPARK_EXCLUDED_PACKAGES),
        jars="{{ var.value.lakehouse_spark_logstore_jar }}",
        # DataNucleus finds the JDBC driver on the JVM's class path only, not among --jars.
        driver_class_path="{{ var.value.lakehouse_spark_jdbc_jar }}",
        # The compiled classes Spark keeps (LONG_RUNNING_DRIVER_CONF) need room beside the Delta
        # tables' states. With them, silver's p95 on the demo stack was 14.4-14.6 s with 1.5 GiB
        # (two runs), 31 s with 1 GiB (one run); 17-22 s without them.
        driver_memory="1536m",
        conf={
            "spark.jars.ivy": "{{ var.value.lakehouse_spark_ivy_dir }}",
            "spark.ui.port": "{{ var.value.get('lakehouse_spark_ui_port', '4040') }}",
            # The UI can look, not kill: it has no login.
            "spark.ui.killEnabled": "false",
            "spark.driver.bindAddress": LOCAL_IP,
            "spark.driver.host": LOCAL_IP,
            "spark.sql.shuffle.partitions": "4",
            **logstore_conf(),
            **EVENT_LOG,
        },
        application_args=JOB_ARGUMENTS,
        env_vars={
            "AWS_ACCESS_KEY_ID": "{{ conn.lake_s3.login }}",
            "AWS_SECRET_ACCESS_KEY": "{{ conn.lake_s3.password }}",
            URL_VARIABLE: METASTORE_URL,
            USER_VARIABLE: "{{ conn.lake_metastore.login }}",
            PASSWORD_VARIABLE: "{{ conn.lake_metastore.password }}",
            # Spark's web UI binds to SPARK_LOCAL_IP, not to spark.driver.bindAddress.
            "SPARK_LOCAL_IP": LOCAL_IP,
            # glibc gives each thread that allocates its own 64 MiB arena, up to 8 per core; the
            # driver runs some 800 threads (Spark's, s3a's, Delta's), so its native memory grows
            # with them. Two arenas bound it.
            "MALLOC_ARENA_MAX": "2",
        },
        retries=3,
        # A driver that died (the lake was away, its lease lapsed) is replaced at once: the lease,
        # not the delay, keeps two drivers apart, and every second here is a second of stale silver.
        retry_delay=timedelta(seconds=5),
    )

    start_allowed(BUCKET) >> run


lakehouse_stream()
