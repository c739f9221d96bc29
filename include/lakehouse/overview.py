"""The lake at a glance: what the Lakehouse page of the Airflow UI shows, from the lake alone.

Every figure comes from the same place as its command-line twin, so the page and the CLI cannot
disagree: tables from the Delta logs (`lakehouse tables`), completeness from the raw zone's keys
(`lakehouse status`), the stream's lease and stop request from its control objects (`lakehouse
stream status`), and the rest from DuckDB queries over the tables (`lakehouse query`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import duckdb

from lakehouse.catalog import describe_tables
from lakehouse.healing import HEAL_LAG, HourCompleteness, part_minutes
from lakehouse.query import QueryError, open_lake
from lakehouse.sources.base import SourceSettings
from lakehouse.sources.registry import sources
from lakehouse.spark.control import LakeStore, read_lease, stop_requested
from lakehouse.tables import ALL_TABLES

Freshness = Literal["green", "amber", "red", "none"]

BATCH_SQL = """
select batch_started_at, batch_id, input_rows,
       duration_ms['triggerExecution'] as trigger_ms,
       lag_seconds['silver.coin_prices'] as silver_lag_s
from ops.stream_progress
where batch_started_at >= ?
order by batch_started_at
"""
PRICE_SQL = """
select coin_id || '/' || vs_currency as series, price_ts as ts, price as value
from silver.coin_prices
where price_ts >= ? and resolution = '1m' and price is not null
order by series, ts
"""
SENSOR_SQL = """
select 'device ' || device_id || ': ' || coalesce(sensor_name, sensor_key, sensor_id::varchar)
         || coalesce(' (' || unit || ')', '') as series,
       reading_ts as ts, value
from silver.sensor_readings
where reading_ts >= ? and value is not null
order by series, ts
"""
QUARANTINE_SQL = """
select reason, source, endpoint, count(*) as records, max(quarantined_at) as last_at
from silver.quarantine
group by reason, source, endpoint
order by records desc, reason
"""


@dataclass(frozen=True)
class FreshnessSla:
    """How old a table's last commit may be: green within the SLA, amber within twice it, red
    beyond. One SLA for every table: the stream commits to each one of them that has new rows,
    and every minute brings new rows to each (but the quarantine)."""

    seconds: float

    def __post_init__(self) -> None:
        if not self.seconds > 0:
            raise ValueError(f"a freshness SLA is a number of seconds > 0, not {self.seconds!r}")

    def status(self, age: timedelta) -> Freshness:
        seconds = age.total_seconds()
        if seconds <= self.seconds:
            return "green"
        return "amber" if seconds <= 2 * self.seconds else "red"


def tables(
    lake_root: str, storage_options: Mapping[str, str], now: datetime, sla: FreshnessSla
) -> list[dict[str, Any]]:
    """Each written table as `lakehouse tables` shows it, with its freshness against `sla`
    ("none" for a table that is quiet while all is well, such as the quarantine)."""
    quiet = {spec.qualified_name for spec in ALL_TABLES if not spec.stale_when_quiet}
    return [
        {
            **asdict(info),
            "age_s": round(info.age(now).total_seconds(), 1),
            "freshness": "none" if info.name in quiet else sla.status(info.age(now)),
        }
        for info in describe_tables(lake_root, storage_options)
    ]


def completeness(
    s3: Any,
    bucket: str,
    settings: Mapping[str, SourceSettings],
    now: datetime,
    hours: int = 3,
) -> list[HourCompleteness]:
    """Per source, part and hour of the last `hours`: minutes due, landed live, healed, missing.

    Up to `HEAL_LAG` ago: later minutes may still be on their way and are not yet due.
    """
    end = (now - HEAL_LAG).replace(second=0, microsecond=0)
    window = (end.replace(minute=0) - timedelta(hours=hours - 1), end)
    return [
        row
        for source in sources().values()
        for part in part_minutes(s3, bucket, source, settings[source.name], window)
        for row in part.by_hour()
    ]


def stream_state(store: LakeStore) -> dict[str, Any]:
    """The stream's lease holder (none when no driver runs) and whether a stop is requested."""
    lease = read_lease(store)
    return {
        "lease": None if lease is None else {**asdict(lease), "live": lease.is_live()},
        "lease_text": lease.describe() if lease else "none (no driver running)",
        "stop_requested": stop_requested(store),
    }


@dataclass(frozen=True)
class Charts:
    """The page's time series, each a list of `{"series", "points": [[iso time, value], ...]}`."""

    prices: list[dict[str, Any]]
    sensors: list[dict[str, Any]]
    batches: list[dict[str, Any]]
    last_batches: list[dict[str, Any]]
    quarantine: list[dict[str, Any]]


def charts(
    lake_root: str, storage_options: Mapping[str, str], since: datetime, last_batches: int = 10
) -> Charts:
    """Prices per coin, readings per device and sensor, and the stream's batches since `since`,
    with the quarantine's counts by reason; a table not written yet gives no rows."""
    conn = open_lake(lake_root, storage_options)
    batches = _records(conn, BATCH_SQL, since)
    return Charts(
        prices=_series(_records(conn, PRICE_SQL, since)),
        sensors=_series(_records(conn, SENSOR_SQL, since)),
        batches=[
            {
                "series": "batch duration (s)",
                "points": [[b["batch_started_at"], _seconds(b["trigger_ms"])] for b in batches],
            },
            {
                "series": "silver.coin_prices freshness at commit (s)",
                "points": [[b["batch_started_at"], b["silver_lag_s"]] for b in batches],
            },
        ],
        last_batches=batches[-last_batches:][::-1],
        quarantine=_records(conn, QUARANTINE_SQL),
    )


def _records(conn: duckdb.DuckDBPyConnection, sql: str, *params: Any) -> list[dict[str, Any]]:
    try:
        result = conn.execute(sql, list(params))
    except duckdb.CatalogException:
        return []  # the table has not been written yet
    except duckdb.Error as exc:
        raise QueryError(str(exc)) from exc
    columns = [str(column[0]) for column in result.description]
    return [dict(zip(columns, (_json(v) for v in row), strict=True)) for row in result.fetchall()]


def _series(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    grouped: dict[str, list[list[Any]]] = {}
    for row in rows:
        grouped.setdefault(row["series"], []).append([row["ts"], row["value"]])
    return [{"series": name, "points": points} for name, points in grouped.items()]


def _seconds(milliseconds: Any) -> float | None:
    return None if milliseconds is None else round(float(milliseconds) / 1000, 3)


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
