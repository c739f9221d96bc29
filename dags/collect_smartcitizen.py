"""
### collect_smartcitizen

Every minute, for the data interval [T, T+1m), land Smart Citizen responses untouched in the raw
zone (`s3://lake/raw/smartcitizen/<endpoint>/...`), one envelope object per response:

- **devices**: live, `/v0/devices/{id}` for each chosen device (its latest readings; every shape
  the API has served parses downstream, also `"data": {}`); history, for each device the readings
  of each of its sensors over exactly the interval (`/v0/devices/{id}/readings`, 1-minute rollup;
  the device object is fetched first to list its sensors, and not landed).
- **world_map**: live, `/v0/devices/world_map` when enabled; skipped otherwise and in history runs.

A run is *history* when its interval ended more than 10 minutes ago: a backfill, e.g.
`airflow backfill create --dag-id collect_smartcitizen --from-date 2026-11-25T10:00:00+00:00
--to-date 2026-11-25T10:59:00+00:00` (both ends inclusive: 60 runs), or in the UI the Dag's
*Trigger* button, then *Backfill*, a date range and *Run Backfill*. Backfill calls are spaced to
stay within the API's rate limit (connection extra `rate_limit_per_minute`, default 120/min of
the ~150/min per IP) shared by the tasks of the `smartcitizen_api` pool.

A failed request lands nothing, logs one line (endpoint, status) and fails the task after the other
requests have landed; Airflow retries it.

Connections: `smartcitizen_api` (base URL), `lake_s3` (the lake). Variable: `lakehouse_bucket`.
Pool: `smartcitizen_api`.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from lakehouse.config import SmartCitizenSettings

# Defaults of the trigger form from SMARTCITIZEN_DEVICES and SMARTCITIZEN_WORLD_MAP (no I/O).
DEFAULTS = SmartCitizenSettings.from_env(os.environ)


@dag(
    schedule=CronDataIntervalTimetable("* * * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=3,
    doc_md=__doc__,
    tags=["lakehouse", "collect", "smartcitizen"],
    params={
        "devices": Param(
            list(DEFAULTS.devices),
            type="array",
            minItems=1,
            items={"type": "integer", "minimum": 1},
            description="Smart Citizen device ids",
        ),
        "world_map": Param(
            DEFAULTS.world_map, type="boolean", description="also land the world map (live only)"
        ),
        "history": Param(
            False,
            type="boolean",
            description="fetch the readings history even for a recent interval",
        ),
    },
    default_args={
        "retries": 3,
        "retry_delay": timedelta(seconds=5),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=2),
        "execution_timeout": timedelta(minutes=10),
    },
)
def collect_smartcitizen() -> None:
    @task(pool="smartcitizen_api")
    def collect(
        part: str,
        params: dict | None = None,
        data_interval_start: pendulum.DateTime | None = None,
        data_interval_end: pendulum.DateTime | None = None,
        run_id: str | None = None,
    ) -> list[str]:
        from lakehouse_airflow.collection import collect_interval

        assert params is not None and run_id is not None
        return collect_interval(
            "smartcitizen", part, params, data_interval_start, data_interval_end, run_id
        )

    collect.override(task_id="devices")("devices")
    collect.override(task_id="world_map")("world_map")


collect_smartcitizen()
