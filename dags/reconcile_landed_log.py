"""
### reconcile_landed_log

Every 15 minutes, make sure the landed log names every object of the raw zone. The collectors log
each object they land right after its PUT (`lakehouse.landed_log`), so a reader can follow the
raw zone in landing order without listing it; a collector that died, or lost the lake, between
the two left its object unlogged. This task lists `raw/` (off the stream's path, where the
listing's cost does not matter) and logs every object the log lacks that landed more than
`grace_minutes` (Param; default 15) ago; younger ones are left to their writers. It reads only
the entries added since its last run (it keeps the logged keys in `_landed/reconciled.json.gz`).

Connection: `lake_s3`. Variable: `lakehouse_bucket` (default `lake`).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, task

GRACE_MINUTES = 15


@dag(
    schedule=timedelta(minutes=15),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["lakehouse", "raw"],
    params={
        "grace_minutes": Param(
            GRACE_MINUTES,
            type="integer",
            minimum=1,
            description="how long a collector has to log the object it landed",
        )
    },
)
def reconcile_landed_log() -> None:
    @task(retries=3, retry_delay=timedelta(minutes=1))
    def reconcile(params: dict[str, int] | None = None) -> str:
        from lakehouse_airflow.collection import reconcile_landed

        assert params is not None
        return reconcile_landed(timedelta(minutes=int(params["grace_minutes"])))

    reconcile()


reconcile_landed_log()
