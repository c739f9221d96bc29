"""`/coins/{id}/market_chart/range` series: which points the real API serves for a range.

The grain follows "Coin Historical Chart Data within Time Range by ID",
https://docs.coingecko.com/reference/coins-id-market-chart-range (Demo copy:
https://docs.coingecko.com/demo/reference/coins-id-market-chart-range), which says, for an empty
`interval` ("auto-granularity"):

    1 day from current time = 5-minutely data
    1 day from any time (except current time) = hourly data
    2 - 90 days from any time = hourly data
    above 90 days from any time = daily data (00:00 UTC)

So a range of at most one day is 5-minutely only when it lies within the last day (it starts no
earlier than now minus one day); any other range of up to 90 days is hourly, and a longer one daily
at 00:00 UTC. `interval=daily` asks for daily points on every plan; `interval=5m|hourly` only on
Enterprise (see `plans`).

Points sit on the grain's UTC grid within [from, min(to, now)), and, when the range reaches the
clock, one more point at "now", not on the grid, as the samples show. The value at a point is
`market`'s value for that point's minute, so history agrees with `/simple/price` and
`/coins/markets` for the same minute.

`minutely` is the simulator's explicit test mode (LAKEHOUSE_SIMULATOR_HISTORY=minutely): one point
per minute for ranges of up to one day, hourly to 90 days, daily beyond. No CoinGecko plan serves
that; it stays until backfills fetch at the API's grain.
"""

from __future__ import annotations

import math
from typing import Any

from lakehouse.simulator import market
from lakehouse.simulator.wire import iso_time

MINUTE = 60
FIVE_MINUTES = 5 * MINUTE
HOUR = 3600
DAY = 24 * HOUR
STEPS = {"5m": FIVE_MINUTES, "hourly": HOUR, "daily": DAY}


def chart_time(text: str) -> float:
    """UNIX seconds, or an ISO date (`YYYY-MM-DD`, `YYYY-MM-DDTHH:MM`) as the API takes."""
    try:
        number = float(text)
    except ValueError:
        return iso_time(text).timestamp()
    if not math.isfinite(number):
        raise ValueError(text)
    return number


def auto_step(start: float, end: float, now: float, history: str = "api") -> int:
    """Seconds between points for a range [start, end) asked at `now`, with no `interval`."""
    span = end - start
    if history == "minutely":
        return MINUTE if span <= DAY else HOUR if span <= 90 * DAY else DAY
    if span <= DAY and start >= now - DAY:
        return FIVE_MINUTES
    return HOUR if span <= 90 * DAY else DAY


def chart(
    coin: str, currency: str, start: float, end: float, now: float, step: int
) -> dict[str, Any]:
    """The `{prices, market_caps, total_volumes}` body for the range at `step` seconds."""
    first = math.ceil(start / step) * step
    stop = min(end, now)
    times = list(range(int(first), math.ceil(stop), step)) if stop > first else []
    points = [(t * 1000, t // MINUTE) for t in times]
    if start <= now < end:
        points.append((int(now * 1000), int(now) // MINUTE))
    series: dict[str, list[list[float | int]]] = {
        "prices": [],
        "market_caps": [],
        "total_volumes": [],
    }
    for millis, minute in points:
        series["prices"].append([millis, market.price(coin, currency, minute)])
        series["market_caps"].append([millis, market.market_cap(coin, currency, minute)])
        series["total_volumes"].append([millis, market.volume_24h(coin, currency, minute)])
    return series
