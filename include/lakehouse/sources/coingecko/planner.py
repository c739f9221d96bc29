"""What one CoinGecko run fetches: the selection a run is asked for, and its requests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lakehouse.raw_zone import DataInterval, Mode
from lakehouse.raw_zone_claims import Block
from lakehouse.sources.coingecko.client import market_pages, validate_ids, validate_top_n
from lakehouse.sources.coingecko.history import HistoryTerms, check_plan_window, history_blocks
from lakehouse.sources.coingecko.settings import CoinGeckoSettings
from lakehouse.sources.planning import Plan, check_parts

PARTS = ("prices", "markets")
DEMO = HistoryTerms()


@dataclass(frozen=True)
class CoinGeckoSelection:
    """Coins, currencies and how many top coins by market cap `/coins/markets` lands."""

    coins: tuple[str, ...]
    currencies: tuple[str, ...]
    top_n: int

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
        )

    @classmethod
    def from_settings(cls, settings: CoinGeckoSettings) -> CoinGeckoSelection:
        return cls.from_params(settings.default_params())


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

    @property
    def start(self) -> datetime:
        return self.block.start

    @property
    def end(self) -> datetime:
        return self.block.end


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
            calls.append(SimplePrice(selection.coins, selection.currencies))
        else:
            calls.extend(history_calls(selection, interval, now or datetime.now(UTC), terms))
    if "markets" in parts:
        if mode == "live":
            calls.extend(
                CoinsMarkets(selection.markets_currency, per_page, page)
                for per_page, page in market_pages(selection.top_n)
            )
        else:
            skipped.append("coingecko /coins/markets has no history: a backfill lands prices only")
    return Plan(mode, tuple(calls), tuple(skipped))


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
