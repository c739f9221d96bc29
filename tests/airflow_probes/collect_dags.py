"""Probe: the collect DAGs as Airflow parses them, their trigger-form Params, and the hooks.

Run by tests/unit/test_collect_dags.py as `python collect_dags.py REPO_ROOT` in a fresh
interpreter with its own AIRFLOW_HOME (Airflow reads its configuration once per process); prints
one line `PROBE<json>`. Not a test module: nothing happens on import.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

# Values the trigger form must refuse, and values it must accept, per DAG.
BAD: dict[str, list[tuple[str, Any]]] = {
    "collect_coingecko": [
        ("coins", ["Bitcoin"]), ("coins", ["bitcoin", " ethereum"]), ("coins", []),
        ("coins", "bitcoin,ethereum"), ("currencies", ["usd", "EUR"]), ("top_n", 0),
        ("top_n", 5000), ("top_n", "ten"), ("history", "yes"),
    ],
    "collect_smartcitizen": [
        ("devices", ["abc"]), ("devices", [0]), ("devices", []), ("world_map", "yes"),
    ],
}  # fmt: skip
GOOD: dict[str, list[tuple[str, Any]]] = {
    "collect_coingecko": [("coins", ["cardano", "usd-coin"]), ("top_n", 1000)],
    "collect_smartcitizen": [("devices", [1, 99999]), ("world_map", True)],
}


def probe(repo_root: Path) -> dict[str, Any]:
    sys.path.insert(0, str(repo_root / "plugins"))
    from airflow.dag_processing.dagbag import DagBag
    from airflow.serialization.serialized_objects import DagSerialization

    bag = DagBag(dag_folder=str(repo_root / "dags"))
    dags: dict[str, Any] = {}
    out: dict[str, Any] = {
        "import_errors": {k: str(v) for k, v in bag.import_errors.items()},
        "dags": dags,
    }
    for dag_id in ("collect_coingecko", "collect_smartcitizen"):
        dag = bag.dags[dag_id]
        refused: dict[str, str] = {}
        accepted: list[str] = []
        for name, value in BAD[dag_id]:
            params = copy.deepcopy(dag.params)
            try:
                params[name] = value
            except Exception as exc:
                refused[f"{name}={value!r}"] = f"{type(exc).__name__}: {exc}"
        for name, value in GOOD[dag_id]:
            params = copy.deepcopy(dag.params)
            params[name] = value
            accepted.append(name)
        dags[dag_id] = {
            "tasks": {t.task_id: t.pool for t in dag.tasks},
            "params": dag.params.dump(),
            "timetable": type(dag.timetable).__name__,
            "max_active_runs": dag.max_active_runs,
            "refused": refused,
            "accepted": accepted,
            "doc": bool(dag.doc_md),
            "retries": {t.task_id: [t.retries, type(t.retry_policy).__name__] for t in dag.tasks},
            "serialized_retry_policy": DagSerialization.from_dict(DagSerialization.to_dict(dag))
            .get_task("prices" if dag_id == "collect_coingecko" else "devices")
            .has_retry_policy,
        }

    heal = bag.dags["heal_collections"]
    out["heal"] = {
        "tasks": {t.task_id: [t.pool, type(t.retry_policy).__name__] for t in heal.tasks},
        "params": heal.params.dump(),
        "schedule": [type(heal.timetable).__name__, str(getattr(heal.timetable, "delta", None))],
    }

    reconciliation = bag.dags["reconcile_landed_log"]
    out["reconcile"] = {
        "tasks": [t.task_id for t in reconciliation.tasks],
        "params": reconciliation.params.dump(),
        "schedule": str(getattr(reconciliation.timetable, "delta", None)),
        "max_active_runs": reconciliation.max_active_runs,
        "doc": bool(reconciliation.doc_md),
    }

    from lakehouse.sources.limiter import Unlimited
    from lakehouse.sources.registry import get_source
    from lakehouse_airflow.hooks import SourceHook

    cg = SourceHook(get_source("coingecko"))
    limiter = Unlimited()
    client = cg.get_conn(limiter)
    sc = SourceHook(get_source("smartcitizen"))
    out["priority"] = priority_weights(bag.dags["collect_coingecko"])
    out["hooks"] = {
        "coingecko": [cg.connection().extra["plan"], cg.rate_limit_per_minute,
                      client._http.base_url, sorted(client._http._headers),
                      client._http._limiter is limiter],
        "smartcitizen": [sc.rate_limit_per_minute, sc.get_conn()._http.base_url],
    }  # fmt: skip
    return out


def priority_weights(dag: Any) -> dict[str, Any]:
    """The collect tasks' weight rule after the DAG's serialization round trip (as the scheduler
    reads it), and the weights it gives a scheduled, a manual and a backfill task instance."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.serialization.serialized_objects import DagSerialization

    serialized = DagSerialization.from_dict(DagSerialization.to_dict(dag))
    task = serialized.get_task("prices")
    rule = task.weight_rule
    weights = {
        run_id.split("__")[0]: rule.get_weight(
            TaskInstance(task=task, run_id=run_id, map_index=-1, dag_version_id=None)
        )
        for run_id in (
            "scheduled__2026-01-01T00:01:00+00:00",
            "manual__2026-01-01T00:01:00+00:00",
            "backfill__2026-01-01T00:01:00+00:00",
        )
    }
    return {"rule": f"{type(rule).__module__}.{type(rule).__name__}", "weights": weights}


def main() -> None:
    print("PROBE" + json.dumps(probe(Path(sys.argv[1]))))


if __name__ == "__main__":
    main()
