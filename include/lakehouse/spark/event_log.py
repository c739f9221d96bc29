"""The stream driver's Spark event log, which the History Server replays (runtime.spark_history).

Importable without pyspark: the DAG uses it. The log goes to a folder on the driver's machine,
never the lake: s3a shows an object only once its stream is closed, so the log of a running driver
would stay invisible, and the log of a killed one would be lost. Rolling cuts the log into files of
ROLLING_MAX_FILE_SIZE, so that the History Server can compact a driver that runs for weeks (it
keeps the newest files whole and drops the events of finished jobs from the older ones) instead of
replaying one file that only grows.
"""

from __future__ import annotations

ROLLING_MAX_FILE_SIZE = "16m"
"""Spark refuses less than 10 MiB (`spark.eventLog.rolling.maxFileSize`)."""


def event_log_conf(directory: str, enabled: str = "true") -> dict[str, str]:
    """The conf that makes a driver write rolling, compressed event logs into `directory` (a URI).

    Spark refuses to start a driver whose event log folder does not exist, so a deployment
    without one passes `enabled="false"`.
    """
    return {
        "spark.eventLog.enabled": enabled,
        "spark.eventLog.dir": directory,
        "spark.eventLog.rolling.enabled": "true",
        "spark.eventLog.rolling.maxFileSize": ROLLING_MAX_FILE_SIZE,
        # Spark 4's default, said here: the History Server reads the zstd files as they grow.
        "spark.eventLog.compress": "true",
    }
