"""The body of every collection task: Airflow's context in, one `lakehouse.collect` run out.

Every collect DAG calls `collect_interval`; it turns Params, the data interval and the source's
Connection into the arguments of `run_collection`, and its outcome into Airflow's terms (a bad
Param, a coin or currency the API does not list, or history the API's plan does not serve, fails
without retries; nothing to fetch is a skip). Every task of a source shares one call limiter, a
file in the Variable `lakehouse_limits_dir` (default: `Settings.limits`, the lakehouse home's
`limits/`), since LocalExecutor runs each task in its own process; likewise they share one spool
for what the lake could not take (`lakehouse_spool_dir`, default: the home's `spool/`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import Variable
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from lakehouse.collect import HistoryUnavailable, run_collection
from lakehouse.config import Settings
from lakehouse.healing import heal
from lakehouse.landed_log import LandedLog, reconcile
from lakehouse.raw_zone import RAW_PREFIX, DataInterval, RawZoneWriter
from lakehouse.sources.base import InvalidSelection, Source, SourceSettings
from lakehouse.sources.limiter import CallLimiter
from lakehouse.sources.registry import get_source
from lakehouse.spool import Spool
from lakehouse_airflow.hooks import SourceHook, lake_s3_client, raw_zone_writer


def lake_bucket() -> str:
    """The lake's bucket: the Variable `lakehouse_bucket` (default `lake`)."""
    return str(Variable.get("lakehouse_bucket", default="lake"))


@dataclass(frozen=True)
class SourceTask:
    """What every task of a source needs, from its Connections and Variables (at run time)."""

    hook: SourceHook
    writer: RawZoneWriter
    limiter: CallLimiter
    cache_dir: Path
    settings: SourceSettings

    @classmethod
    def of(cls, source: Source[Any, Any]) -> SourceTask:
        hook = SourceHook(source)
        settings = Settings.from_env()
        limits_dir = Path(Variable.get("lakehouse_limits_dir", default=str(settings.limits)))
        spool_dir = Path(Variable.get("lakehouse_spool_dir", default=str(settings.spool)))
        source_settings = settings.sources[source.name]
        return cls(
            hook=hook,
            writer=raw_zone_writer(
                lake_bucket(),
                Spool(spool_dir, settings.spool_max_mb),
            ),
            limiter=source.call_limiter(limits_dir, hook.connection(), source_settings),
            cache_dir=limits_dir,
            settings=source_settings,
        )


def collect_interval(
    source_name: str,
    part: str,
    params: dict[str, Any],
    data_interval_start: datetime | None,
    data_interval_end: datetime | None,
    run_id: str,
) -> list[str]:
    """Collect `part` of the source for the run's data interval; returns the raw-zone keys."""
    source = get_source(source_name)
    if data_interval_start is None or data_interval_end is None:
        raise AirflowFailException(f"{source.dag_id} needs a data interval; this run has none")
    try:
        selection = source.selection(params)
    except ValueError as exc:  # a bad Param: retrying cannot help
        raise AirflowFailException(f"bad params: {exc}") from exc
    task = SourceTask.of(source)
    try:
        outcome = run_collection(
            source,
            task.hook.get_conn,
            task.writer,
            selection,
            interval=DataInterval(data_interval_start, data_interval_end),
            run_id=run_id,
            now=datetime.now(UTC),
            limiter=task.limiter,
            history=bool(params.get("history", False)),
            parts=(part,),
            cache_dir=task.cache_dir,
        )
    except InvalidSelection as exc:  # the Params name what the API does not know
        raise AirflowFailException(f"bad params: {exc}") from exc
    except HistoryUnavailable as exc:  # the plan's window: every retry would fail the same way
        raise AirflowFailException(str(exc)) from exc
    if not outcome.results and outcome.skipped:
        raise AirflowSkipException("; ".join(outcome.skipped))
    return outcome.keys


def heal_source(source_name: str, hours: float) -> str:
    """Fill the source's missed minutes of the last `hours` from history; the report's summary."""
    source = get_source(source_name)
    task = SourceTask.of(source)
    selection = source.selection(task.settings.default_params())
    report = heal(
        source, task.hook.get_conn, task.writer, selection,
        task.settings, now=datetime.now(UTC), hours=hours, limiter=task.limiter,
        cache_dir=task.cache_dir,
    )  # fmt: skip
    return report.summary()


def reconcile_landed(grace: timedelta) -> str:
    """Log the raw objects no writer logged (`lakehouse.landed_log.reconcile`); its summary."""
    now = datetime.now(UTC)  # before the log is read: see `reconcile`
    landed = LandedLog(lake_s3_client(), lake_bucket())
    return reconcile(landed, RAW_PREFIX, now, grace).summary()
