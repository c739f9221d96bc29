"""What one CoinGecko run fetches: the selection a run is asked for, and its requests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lakehouse.raw_zone import DataInterval, Mode
from lakehouse.raw_zone_claims import Block
from lakehouse.sources.budget import PartCalls, is_due
from lakehouse.sources.coingecko.client import market_pages, validate_ids, validate_top_n
from lakehouse.sources.coingecko.history import HistoryTerms, check_plan_window, history_blocks
from lakehouse.sources.coingecko.settings import CoinGeckoSettings
from lakehouse.sources.planning import Plan, check_parts

PARTS = ("prices", "markets")
DEMO = HistoryTerms()


@dataclass(frozen=True)
class CoinGeckoSelection:
    """Coins, currencies and how many top coins by market cap `/coins/markets` lands; live runs
    collect prices and markets every so many minutes (the call budget, `lakehouse.sources.budget`).
    """

    coins: tuple[str, ...]
    currencies: tuple[str, ...]
    top_n: int
    prices_every_minutes: int = 1
    markets_every_minutes: int = 1

    @property
    def markets_currency(self) -> str:
        """`/coins/markets` takes one currency: the first of the list."""
        return self.currencies[0]

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> CoinGeckoSelection:
        """Validates a run's Params (the trigger form validates too; the CLI has no form)."""
        missing = [name for name in ("coins", "currencies", "top_n") if name not in params]
        if missing:
            raise ValueError(f"missing params: {', '.join(missing)}")
        return cls(
            coins=validate_ids("coins", params["coins"]),
            currencies=validate_ids("currencies", params["currencies"]),
            top_n=validate_top_n(params["top_n"]),
            # Optional: runs created before the cadences existed collect every minute.
            prices_every_minutes=_cadence(params, "prices_every_minutes"),
            markets_every_minutes=_cadence(params, "markets_every_minutes"),
        )

    @classmethod
    def from_settings(cls, settings: CoinGeckoSettings) -> CoinGeckoSelection:
        return cls.from_params(settings.default_params())


def _cadence(params: Mapping[str, Any], name: str) -> int:
    every = params.get(name, 1)
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"{name}: must be a whole number of minutes, at least 1, got {every!r}")
    return every


def _not_due(what: str, every: int, interval: DataInterval) -> str | None:
    """Why a live run skips a part collected every `every` minutes, or None when it is due."""
    if is_due(interval.start, every):
        return None
    return (
        f"coingecko {what} is collected every {every} minutes (call budget) and "
        f"{interval.start:%H:%M} is not on that grid"
    )


@dataclass(frozen=True)
class SimplePrice:
    ids: tuple[str, ...]
    vs_currencies: tuple[str, ...]


@dataclass(frozen=True)
class CoinsMarkets:
    vs_currency: str
    per_page: int
    page: int


@dataclass(frozen=True)
class MarketChartRange:
    """One pair's history block (`lakehouse.sources.coingecko.history`), requested whole."""

    coin_id: str
    vs_currency: str
    block: Block


CoinGeckoCall = SimplePrice | CoinsMarkets | MarketChartRange


def plan_coingecko(
    selection: CoinGeckoSelection,
    mode: Mode,
    interval: DataInterval,
    parts: Sequence[str] = PARTS,
    *,
    now: datetime | None = None,
    terms: HistoryTerms = DEMO,
) -> Plan[CoinGeckoCall]:
    """Live: one `/simple/price` for all pairs, `/coins/markets` by pages. History: one
    `/market_chart/range` per coin, currency and block (the endpoint takes one coin and one
    currency; see `history_calls`)."""
    check_parts(parts, PARTS)
    calls: list[CoinGeckoCall] = []
    skipped: list[str] = []
    if "prices" in parts:
        if mode == "live":
            if skip := _not_due("/simple/price", selection.prices_every_minutes, interval):
                skipped.append(skip)
            else:
                calls.append(SimplePrice(selection.coins, selection.currencies))
        else:
            calls.extend(history_calls(selection, interval, now or datetime.now(UTC), terms))
    if "markets" in parts:
        if mode == "live":
            if skip := _not_due("/coins/markets", selection.markets_every_minutes, interval):
                skipped.append(skip)
            else:
                calls.extend(
                    CoinsMarkets(selection.markets_currency, per_page, page)
                    for per_page, page in market_pages(selection.top_n)
                )
        else:
            skipped.append("coingecko /coins/markets has no history: a backfill lands prices only")
    return Plan(mode, tuple(calls), tuple(skipped))


def live_calls(settings: CoinGeckoSettings) -> tuple[PartCalls, ...]:
    """The call budget: one `/simple/price` for all pairs, one `/coins/markets` per page."""
    return (
        PartCalls("prices", 1, settings.prices_every_minutes, "COINGECKO_PRICES_EVERY_MINUTES"),
        PartCalls(
            "markets",
            len(market_pages(settings.markets_top_n)),
            settings.markets_every_minutes,
            "COINGECKO_MARKETS_EVERY_MINUTES",
        ),
    )


def history_calls(
    selection: CoinGeckoSelection, interval: DataInterval, now: datetime, terms: HistoryTerms
) -> list[MarketChartRange]:
    """Per pair, the blocks CoinGecko serves whole at its grain that hold the interval; fails at
    once (`HistoryUnavailable`) when the plan's window does not reach back to the interval."""
    check_plan_window(terms, interval, now)
    return [
        MarketChartRange(coin, currency, block)
        for coin in selection.coins
        for currency in selection.currencies
        for block in history_blocks(f"{coin}_{currency}", interval, now)
    ]
