"""Probe: the third source's collect DAG (tests/third_source/dags) as Airflow parses it, and its
hook. Run by tests/unit/test_third_source.py as `python third_source_dag.py REPO_ROOT` with
LAKEHOUSE_EXTRA_SOURCES naming the source; prints one line `PROBE<json>`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def probe(repo: Path) -> dict[str, Any]:
    sys.path.insert(0, str(repo / "plugins"))
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(repo / "tests" / "third_source" / "dags"))
    dag = bag.dags["collect_echo"]

    from lakehouse.sources.registry import get_source
    from lakehouse_airflow.hooks import SourceHook

    hook = SourceHook(get_source("echo"))
    return {
        "import_errors": {k: str(v) for k, v in bag.import_errors.items()},
        "tasks": {task.task_id: task.pool for task in dag.tasks},
        "params": dag.params.dump(),
        "fileloc": Path(dag.fileloc).name,
        "doc": bool(dag.doc_md),
        "client_host": hook.get_conn().host,
        "rate_limit": hook.rate_limit_per_minute,
    }


def main() -> None:
    print("PROBE" + json.dumps(probe(Path(sys.argv[1]))))


if __name__ == "__main__":
    main()
