"""
### heal_collections

Every minute, per source, fill from the API's history the minutes that no live run collected
(the scheduler was down, a run failed for good), over the last `hours` (Param; default
`LAKEHOUSE_HEAL_HOURS`, 6) up to 3 minutes ago. A minute counts as complete when the raw zone
holds its live object, or when healing already asked history for it: each healed minute leaves a
record under `s3://lake/_healed/<source>/<part>/`, naming the history objects that cover it or
why the API could not serve it. So healing asks once per minute, at the API's grain (one call per
block and series: CoinGecko's hour at 5-minute grain within a day, Smart Citizen's hour of
minute rollups), and never asks again for what the API cannot give. Parts without history
(`/coins/markets`, the world map) are counted, not healed. `lakehouse status` shows each hour's
completeness; the task log names what was missed and healed.

Connections: each source's, and `lake_s3`. Pools: each source's (the calls share its limiter).
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, task

from lakehouse.env import env_float
from lakehouse.sources.registry import sources
from lakehouse_airflow.retry import CollectRetryPolicy

HEAL_HOURS = env_float(os.environ, "LAKEHOUSE_HEAL_HOURS", 6.0)


@dag(
    schedule=timedelta(minutes=1),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["lakehouse", "collect"],
    params={
        "hours": Param(
            HEAL_HOURS, type="number", exclusiveMinimum=0, description="how far back to look"
        )
    },
)
def heal_collections() -> None:
    @task(retries=3, retry_policy=CollectRetryPolicy())
    def heal(source_name: str, params: dict[str, float] | None = None) -> str:
        from lakehouse_airflow.collection import heal_source

        assert params is not None
        return heal_source(source_name, hours=float(params["hours"]))

    for source in sources().values():
        if source.heals:
            heal.override(task_id=source.name, pool=source.pool)(source.name)


heal_collections()
