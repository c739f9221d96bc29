"""Which history CoinGecko serves, at which grain, and the blocks a backfill fetches.

`/coins/{id}/market_chart/range` has automatic granularity (docs.coingecko.com, "Coin Historical
Chart Data within Time Range by ID", and the changelog "Improved 5-minutely data for Historical
Chart Data endpoints", 2025-01-09):

- a range within 1 day from the current time: 5-minutely points;
- 1 day from any other time, and 2-90 days: hourly points;
- above 90 days: daily points (00:00 UTC).

`interval=5m|hourly` bypasses this on the Enterprise plan only, so we never send it. Points are
`[epoch_ms, value]`, not aligned to any grid, and the last one may be "now". The pricing page gives
the Demo plan 1 year of daily and hourly history (and 1 day of 5-minutely).

A history run therefore fetches the whole *block* the API serves at its finest grain, once per
coin and currency, and lands it as one object (`lakehouse.raw_zone_claims`):

- the UTC hour (5-minutely) when the hour starts within the last day;
- else the UTC day (hourly): a one-day range from any time but now is hourly, and hourly is
  served for the plan's whole window, so we never ask for a range above 90 days (daily points
  would only lose detail; a year of backfill costs 365 calls per pair, within the Demo credits).

A block is closed once it ended `SETTLE` before now; until then (a backfill of the current hour)
each run fetches the hour so far, without a claim. A range older than the plan's window fails at
once (`HistoryUnavailable`) instead of through every retry of every run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from lakehouse.collect import HistoryUnavailable
from lakehouse.raw_zone import DataInterval
from lakehouse.raw_zone_claims import Block, blocks_of, floor_to

SOURCE, ENDPOINT = "coingecko", "market_chart_range"
FIVE_MINUTELY_FOR = timedelta(days=1)
"""How far back a range is answered 5-minutely (docs: "1 day from current time")."""
SETTLE = timedelta(minutes=10)
"""How long after a block's end its last points are taken as final (the API's cache and
publishing delay are minutes); a block younger than this is open."""
PLAN_HISTORY_DAYS: dict[str, int | None] = {"demo": 365, "pro": None}
"""How many days back each plan serves history (pricing page: Demo 1 year; paid plans back to the
coin's listing, so no limit is checked). The connection extra `history_days` overrides it."""


@dataclass(frozen=True)
class HistoryTerms:
    """What history the API serves this client: its plan and how many days back (None: all)."""

    plan: str = "demo"
    days: int | None = PLAN_HISTORY_DAYS["demo"]

    @classmethod
    def of(cls, plan: str, days: object = None) -> HistoryTerms:
        """The plan's terms; `days` (the connection extra `history_days`) overrides its window."""
        if days is None:
            return cls(plan, PLAN_HISTORY_DAYS.get(plan))
        if isinstance(days, bool) or not str(days).isdigit() or int(str(days)) <= 0:
            raise ValueError(f"history_days must be a positive whole number, got {days!r}")
        return cls(plan, int(str(days)))


def check_plan_window(terms: HistoryTerms, interval: DataInterval, now: datetime) -> None:
    """Raise `HistoryUnavailable`, naming the plan's window, when the interval is older."""
    if terms.days is None or interval.start >= now - timedelta(days=terms.days):
        return
    oldest = now - timedelta(days=terms.days)
    raise HistoryUnavailable(
        f"coingecko plan {terms.plan!r} serves {terms.days} day{'s' * (terms.days != 1)} of "
        f"history (from "
        f"{oldest:%Y-%m-%d %H:%M} UTC); [{interval.start.isoformat()}, "
        f"{interval.end.isoformat()}) is older. Backfill a later range, or use a plan with more "
        "history (connection coingecko_api, extra `plan`)"
    )


def block_size(start: datetime, now: datetime) -> timedelta:
    """The UTC hour while it is served 5-minutely, else the UTC day (hourly)."""
    hour = floor_to(start, timedelta(hours=1))
    return timedelta(hours=1) if hour >= now - FIVE_MINUTELY_FOR else timedelta(days=1)


def history_blocks(series: str, interval: DataInterval, now: datetime) -> Iterator[Block]:
    """The blocks that hold the interval, in order; an open one ends at the current minute."""
    return blocks_of(
        SOURCE,
        ENDPOINT,
        series,
        (interval.start, interval.end),
        now,
        lambda start: block_size(start, now),
        SETTLE,
    )
