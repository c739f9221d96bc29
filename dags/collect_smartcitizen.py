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
*Trigger* button, then *Backfill*, a date range and *Run Backfill*. Live and backfill calls
share one limiter within the API's rate limit (connection extra `rate_limit_per_minute`), and live
runs weigh more than backfill runs for the `smartcitizen_api` pool (README, "Call budget").

A failed request lands nothing, logs one line (endpoint, status) and fails the task after the other
requests have landed; Airflow retries it.

Connections: `smartcitizen_api` (base URL), `lake_s3` (the lake). Variable: `lakehouse_bucket`.
Pool: `smartcitizen_api`.
"""

from __future__ import annotations

from lakehouse_airflow.collect_dag import collect_dag

collect_smartcitizen = collect_dag("smartcitizen", doc_md=__doc__)
collect_smartcitizen()
