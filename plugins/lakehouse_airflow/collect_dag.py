"""The DAG factory behind every `collect_<source>` DAG file: one shape for every source.

Each DAG runs every minute for the data interval [T, T+1m), one task per part of the source (in
the source's pool), with the source's Params in the trigger form plus `history`. Its tasks weigh
live runs above backfill runs (`lakehouse_airflow.priority`), so a backfill never starves the live
minutes. A DAG file stays one line of wiring: `collect_dag("<source>", doc_md=__doc__)()`;
calling the returned function in the DAG file makes that file the DAG's `fileloc`, as for any
`@dag`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, Param, dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from lakehouse.sources.registry import get_source
from lakehouse_airflow.priority import LiveFirst
from lakehouse_airflow.retry import CollectRetryPolicy

RETRIES: dict[str, Any] = {
    # 15, 30, 60, 120, 240 s: five retries outlive an API outage of about 8 minutes; a 429 waits
    # its Retry-After; a hopeless 4xx fails at once (`lakehouse.retries`). A lake outage needs no
    # retry: what the lake could not take waits in the spool.
    "retries": 5,
    "retry_policy": CollectRetryPolicy(),
    "execution_timeout": timedelta(minutes=10),
}


def trigger_params(source_name: str) -> dict[str, Param]:
    """The source's Params, with defaults from its settings (environment only: no I/O)."""
    source = get_source(source_name)
    params: dict[str, Param] = {}
    for name, schema in source.params(source.settings_from_env(os.environ)).items():
        spec = dict(schema)
        params[name] = Param(spec.pop("default"), **spec)
    params["history"] = Param(
        False, type="boolean", description="fetch the history endpoints even for a recent interval"
    )
    return params


def collect_dag(source_name: str, doc_md: str | None) -> Callable[[], DAG]:
    """The `@dag` function of `collect_<source_name>`; the DAG file calls it."""
    source = get_source(source_name)

    @dag(
        dag_id=source.dag_id,
        schedule=CronDataIntervalTimetable("* * * * *", timezone="UTC"),
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=3,
        doc_md=doc_md,
        tags=["lakehouse", "collect", *source.tags],
        params=trigger_params(source_name),
        default_args=RETRIES,
    )
    def collect_source() -> None:
        @task(pool=source.pool, weight_rule=LiveFirst())
        def collect(
            part: str,
            params: dict[str, Any] | None = None,
            data_interval_start: pendulum.DateTime | None = None,
            data_interval_end: pendulum.DateTime | None = None,
            run_id: str | None = None,
        ) -> list[str]:
            from lakehouse_airflow.collection import collect_interval

            assert params is not None and run_id is not None
            return collect_interval(
                source_name, part, params, data_interval_start, data_interval_end, run_id
            )

        for part in source.parts:
            collect.override(task_id=part)(part)

    return collect_source
