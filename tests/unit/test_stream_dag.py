"""The lakehouse_stream DAG as Airflow parses it.

The probe tests/airflow_probes/stream_dag.py runs in a subprocess with its own AIRFLOW_HOME.
"""

from __future__ import annotations

from typing import Any

import pytest
from airflow_probe import PROBES_DIR, run_probe

from lakehouse.spark.packages import LOGSTORE_CLASS

PROBE = PROBES_DIR / "stream_dag.py"


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_probe(PROBE, tmp_path_factory.mktemp("airflow-home"))


def test_the_stream_dag_waits_for_a_stop_request_to_go_then_submits(parsed: dict[str, Any]) -> None:
    assert parsed["import_errors"] == {}
    assert parsed["tasks"] == ["run_stream_job", "start_allowed"]
    assert parsed["upstream"] == ["start_allowed"]
    assert parsed["sensor_mode"] == "reschedule"
    assert parsed["max_active_runs"] == 1
    assert parsed["timetable"] == "ContinuousTimetable"


def test_the_job_gets_its_options_and_no_secret_on_the_command_line(
    parsed: dict[str, Any],
) -> None:
    args = parsed["args"]
    options = dict(zip(args[::2], args[1::2], strict=True))
    assert set(options) >= {
        "--lake-uri", "--s3-endpoint", "--trigger-seconds", "--max-files-per-trigger",
        "--optimize-minutes", "--vacuum-minutes", "--vacuum-retain-hours",
        "--lease-ttl-seconds", "--lease-wait-seconds",
    }  # fmt: skip
    assert float(options["--lease-wait-seconds"]) > float(options["--lease-ttl-seconds"])
    assert not any("password" in a or "login" in a for a in args)
    assert parsed["env"] == [
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "LAKEHOUSE_METASTORE_PASSWORD",
        "LAKEHOUSE_METASTORE_URL", "LAKEHOUSE_METASTORE_USER", "MALLOC_ARENA_MAX",
        "SPARK_LOCAL_IP",
    ]  # fmt: skip


def test_the_driver_listens_on_loopback_unless_the_deployment_says_otherwise(
    parsed: dict[str, Any],
) -> None:
    local_ip = "{{ var.value.get('lakehouse_spark_local_ip', '127.0.0.1') }}"
    assert parsed["conf"]["spark.driver.bindAddress"] == local_ip
    assert parsed["conf"]["spark.driver.host"] == local_ip
    assert parsed["conf"]["spark.ui.killEnabled"] == "false"


def test_the_driver_commits_through_the_conditional_put_log_store(parsed: dict[str, Any]) -> None:
    assert parsed["conf"]["spark.delta.logStore.s3a.impl"] == LOGSTORE_CLASS
    assert parsed["jars"] == "{{ var.value.lakehouse_spark_logstore_jar }}"


class FakeVariables:
    """`var.value` of a template context, holding the given Variables."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.values.get(name, default)


def rendered_event_log(conf: dict[str, str], variables: dict[str, str]) -> dict[str, str]:
    import jinja2

    context = {"var": {"value": FakeVariables(variables)}}
    return {
        key: jinja2.Environment().from_string(value).render(context)
        for key, value in conf.items()
        if key.startswith("spark.eventLog.")
    }


def test_the_driver_logs_events_where_the_deployment_says(parsed: dict[str, Any]) -> None:
    folder = {"lakehouse_spark_event_log_dir": "/srv/lakehouse/spark-events"}

    conf = rendered_event_log(parsed["conf"], folder)

    assert conf["spark.eventLog.enabled"] == "true"
    assert conf["spark.eventLog.dir"] == "file:///srv/lakehouse/spark-events"
    assert conf["spark.eventLog.rolling.enabled"] == "true"


def test_without_the_variable_the_driver_logs_no_events(parsed: dict[str, Any]) -> None:
    # Spark would refuse to start with an event log folder that does not exist.
    for variables in ({}, {"lakehouse_spark_event_log_dir": ""}):
        conf = rendered_event_log(parsed["conf"], variables)

        assert conf["spark.eventLog.enabled"] == "false"


def test_the_driver_finds_the_metastore_jdbc_driver_on_its_class_path(
    parsed: dict[str, Any],
) -> None:
    assert parsed["driver_class_path"] == "{{ var.value.lakehouse_spark_jdbc_jar }}"
