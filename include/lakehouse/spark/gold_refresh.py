"""Gold brought up to date with silver by the driver, between micro-batches, on a cadence.

Gold used to be recomputed inside every micro-batch, after its silver MERGEs: about half of each
batch's time and CPU (`make bench`'s "batch cost"), and the next batch of silver waited for it. A
refresh instead reads the rows that each silver table's commits changed since the last refresh,
from Delta's change data feed (`tables.CHANGE_DATA_FEED`), and recomputes the gold rows they
affect (`lakehouse.spark.gold.GOLD_FEEDS`): once for every silver commit since the last refresh.

Exactly once: each gold write carries the transaction id `driver:<gold table>` whose version is
the silver table's version the refresh covers, so the version gold covers is committed together
with gold's rows. A driver that starts again reads it back (`covered_version`) and goes on from
the next silver commit; a write that was already committed is skipped by Delta. A gold table
without one (a new lake, or a lake written by the versions that refreshed gold inside the
micro-batch) is recomputed once from the whole silver table: that is the migration. So is a gold
table whose covered version is older than the changes silver still keeps (`_changed_scope`).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.spark import gold, sinks
from lakehouse.spark.queries import Runtime, commit_rows, side_by_side, summarize
from lakehouse.tables import DRIVER, GOLD_REFRESH, TableSpec

log = logging.getLogger(__name__)

CHANGED_ROWS = ("insert", "update_postimage")
"""The change feed's rows that hold a silver row's new state (silver never deletes rows)."""

GOLD_WRITES_AT_ONCE = sum(len(feed.outputs) for feed in gold.GOLD_FEEDS)
"""Every gold table, written side by side in a refresh."""

CHANGES_GONE = ("DELTA_VERSIONS_NOT_CONTIGUOUS", "FAILED_READ_FILE.FILE_NOT_EXIST")
"""Delta's errors for a change data feed read whose commits' log entries were cleaned up, or
whose change files were vacuumed (Delta 4.4)."""

Reporter = Callable[[str, int, datetime, float, int], None]
"""(run id, refresh number, start, seconds, silver commits covered): one ops.stream_progress row."""


def delta_snapshot(session: SparkSession, location: str) -> Any:
    """The table's latest Delta snapshot (a JVM object): its version, and the transaction ids of
    its writers, which Delta's Python API does not expose."""
    jvm: Any = session._jvm
    delta_log = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(session._jsparkSession, location)
    return delta_log.update(False, jvm.scala.Option.empty(), jvm.scala.Option.empty())


def covered_version(session: SparkSession, location: str, app_id: str) -> int | None:
    """The version of the last write to the table under `app_id`; None if it has none."""
    recorded = delta_snapshot(session, location).transactions().get(app_id)
    return int(recorded.get()) if recorded.isDefined() else None


def changed_keys(
    session: SparkSession, location: str, first: int, last: int, keys: tuple[str, ...]
) -> DataFrame:
    """The keys of the rows that silver's commits `first`..`last` inserted or updated."""
    return (
        session.read.format("delta")
        .option("readChangeFeed", "true")
        .option("startingVersion", first)
        .option("endingVersion", last)
        .load(location)
        .where(F.col("_change_type").isin(*CHANGED_ROWS))
        .select(*keys)
    )


def silver_slice(
    session: SparkSession, location: str, changed: DataFrame, ts: str, margin: timedelta
) -> DataFrame:
    """The silver table restricted to the changed rows' time range +- margin (file skipping)."""
    micros = F.unix_micros(F.col(ts))
    bounds = changed.agg(F.min(micros).alias("lo"), F.max(micros).alias("hi")).first()
    table = session.read.format("delta").load(location)
    ranges = sinks.key_ranges({ts: (bounds["lo"], bounds["hi"])}) if bounds else {}
    if ts not in ranges:
        return table
    lowest, highest = ranges[ts]
    return table.where(F.col(ts).between(F.lit(lowest - margin), F.lit(highest + margin)))


@dataclass
class GoldRefresh:
    """The driver's gold refreshes: when one is due, and what it writes."""

    runtime: Runtime
    sessions: list[SparkSession]
    """One session per gold table written at once, apart from the micro-batch's sessions: a
    refresh may run while a micro-batch writes silver, and a MERGE's transaction id is in its
    session's conf."""
    report: Reporter = lambda *_: None
    covered: dict[str, int] = field(default_factory=dict)
    """Per silver table, the version gold covers, once known."""
    last_started: float = float("-inf")
    refreshes: int = 0
    run_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def __post_init__(self) -> None:
        self.runtime.silver_changed.set()  # the lake may hold changes that no refresh covered

    def due(self, batch_running: bool) -> bool:
        """Whether to refresh now: silver changed, `gold_every_seconds` passed since the last
        refresh, and no micro-batch is running (or twice that passed, so that a stream that is
        never idle still gets gold)."""
        every = self.runtime.options.gold_every_seconds
        waited = time.monotonic() - self.last_started
        if not self.runtime.silver_changed.is_set() or waited < every:
            return False
        return not batch_running or waited >= 2 * every

    def run(self, session: SparkSession) -> dict[str, int]:
        """Bring every gold table up to date with silver's latest commits; the number of commits
        it covered per silver table (those with none are left out)."""
        self.last_started = time.monotonic()
        started_at = datetime.now(UTC)
        self.runtime.silver_changed.clear()
        number = self.refreshes
        now = F.lit(started_at)
        writes: list[Callable[[SparkSession], None]] = []
        reached: dict[str, int] = {}
        changes: list[DataFrame] = []
        commits: dict[str, int] = {}
        try:
            for feed in gold.GOLD_FEEDS:
                location = self.runtime.options.table(feed.silver)
                version = int(delta_snapshot(session, location).version())
                covered = self._covered(session, feed)
                if covered is not None and covered >= version:
                    continue
                scope = None
                if covered is not None:
                    scope = self._changed_scope(session, feed, location, covered + 1, version)
                    if scope is not None:
                        changes.append(scope[1])
                if scope is None:
                    if covered is None:
                        log.warning(
                            "%s: gold records no version of it: recomputing its gold tables from "
                            "the whole table",
                            feed.silver.qualified_name,
                        )
                    source = session.read.format("delta").load(location)
                    scope = source, source.select(*feed.silver.keys)
                source, keys = scope
                writes += [
                    partial(self._write, number, version, spec, compute(source, keys, now))
                    for spec, compute in feed.outputs
                ]
                reached[feed.silver.qualified_name] = version
                commits[feed.silver.qualified_name] = version - (-1 if covered is None else covered)
            if writes:
                side_by_side(self.sessions, writes)
        finally:
            for frame in changes:
                frame.unpersist()
        self.covered.update(reached)
        self.refreshes += 1
        seconds = time.monotonic() - self.last_started
        self.report(self.run_id, number, started_at, seconds, sum(commits.values()))
        return commits

    def _changed_scope(
        self, session: SparkSession, feed: gold.GoldFeed, location: str, first: int, last: int
    ) -> tuple[DataFrame, DataFrame] | None:
        """The silver rows that gold needs for the changes of commits `first`..`last`, and the
        changed keys (persisted); None when those changes are no longer kept, so that gold
        must be recomputed from the whole table.

        A driver that was down longer than the tables' retention finds its first commits'
        change files vacuumed, or their log entries cleaned up."""
        keys = changed_keys(session, location, first, last, feed.silver.keys).persist()
        # Whole hours (bars, hourly stats) and trailing windows around the changes.
        margin = max(feed.window, timedelta(hours=1))
        try:
            return silver_slice(session, location, keys, feed.ts, margin), keys
        except Exception as exc:
            keys.unpersist()
            if not any(gone in str(exc) for gone in CHANGES_GONE):
                raise
            log.warning(
                "%s: the changes of versions %d to %d are no longer kept (%s): recomputing its "
                "gold tables from the whole table",
                feed.silver.qualified_name, first, last, str(exc).splitlines()[0],
            )  # fmt: skip
            return None

    def _covered(self, session: SparkSession, feed: gold.GoldFeed) -> int | None:
        """The silver version every gold table of `feed` covers: the least of them, read from
        the tables once per driver; None if one has none."""
        name = feed.silver.qualified_name
        if name not in self.covered:
            options = self.runtime.options
            versions = [
                covered_version(session, options.table(spec), options.txn_app_id(DRIVER, spec))
                for spec, _ in feed.outputs
            ]
            if None in versions:
                return None
            self.covered[name] = min(v for v in versions if v is not None)
        return self.covered[name]

    def _write(
        self, number: int, version: int, spec: TableSpec, rows: DataFrame, session: SparkSession
    ) -> None:
        started = time.monotonic()
        frame = rows.persist()
        try:
            summary = summarize(frame, spec)
            if summary.rows:
                commit_rows(self.runtime, DRIVER, spec, version, frame, session, summary.key_ranges)
            self.runtime.stats.record(
                GOLD_REFRESH,
                number,
                spec.qualified_name,
                summary.rows,
                None,
                time.monotonic() - started,
            )
        finally:
            frame.unpersist()
