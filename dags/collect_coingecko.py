"""
### collect_coingecko

Every minute, for the data interval [T, T+1m), land CoinGecko responses untouched in the raw zone
(`s3://lake/raw/coingecko/<endpoint>/...`), one envelope object per response:

- **prices**: live, `/simple/price` for the chosen coins and currencies (market cap, 24h volume,
  24h change, last update); history, `/coins/{id}/market_chart/range` per coin and currency for
  exactly the interval.
- **markets**: live, `/coins/markets` for the first currency, the top N coins by market cap, one
  object per page; skipped in history runs (the API keeps no history of it).

A run is *history* when its interval ended more than 10 minutes ago: a backfill, e.g.
`airflow backfill create --dag-id collect_coingecko --from-date 2026-11-25T10:00:00+00:00
--to-date 2026-11-25T10:59:00+00:00` (both ends inclusive: 60 runs), or in the UI the Dag's
*Trigger* button, then *Backfill*, a date range and *Run Backfill*. Backfill calls are spaced to
stay within the API's rate limit (connection extra `rate_limit_per_minute`) shared by the tasks of
the `coingecko_api` pool.

A failed request lands nothing, logs one line (endpoint, status) and fails the task, which Airflow
retries. Coins, currencies and N can be changed per run in the trigger form; ids are lower case
without spaces (the API silently drops an item after ", ").

Connections: `coingecko_api` (base URL, key, plan), `lake_s3` (the lake). Variable:
`lakehouse_bucket`. Pool: `coingecko_api`.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Param, dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from lakehouse.config import CoinGeckoSettings
from lakehouse.sources.coingecko import MAX_TOP_N

# Defaults of the trigger form from COINGECKO_COINS, ..._CURRENCIES, ..._MARKETS_TOP_N (no I/O).
DEFAULTS = CoinGeckoSettings.from_env(os.environ)
ID_LIST: dict[str, Any] = {
    "type": "array",
    "minItems": 1,
    "items": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$"},
}


@dag(
    schedule=CronDataIntervalTimetable("* * * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=3,
    doc_md=__doc__,
    tags=["lakehouse", "collect", "coingecko"],
    params={
        "coins": Param(
            list(DEFAULTS.coins), description="CoinGecko coin ids: lower case, no spaces", **ID_LIST
        ),
        "currencies": Param(
            list(DEFAULTS.currencies), description="vs_currencies: lower case", **ID_LIST
        ),
        "top_n": Param(
            DEFAULTS.markets_top_n,
            type="integer",
            minimum=1,
            maximum=MAX_TOP_N,
            description="/coins/markets: how many coins, by market cap",
        ),
        "history": Param(
            False,
            type="boolean",
            description="fetch the history endpoints even for a recent interval",
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
def collect_coingecko() -> None:
    @task(pool="coingecko_api")
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
            "coingecko", part, params, data_interval_start, data_interval_end, run_id
        )

    collect.override(task_id="prices")("prices")
    collect.override(task_id="markets")("markets")


collect_coingecko()
