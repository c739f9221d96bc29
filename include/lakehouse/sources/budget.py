"""The call budget: what the configured live schedule costs a month, against the plan's credits.

A source describes its live calls per part (`PartCalls`: calls per run, every how many minutes,
and the setting that changes that) and its plan's monthly credits; the arithmetic and the advice
are the same for every source. A month is 30 days (43,200 minutes), as CoinGecko's monthly credits
are counted per calendar month and the longest month costs a little more. Backfills come on top:
each range call is one more credit (CoinGecko: "1 call = 1 credit", docs.coingecko.com,
Authentication).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lakehouse.sources.base import Source, SourceSettings

MINUTES_PER_MONTH = 30 * 24 * 60


@dataclass(frozen=True)
class PartCalls:
    """The live calls of one part of a source's collect DAG."""

    part: str
    per_run: int
    every_minutes: int = 1
    setting: str = ""
    """The environment variable of `every_minutes`; empty when the part runs every minute."""

    @property
    def monthly(self) -> int:
        return self.per_run * runs_per_month(self.every_minutes)


def runs_per_month(every_minutes: int) -> int:
    """Runs of a part due every `every_minutes` in 30 days (at most; see `is_due`)."""
    if every_minutes < 1:
        raise ValueError(f"a cadence must be at least 1 minute, got {every_minutes}")
    return math.ceil(MINUTES_PER_MONTH / every_minutes)


def is_due(interval_start: datetime, every_minutes: int) -> bool:
    """A part collected every N minutes runs when the interval's start, in whole minutes since
    1970-01-01 UTC, is a multiple of N: a fixed grid that does not restart each hour, so that e.g.
    every 9 minutes is 160 runs a day, every day."""
    return int(interval_start.timestamp()) // 60 % every_minutes == 0


def monthly_calls(parts: Sequence[PartCalls]) -> int:
    return sum(part.monthly for part in parts)


def peak_calls_per_minute(parts: Sequence[PartCalls]) -> int:
    """The calls of a minute when every part is due at once."""
    return sum(part.per_run for part in parts)


def fitting_cadence(parts: Sequence[PartCalls], credits: int) -> int | None:
    """The smallest common cadence of the adjustable parts that fits `credits`, None if none
    does (the parts without a setting alone cost more, or nothing is adjustable)."""
    fixed = monthly_calls([part for part in parts if not part.setting])
    adjustable = peak_calls_per_minute([part for part in parts if part.setting])
    if not adjustable or fixed >= credits:
        return None
    every = max(1, math.ceil(adjustable * MINUTES_PER_MONTH / (credits - fixed)))
    while fixed + adjustable * runs_per_month(every) > credits:  # runs are rounded up
        every += 1
    return every


def budget_report(source: Source[Any, Any], settings: SourceSettings) -> str:
    """One line for `lakehouse up` and `lakehouse status`; a WARNING past the plan's credits."""
    parts = source.live_calls(settings)
    if not parts:
        return f"{source.name}: no live call count defined"
    calls = monthly_calls(parts)
    credits = source.monthly_credits(settings)
    line = (
        f"{source.name}: {calls:,} calls/month at this schedule "
        f"({peak_calls_per_minute(parts)} in a minute when every part is due)"
    )
    if credits is None:
        return f"{line}; the plan has no monthly cap"
    if calls <= credits:
        return f"{line}; the plan has {credits:,} credits: fits"
    every = fitting_cadence(parts, credits)
    settable = [part.setting for part in parts if part.setting]
    if every is None:
        advice = "no cadence fits: choose a plan with more credits or collect fewer parts"
    else:
        named = " and ".join(f"{name}={every}" for name in settable)
        fitted = [PartCalls(p.part, p.per_run, every if p.setting else 1, p.setting) for p in parts]
        advice = f"set {named} to fit ({monthly_calls(fitted):,} calls/month)"
    return f"WARNING {line}; the plan has {credits:,} credits: {advice}"
