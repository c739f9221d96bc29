"""Live runs before backfills: the collect tasks' priority weight strategy.

A backfill of a collect DAG creates many runs whose tasks wait for the same pool as the live
runs; with Airflow's default weights they are ordered by logical date, so the old (backfill)
runs go first and live minutes wait behind them (issue 8 measured 12 minutes). The scheduler
fills a pool's free slots in order of `priority_weight`, highest first, so the live runs' tasks
get the next free slot and wait at most for one backfill task to end.

The weight is set when the scheduler creates the task instance
(`TaskInstance.insert_mapping`), which passes a task instance without its DagRun but with its
`run_id`; Airflow names every backfill run `backfill__<date>` (`DagRunType.BACKFILL_JOB`,
airflow/models/backfill.py), so the run id is what tells a backfill apart. A custom strategy must
be registered by a plugin (`priority_weight_strategies`, see `lakehouse_plugin.py`) and is
serialized by class path, so it keeps no state (Airflow docs, "Priority Weights").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.task.priority_strategy import PriorityWeightStrategy

if TYPE_CHECKING:
    from airflow.models.taskinstance import TaskInstance

LIVE_WEIGHT = 100
"""Scheduled, manual and every other run type: the live minutes."""
BACKFILL_WEIGHT = 1
BACKFILL_PREFIX = "backfill__"


def weight_for_run(run_id: str | None) -> int:
    """A backfill run's tasks weigh least; every other run's the most."""
    return BACKFILL_WEIGHT if (run_id or "").startswith(BACKFILL_PREFIX) else LIVE_WEIGHT


class LiveFirst(PriorityWeightStrategy):
    """Priority weight: high for live (scheduled, manual) runs, low for backfill runs."""

    def get_weight(self, ti: TaskInstance) -> int:
        return weight_for_run(ti.run_id)
