"""The Spark History Server of the local stack: how it runs, what it reads, and what the driver
is told to write there."""

from __future__ import annotations

from pathlib import Path

from lakehouse.config import Settings
from lakehouse.runtime import spark_history
from lakehouse.runtime.airflow_stack import airflow_env
from lakehouse.runtime.stack import LocalStack, ensure_credentials
from lakehouse.spark.event_log import event_log_conf


def read_conf(path: Path) -> dict[str, str]:
    rows = [line.split(" ", 1) for line in path.read_text().splitlines() if line[:1] != "#"]
    return {key: value for key, value in rows}


def test_the_server_runs_from_pyspark_on_loopback_with_a_small_heap(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"LAKEHOUSE_HOME": str(tmp_path), "LAKEHOUSE_SPARK_HISTORY_PORT": "18181"}
    )

    spec = spark_history.history_spec(settings, {"PATH": "/usr/bin"})

    argv = list(spec.argv)
    command = argv[argv.index("--") + 1 :]  # under the supervisor, which restarts it
    assert argv[argv.index("--") - 1] == "spark-history"
    assert command[0].endswith("pyspark/bin/spark-class")
    assert command[1:] == [
        "org.apache.spark.deploy.history.HistoryServer",
        "--properties-file",
        str(spark_history.conf_file(tmp_path)),
    ]
    # Its web UI binds to SPARK_LOCAL_IP; without it Spark binds to every interface.
    assert spec.env["SPARK_LOCAL_IP"] == "127.0.0.1"
    assert spec.env["SPARK_DAEMON_MEMORY"] == "384m"
    assert spec.ports == (18181,)
    assert spec.url == "http://127.0.0.1:18181"


def test_the_conf_reads_the_event_log_folder_and_cleans_it(tmp_path: Path) -> None:
    path = spark_history.write_conf(tmp_path, 18181)

    conf = read_conf(path)
    folder = tmp_path / "spark-events"
    assert folder.is_dir()  # before any driver starts: Spark refuses a folder that is missing
    assert conf["spark.history.fs.logDirectory"] == folder.as_uri()
    assert conf["spark.history.ui.port"] == "18181"
    assert conf["spark.history.fs.cleaner.enabled"] == "true"
    assert conf["spark.history.fs.cleaner.maxAge"] == "7d"
    assert int(conf["spark.history.fs.eventLog.rolling.maxFilesToRetain"]) >= 1
    # Written again at every start, with the port of that start.
    assert read_conf(spark_history.write_conf(tmp_path, 18182))["spark.history.ui.port"] == "18182"


def test_the_stack_starts_it_before_airflow_and_tells_the_driver_where_to_log(
    tmp_path: Path,
) -> None:
    creds = ensure_credentials(tmp_path / "credentials.env")
    settings = Settings.from_env({"LAKEHOUSE_HOME": str(tmp_path)})

    names = [spec.name for spec in LocalStack(settings).specs(creds)]

    assert names.index("spark-history") < names.index("airflow-scheduler")
    env = airflow_env(settings, "demo", creds, tmp_path / "airflow", tmp_path / "p.json")
    assert env["AIRFLOW_VAR_LAKEHOUSE_SPARK_EVENT_LOG_DIR"] == str(tmp_path / "spark-events")
    assert settings.ports.spark_history == 18080


def test_the_driver_rolls_its_event_log() -> None:
    conf = event_log_conf("file:///var/events")

    assert conf["spark.eventLog.enabled"] == "true"
    assert conf["spark.eventLog.dir"] == "file:///var/events"
    assert conf["spark.eventLog.rolling.enabled"] == "true"
    size = conf["spark.eventLog.rolling.maxFileSize"]
    assert size.endswith("m") and int(size[:-1]) >= 10  # Spark's minimum is 10 MiB
