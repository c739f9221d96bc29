"""Probe: the lakehouse_stream DAG as Airflow parses it.

Run by tests/unit/test_stream_dag.py as `python stream_dag.py REPO_ROOT` in a fresh interpreter
with its own AIRFLOW_HOME (Airflow reads its configuration once per process); prints one line
`PROBE<json>`. Not a test module: nothing happens on import.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def probe(repo_root: Path) -> dict[str, Any]:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
    from airflow.sdk import BaseSensorOperator

    bag = DagBag(dag_folder=str(repo_root / "dags" / "lakehouse_stream.py"))
    dag = bag.dags["lakehouse_stream"]
    run = dag.get_task("run_stream_job")
    sensor = dag.get_task("start_allowed")
    assert isinstance(run, SparkSubmitOperator), type(run)
    assert isinstance(sensor, BaseSensorOperator), type(sensor)
    return {
        "import_errors": {k: str(v) for k, v in bag.import_errors.items()},
        "tasks": sorted(t.task_id for t in dag.tasks),
        "upstream": sorted(run.upstream_task_ids),
        "sensor_mode": sensor.mode,
        "args": list(run.application_args or []),
        "env": sorted(run.env_vars or {}),
        "conf": dict(run.conf or {}),
        "jars": run.jars,
        "driver_class_path": run.driver_class_path,
        "max_active_runs": dag.max_active_runs,
        "timetable": type(dag.timetable).__name__,
    }


def main() -> None:
    print("PROBE" + json.dumps(probe(Path(sys.argv[1]))))


if __name__ == "__main__":
    main()
