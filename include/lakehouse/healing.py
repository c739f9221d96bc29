"""Completeness of the raw zone per minute, and healing: minutes no live run collected, fetched
from the API's history at its grain.

A minute of a part (CoinGecko's prices, Smart Citizen's devices) is *complete* when the raw zone
holds a live object of it (`raw/<source>/<live endpoint>/.../<minute>_<hash>.json`), or when
healing has already asked the API's history for it. Healing leaves one record per minute it asked
for, under `_healed/<source>/<part>/date=YYYY-MM-DD/<minute>.json` (outside `raw/`, which the
stream reads): the history objects that cover it, or why the API could not serve it (older than
the plan's window). So healing never asks twice for a minute, and terminates.

Healing looks at the last `hours` (LAKEHOUSE_HEAL_HOURS) up to `HEAL_LAG` ago: a younger
minute's live run may still be on its way. A live run that lands after all (a late retry) does no
harm: silver never lets a coarser history point replace a live one. Each run of consecutive missed
minutes is one history collection (`run_collection(history=True)`), so the API is asked for each
block at its grain once: the claims of closed blocks (`lakehouse.raw_zone_claims`) keep
overlapping heals and backfills from fetching a block twice. Parts the API keeps no history of
(`/coins/markets`, the world map) are counted, not healed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from lakehouse.collect import HistoryUnavailable, run_collection
from lakehouse.raw_zone import RAW_PREFIX, DataInterval, RawZoneWriter, iso_utc
from lakehouse.s3_objects import list_keys, put_if_absent
from lakehouse.sources.base import Source, SourceSettings
from lakehouse.sources.budget import is_due
from lakehouse.sources.limiter import CallLimiter

log = logging.getLogger(__name__)

HEALED_PREFIX = "_healed"
HEAL_LAG = timedelta(minutes=3)
"""A minute's live run is due a minute after it starts and usually lands seconds later."""
MINUTE = timedelta(minutes=1)
Selection = TypeVar("Selection")
Client = TypeVar("Client")


def first_minute(s3: Any, bucket: str, prefix: str) -> datetime | None:
    """The interval start of the first object under `prefix` (keys sort by date, then time)."""
    page = s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/", MaxKeys=1)
    found = page.get("Contents", [])
    return minute_of(found[0]["Key"]) if found else None


def minute_of(key: str) -> datetime | None:
    """The interval start a raw or healed key begins its file name with."""
    stamp = key.rsplit("/", 1)[-1][:16]
    try:
        return datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def days_of(start: datetime, end: datetime) -> list[str]:
    day, days = start.date(), []
    while day <= end.date():
        days.append(f"{day:%Y-%m-%d}")
        day += timedelta(days=1)
    return days


@dataclass(frozen=True)
class PartMinutes:
    """What the raw zone holds of one part of a source over a window of minutes."""

    source: str
    part: str
    expected: tuple[datetime, ...]
    live: frozenset[datetime]
    healed: frozenset[datetime]
    heals: bool
    """Whether the API keeps history of this part (else its missed minutes stay missed)."""

    @property
    def missing(self) -> list[datetime]:
        return [m for m in self.expected if m not in self.live and m not in self.healed]

    def by_hour(self) -> list[HourCompleteness]:
        hours: dict[datetime, HourCompleteness] = {}
        for minute in self.expected:
            hour = minute.replace(minute=0)
            row = hours.setdefault(
                hour, HourCompleteness(self.source, self.part, hour, heals=self.heals)
            )
            row.expected += 1
            row.live += minute in self.live
            row.healed += minute in self.healed and minute not in self.live
        return list(hours.values())


@dataclass
class HourCompleteness:
    source: str
    part: str
    hour: datetime
    expected: int = 0
    live: int = 0
    healed: int = 0
    heals: bool = True
    """Whether the API keeps history of this part (else its missed minutes stay missed)."""

    @property
    def missing(self) -> int:
        return self.expected - self.live - self.healed


def part_minutes(
    s3: Any,
    bucket: str,
    source: Source[Any, Any],
    settings: SourceSettings,
    window: tuple[datetime, datetime],
) -> list[PartMinutes]:
    """Per part of `source` with a live cadence, the minutes of `window` due, landed and healed.

    Minutes before the part's first live object ever are not due: the lake did not collect then,
    and healing is not a backfill of the time before it existed.
    """
    start, end = window
    days = days_of(start, end)
    found = []
    for calls in source.live_calls(settings):
        if calls.per_run == 0:
            continue  # a part turned off (e.g. no world map)
        prefix = f"{RAW_PREFIX}/{source.name}/{source.live_endpoints.get(calls.part, calls.part)}"
        first = first_minute(s3, bucket, prefix)
        expected = tuple(
            m for m in _minutes(start, end)
            if first is not None and m >= first and is_due(m, calls.every_minutes)
        )  # fmt: skip
        live = _minutes_under(s3, bucket, prefix, days)
        healed = _minutes_under(s3, bucket, f"{HEALED_PREFIX}/{source.name}/{calls.part}", days)
        found.append(
            PartMinutes(
                source.name, calls.part, expected, frozenset(live), frozenset(healed),
                heals=calls.part in source.heals,
            )
        )  # fmt: skip
    return found


@dataclass
class HealReport:
    """What one healing run found and did, per part."""

    missing: dict[str, int] = field(default_factory=dict)
    healed: dict[str, int] = field(default_factory=dict)
    unavailable: dict[str, int] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)

    @staticmethod
    def count(counts: dict[str, int], part: str, minutes: int) -> None:
        counts[part] = counts.get(part, 0) + minutes

    def summary(self) -> str:
        parts = sorted(self.missing)
        if not any(self.missing.values()):
            return "nothing to heal: every minute has its live object or was healed before"
        return "; ".join(
            f"{part}: {self.missing[part]} missed, {self.healed.get(part, 0)} healed, "
            f"{self.unavailable.get(part, 0)} beyond the API's history"
            for part in parts
        )


def heal(
    source: Source[Selection, Client],
    connect: Callable[[CallLimiter], Client],
    writer: RawZoneWriter,
    selection: Selection,
    settings: SourceSettings,
    *,
    now: datetime,
    hours: float,
    limiter: CallLimiter | None = None,
    cache_dir: Path | None = None,
) -> HealReport:
    """Fetch from history every missed minute of the last `hours` (see the module docstring)."""
    end = (now - HEAL_LAG).replace(second=0, microsecond=0)
    window = (end - timedelta(hours=hours), end)
    report = HealReport()
    run_id = f"heal__{iso_utc(now)}"
    s3, bucket = writer.s3, writer.bucket
    for part in part_minutes(s3, bucket, source, settings, window):
        report.missing[part.part] = len(part.missing)
        if not part.heals or not part.missing:
            continue
        pending = spans(part.missing)
        while pending:
            span = pending.pop(0)
            interval = DataInterval(span[0], span[-1] + MINUTE)
            try:
                outcome = run_collection(
                    source, connect, writer, selection, interval=interval, run_id=run_id,
                    now=now, limiter=limiter, history=True, parts=(part.part,),
                    cache_dir=cache_dir,
                )  # fmt: skip
            except HistoryUnavailable as exc:
                hours_of_span = by_hour(span)
                if len(hours_of_span) > 1:  # the plan's window may begin inside the span
                    pending[:0] = hours_of_span
                    continue
                record: dict[str, Any] = {"unavailable": str(exc)}
                report.count(report.unavailable, part.part, len(span))
            else:
                record = {"keys": outcome.keys, "covered_by": outcome.covered}
                report.count(report.healed, part.part, len(span))
                report.keys.extend(outcome.keys)
            _record(s3, bucket, source.name, part.part, span, {"run_id": run_id, **record})
    log.info("%s: %s", source.name, report.summary())
    return report


def by_hour(minutes: Sequence[datetime]) -> list[list[datetime]]:
    hours: dict[datetime, list[datetime]] = {}
    for minute in minutes:
        hours.setdefault(minute.replace(minute=0), []).append(minute)
    return list(hours.values())


def spans(minutes: Sequence[datetime]) -> list[list[datetime]]:
    """Runs of sorted minutes less than an hour apart within one UTC day: one history collection
    each (a day apart, one may be in the plan's window and the other not)."""
    runs: list[list[datetime]] = []
    for minute in sorted(minutes):
        last = runs[-1][-1] if runs else None
        if (
            last is not None
            and minute - last <= timedelta(hours=1)
            and minute.date() == last.date()
        ):
            runs[-1].append(minute)
        else:
            runs.append([minute])
    return runs


def _record(
    s3: Any, bucket: str, source: str, part: str, minutes: Iterable[datetime], record: Any
) -> None:
    body = json.dumps(record, separators=(",", ":")).encode()
    for minute in minutes:
        key = f"{HEALED_PREFIX}/{source}/{part}/date={minute:%Y-%m-%d}/{minute:%Y%m%dT%H%M%SZ}.json"
        put_if_absent(s3, bucket, key, body)


def _minutes(start: datetime, end: datetime) -> Iterator[datetime]:
    minute = start
    while minute < end:
        yield minute
        minute += MINUTE


def _minutes_under(s3: Any, bucket: str, prefix: str, days: Iterable[str]) -> set[datetime]:
    found = set()
    for day in days:
        for key in list_keys(s3, bucket, f"{prefix}/date={day}/"):
            minute = minute_of(key)
            if minute is not None:
                found.add(minute)
    return found
