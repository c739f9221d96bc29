"""The lakehouse_stream DAG as Airflow parses it (in a subprocess with its own AIRFLOW_HOME)."""

from __future__ import annotations

from typing import Any

import pytest
from airflow_probe import run_probe

PROBE = r"""
import json, sys
from airflow.dag_processing.dagbag import DagBag

bag = DagBag(dag_folder=sys.argv[1] + "/dags/lakehouse_stream.py")
dag = bag.dags["lakehouse_stream"]
run = dag.get_task("run_stream_job")
sensor = dag.get_task("start_allowed")
print("PROBE" + json.dumps({
    "import_errors": {k: str(v) for k, v in bag.import_errors.items()},
    "tasks": sorted(t.task_id for t in dag.tasks),
    "upstream": sorted(run.upstream_task_ids),
    "sensor_mode": sensor.mode,
    "args": list(run.application_args),
    "env": sorted(run.env_vars),
    "max_active_runs": dag.max_active_runs,
    "timetable": type(dag.timetable).__name__,
}))
"""


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
    assert parsed["env"] == ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
