"""The body of every collection task: Airflow's context in, one `lakehouse.collect` run out.

Both collect DAGs call `collect_interval`; it turns Params, the data interval and the Connections
into the arguments of `run_coingecko` / `run_smartcitizen`, and their outcome into Airflow's terms
(a bad Param fails without retries, nothing to fetch is a skip).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from airflow.sdk import Variable
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from lakehouse.collect import run_coingecko, run_smartcitizen
from lakehouse.config import Settings
from lakehouse.raw_zone import DataInterval
from lakehouse.sources.planning import CoinGeckoSelection, SmartCitizenSelection
from lakehouse_airflow.hooks import CoinGeckoHook, SmartCitizenHook, raw_zone_writer

POOLS = {"coingecko": "coingecko_api", "smartcitizen": "smartcitizen_api"}
SELECTIONS: dict[str, type[CoinGeckoSelection] | type[SmartCitizenSelection]] = {
    "coingecko": CoinGeckoSelection,
    "smartcitizen": SmartCitizenSelection,
}


def collect_interval(
    source: str,
    part: str,
    params: dict[str, Any],
    data_interval_start: datetime | None,
    data_interval_end: datetime | None,
    run_id: str,
) -> list[str]:
    """Collect `part` of `source` for the run's data interval; returns the raw-zone keys."""
    if data_interval_start is None or data_interval_end is None:
        raise AirflowFailException(f"collect_{source} needs a data interval; this run has none")
    common: dict[str, Any] = {
        "interval": DataInterval(data_interval_start, data_interval_end),
        "run_id": run_id,
        "now": datetime.now(UTC),
        "concurrent_tasks": Settings.from_env().pool_slots[POOLS[source]],
        "history": bool(params.get("history", False)),
        "parts": (part,),
    }
    writer = raw_zone_writer(Variable.get("lakehouse_bucket", default="lake"))
    try:
        selection = SELECTIONS[source].from_params(params)
    except ValueError as exc:  # a bad Param: retrying cannot help
        raise AirflowFailException(f"bad params: {exc}") from exc
    if isinstance(selection, CoinGeckoSelection):
        coingecko = CoinGeckoHook()
        outcome = run_coingecko(
            coingecko.get_conn, writer, selection,
            rate_limit_per_minute=coingecko.rate_limit_per_minute, **common,
        )  # fmt: skip
    else:
        smartcitizen = SmartCitizenHook()
        outcome = run_smartcitizen(
            smartcitizen.get_conn, writer, selection,
            rate_limit_per_minute=smartcitizen.rate_limit_per_minute, **common,
        )  # fmt: skip
    if not outcome.results and outcome.skipped:
        raise AirflowSkipException("; ".join(outcome.skipped))
    return outcome.keys
