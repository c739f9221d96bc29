"""Runner: the collect DAGs run by Airflow's task runner (`dag.test()`).

Run by tests/integration/test_collect_dags_airflow.py as
`python run_collect_dags.py DAGS_FOLDER RUNS_JSON` in a fresh interpreter with its own
AIRFLOW_HOME and migrated database. RUNS_JSON is a list of `[dag_id, logical_date_iso, conf]`;
prints one line `RESULTS<json>`: per run `[dag_id, run_state, {task_id: state}]`, or
`[dag_id, "refused", "Error: message"]` when the run could not start (e.g. a bad Param). Not a
test module: nothing happens on import.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any


def run_dags(dags_folder: str, runs: list[tuple[str, str, dict[str, Any]]]) -> list[list[Any]]:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=dags_folder)
    results: list[list[Any]] = []
    for dag_id, logical_date, conf in runs:
        try:
            when = datetime.fromisoformat(logical_date)
            run = bag.dags[dag_id].test(logical_date=when, run_conf=conf)
            states = {ti.task_id: ti.state for ti in run.get_task_instances()}
            results.append([dag_id, str(run.state), {k: str(v) for k, v in states.items()}])
        except Exception as exc:
            results.append([dag_id, "refused", f"{type(exc).__name__}: {exc}"])
    return results


def main() -> None:
    print("RESULTS" + json.dumps(run_dags(sys.argv[1], json.loads(sys.argv[2]))))


if __name__ == "__main__":
    main()
