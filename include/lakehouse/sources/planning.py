"""Live or history: the one decision every source's run makes first, as a pure function.

A run is *history* when its data interval ended more than `HISTORY_LAG` ago (an Airflow backfill
from the UI, CLI or REST API, a late retry, `lakehouse collect --history`): the APIs' "now"
endpoints would then describe the wrong moment, so it fetches the history endpoints for exactly
[interval start, interval end). Otherwise it is *live*: the "now" endpoints, landed under the
interval the scheduler gave. Silver keys rows by the instant the API reports, not by the interval,
so both routes give the same rows for the same instant.

The lag is longer than Airflow's retries of a live run take (seconds to a couple of minutes), so a
retried live run stays live; a run the scheduler starts much later than planned switches to history,
which is what it should fetch by then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from lakehouse.raw_zone import DataInterval, Mode

HISTORY_LAG = timedelta(minutes=10)


def choose_mode(
    interval: DataInterval, now: datetime, *, lag: timedelta = HISTORY_LAG, history: bool = False
) -> Mode:
    """`history` when asked to, or when the interval ended more than `lag` before `now`."""
    mode: Mode = "history" if history or interval.end <= now - lag else "live"
    if mode == "history" and interval.end <= interval.start:
        raise ValueError(
            "a history fetch needs a data interval that is not empty; "
            f"got [{interval.start.isoformat()}, {interval.end.isoformat()})"
        )
    return mode


Call = TypeVar("Call")


@dataclass(frozen=True)
class Plan(Generic[Call]):
    """The requests of one run, and why a part fetches nothing (to show it as skipped)."""

    mode: Mode
    calls: tuple[Call, ...]
    skipped: tuple[str, ...] = ()


def check_parts(parts: Sequence[str], known: Sequence[str]) -> None:
    """A run collects some of its source's parts (the collect DAG's tasks), at least one."""
    unknown = [part for part in parts if part not in known]
    if unknown or not parts:
        raise ValueError(f"parts must be some of {list(known)}, got {list(parts)!r}")
