"""
### collect_coingecko

Every minute, for the data interval [T, T+1m): fetch CoinGecko `/simple/price` for the chosen coins
and currencies and land the response, untouched, as one envelope object in the raw zone
(`s3://lake/raw/coingecko/simple_price/...`). A failed fetch lands nothing and fails the task, which
retries with backoff. Coins and currencies can be changed per run in the trigger form.

Connections: `coingecko_api` (base URL and key), `lake_s3` (the lake). Variable: `lakehouse_bucket`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

COINS = ["bitcoin", "ethereum", "solana"]
CURRENCIES = ["usd", "eur"]
ID_LIST = {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": "^[a-z0-9-]+$"}}


@dag(
    schedule=CronDataIntervalTimetable("* * * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=3,
    doc_md=__doc__,
    tags=["lakehouse", "collect", "coingecko"],
    params={
        "coins": Param(COINS, description="CoinGecko coin ids, lower case", **ID_LIST),
        "currencies": Param(CURRENCIES, description="vs_currencies, lower case", **ID_LIST),
    },
    default_args={
        "retries": 3,
        "retry_delay": timedelta(seconds=5),
        "retry_exponential_backoff": True,
    },
)
def collect_coingecko() -> None:
    @task
    def fetch_simple_price(
        params: dict | None = None,
        data_interval_start: pendulum.DateTime | None = None,
        data_interval_end: pendulum.DateTime | None = None,
        run_id: str | None = None,
    ) -> list[str]:
        from airflow.sdk import Variable

        from lakehouse.collect import collect_coingecko_prices
        from lakehouse.raw_zone import DataInterval
        from lakehouse_airflow.hooks import CoinGeckoHook, raw_zone_writer

        assert params is not None and run_id is not None
        if data_interval_start is None or data_interval_end is None:
            raise ValueError("collect_coingecko needs a data interval; this run has none")
        results = collect_coingecko_prices(
            CoinGeckoHook().get_conn(),
            raw_zone_writer(Variable.get("lakehouse_bucket", default="lake")),
            coins=params["coins"],
            currencies=params["currencies"],
            interval=DataInterval(data_interval_start, data_interval_end),
            run_id=run_id,
        )
        return [result.key for result in results]

    fetch_simple_price()


collect_coingecko()
