"""
### lakehouse_stream

Keeps the one streaming driver of the lake alive: a SparkSubmitOperator task runs
`jobs/lakehouse_stream.py`, which turns raw envelopes into `bronze.raw_events` and
`silver.coin_prices` (Delta, exactly once, from its checkpoints). The DAG is `@continuous` with one
active run: when the driver dies, the task retries, and a finished run is followed by a new one.

Connections: `spark_default` (master: local[2] or spark://host:7077), `lake_s3` (its credentials
reach the driver as environment variables, never on the command line). Variables:
`lakehouse_bucket`, `lakehouse_spark_ivy_dir`, `lakehouse_spark_ui_port`. The Spark UI shows the
queries `raw_to_bronze` and `bronze_to_silver_coin_prices`.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import dag

from lakehouse.spark.packages import SPARK_EXCLUDED_PACKAGES, SPARK_PACKAGES

STREAM_JOB = Path(__file__).resolve().parents[1] / "jobs" / "lakehouse_stream.py"
TRIGGER_SECONDS = 5


@dag(
    schedule="@continuous",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["lakehouse", "spark"],
)
def lakehouse_stream() -> None:
    SparkSubmitOperator(
        task_id="run_stream_job",
        application=str(STREAM_JOB),
        name="lakehouse_stream",
        conn_id="spark_default",
        packages=",".join(SPARK_PACKAGES),
        exclude_packages=",".join(SPARK_EXCLUDED_PACKAGES),
        driver_memory="1g",
        conf={
            "spark.jars.ivy": "{{ var.value.lakehouse_spark_ivy_dir }}",
            "spark.ui.port": "{{ var.value.get('lakehouse_spark_ui_port', '4040') }}",
            "spark.sql.shuffle.partitions": "4",
        },
        application_args=[
            "--lake-uri",
            "s3a://{{ var.value.get('lakehouse_bucket', 'lake') }}",
            "--s3-endpoint",
            "{{ conn.lake_s3.extra_dejson.endpoint_url }}",
            "--trigger-seconds",
            str(TRIGGER_SECONDS),
        ],
        env_vars={
            "AWS_ACCESS_KEY_ID": "{{ conn.lake_s3.login }}",
            "AWS_SECRET_ACCESS_KEY": "{{ conn.lake_s3.password }}",
        },
        retries=3,
        retry_delay=timedelta(seconds=15),
    )


lakehouse_stream()
