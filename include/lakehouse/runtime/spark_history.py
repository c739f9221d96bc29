"""A Spark History Server: the stream's Spark UI, also for drivers that died or were replaced.

The driver's own UI (:4040) lives and dies with the driver, and Airflow replaces a dead driver
with a new one, whose UI starts empty. So the driver writes its event log
(`lakehouse.spark.event_log`) into `<home>/spark-events`, which the `lakehouse_spark_event_log_dir`
Variable names (see the `lakehouse_stream` DAG), and this server replays every driver's log,
the running one's too, on 127.0.0.1:18080 (`LAKEHOUSE_SPARK_HISTORY_PORT`).

It runs from pyspark's `bin/spark-class` under the same supervisor as the local cluster's daemons,
with a small heap (SPARK_DAEMON_MEMORY) and its settings in a properties file under the home. Its
web UI binds to SPARK_LOCAL_IP (127.0.0.1); it opens no other port. The log folder stays bounded:
the cleaner deletes the logs of applications older than CLEANER_MAX_AGE, and a driver's rolled
files beyond the newest MAX_FILES_TO_RETAIN are compacted (finished jobs' events are dropped).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from lakehouse.config import Settings
from lakehouse.runtime.processes import ProcessSpec, http_ok
from lakehouse.runtime.spark_cluster import LOCAL_IP, cluster_env, spark_home, supervised

NAME = "spark-history"
MAIN_CLASS = "org.apache.spark.deploy.history.HistoryServer"
DAEMON_MEMORY = "384m"
"""Its heap: the listing of applications and the UIs of the few it keeps cached."""
CLEANER_MAX_AGE = "7d"
MAX_FILES_TO_RETAIN = 4
"""Rolled event log files of one driver that stay whole (of 16 MiB each, see event_log)."""


def event_log_dir(home: Path) -> Path:
    """Where the stream's driver writes its event log and this server reads it."""
    return home / "spark-events"


def conf_file(home: Path) -> Path:
    return home / "spark" / "history" / "spark-history.conf"


def history_conf(log_dir: str, port: int) -> dict[str, str]:
    """The server's settings: the folder it reads (a URI), its port, its cleaner and compaction."""
    return {
        "spark.history.fs.logDirectory": log_dir,
        "spark.history.ui.port": str(port),
        "spark.history.fs.cleaner.enabled": "true",
        "spark.history.fs.cleaner.maxAge": CLEANER_MAX_AGE,
        "spark.history.fs.cleaner.interval": "1h",
        "spark.history.fs.eventLog.rolling.maxFilesToRetain": str(MAX_FILES_TO_RETAIN),
        # Application UIs kept in memory at once (Spark's default, 50, is more than the heap holds).
        "spark.history.retainedApplications": "10",
    }


def write_conf(home: Path, port: int) -> Path:
    """The properties file the server starts with; creates the log folder it reads.

    The folder must exist before a driver starts: Spark refuses an event log folder that does not.
    """
    folder = event_log_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    path = conf_file(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{key} {value}" for key, value in history_conf(folder.as_uri(), port).items()]
    path.write_text("# Written by `lakehouse up`.\n" + "\n".join(lines) + "\n")
    return path


def history_spec(settings: Settings, base: Mapping[str, str]) -> ProcessSpec:
    port = settings.ports.spark_history
    url = f"http://{LOCAL_IP}:{port}"
    argv = [
        str(spark_home() / "bin" / "spark-class"),
        MAIN_CLASS,
        # Read instead of SPARK_CONF_DIR's spark-defaults.conf (the cluster's secret, not needed).
        "--properties-file",
        str(conf_file(settings.home)),
    ]
    return ProcessSpec(
        name=NAME,
        argv=supervised(NAME, argv),
        # SPARK_LOCAL_IP (from the cluster's environment) is the address its web UI binds to.
        env={**cluster_env(settings.home, base), "SPARK_DAEMON_MEMORY": DAEMON_MEMORY},
        health=lambda: http_ok(f"{url}/api/v1/applications"),
        url=url,
        ports=(port,),
    )
