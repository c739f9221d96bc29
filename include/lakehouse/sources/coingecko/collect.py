"""A CoinGecko run: its planned requests, fetched in order and landed one by one."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any

from lakehouse.collect import Landing
from lakehouse.raw_zone import DataInterval, Mode, PutResult, RawZoneWriter
from lakehouse.sources.base import Collection
from lakehouse.sources.coingecko.client import CoinGeckoApi
from lakehouse.sources.coingecko.planner import (
    DEMO,
    PARTS,
    CoinGeckoSelection,
    CoinsMarkets,
    MarketChartRange,
    SimplePrice,
    plan_coingecko,
)
from lakehouse.sources.http import ApiError, ApiResponse

log = logging.getLogger(__name__)


def collect_coingecko(
    api: CoinGeckoApi,
    writer: RawZoneWriter,
    selection: CoinGeckoSelection,
    *,
    interval: DataInterval,
    run_id: str,
    mode: Mode,
    parts: Sequence[str] = PARTS,
    now: datetime | None = None,
) -> Collection:
    """Live: `/simple/price` and `/coins/markets` pages. History: `/market_chart/range` per pair
    and block, once for all the runs inside the block (`lakehouse.sources.coingecko.history`)."""
    terms = api.history if mode == "history" else None  # live calls need no history terms
    plan = plan_coingecko(selection, mode, interval, parts, now=now, terms=terms or DEMO)
    landing = Landing(writer, interval, mode, run_id, plan.skipped)
    markets_done = False
    for call in plan.calls:
        match call:
            case SimplePrice(ids, currencies):
                what = f"ids={','.join(ids)} vs_currencies={','.join(currencies)}"
                response = landing.fetch_and_land(partial(api.simple_price, ids, currencies), what)
                if response is not None:
                    _check_quotes(landing, response, ids, currencies, what)
            case CoinsMarkets(currency, per_page, page):
                if markets_done:
                    continue
                response = landing.fetch_and_land(
                    partial(api.coins_markets, currency, per_page, page),
                    f"vs_currency={currency} per_page={per_page} page={page}",
                )
                # The list ended before the planned pages did: later pages would be empty.
                markets_done = response is not None and _shorter_than(response, per_page)
            case MarketChartRange():
                _land_range(api, landing, call)
    return landing.finish()


def collect_coingecko_prices(
    api: CoinGeckoApi,
    writer: RawZoneWriter,
    *,
    coins: Sequence[str],
    currencies: Sequence[str],
    interval: DataInterval,
    run_id: str,
    mode: Mode = "live",
) -> list[PutResult]:
    """Land one `/simple/price` for the coins and currencies, labelled `mode` by the caller.

    For callers that choose the label themselves (tests, tools); a run uses `collect_coingecko`,
    which picks the endpoints by mode.
    """
    landing = Landing(writer, interval, mode, run_id)
    landing.fetch_and_land(
        partial(api.simple_price, coins, currencies),
        f"ids={','.join(coins)} vs_currencies={','.join(currencies)}",
    )
    return landing.finish().results


def unanswered_pairs(
    body: Any, ids: Sequence[str], currencies: Sequence[str]
) -> list[tuple[str, str]]:
    """The (coin, currency) pairs asked of `/simple/price` that have no price in its answer.

    CoinGecko answers HTTP 200 to an unknown id (left out: `{}`) and to an unknown currency (an
    empty quote: `{"bitcoin": {}}`), and has answered `null` prices.
    """
    quotes = body if isinstance(body, dict) else {}
    return [
        (coin, currency)
        for coin in ids
        for currency in currencies
        if not isinstance(quotes.get(coin), dict) or quotes[coin].get(currency) is None
    ]


def _check_quotes(
    landing: Landing,
    response: ApiResponse,
    ids: Sequence[str],
    currencies: Sequence[str],
    what: str,
) -> None:
    """Name the pairs that came back empty (silver quarantines them); none at all is an error:
    the coin ids or currencies are wrong, and every later run would land nothing either."""
    try:
        missing = unanswered_pairs(response.json(), ids, currencies)
    except ValueError:
        return  # not JSON: landed as it came, the stream quarantines it
    if not missing:
        return
    named = ", ".join(f"{coin}/{currency}" for coin, currency in missing)
    if len(missing) < len(ids) * len(currencies):
        log.warning("coingecko simple_price: no price for %s [%s]", named, what)
        return
    landing.fail(
        ApiError(
            response.source,
            response.endpoint,
            response.status,
            f"no price for any requested pair ({named}): check the coin ids and currencies",
        ),
        what,
    )


def _land_range(api: CoinGeckoApi, landing: Landing, call: MarketChartRange) -> None:
    """One pair's block, fetched and landed whole unless another run's object covers it."""
    what = f"id={call.coin_id} vs_currency={call.vs_currency}"

    def fetch_block(interval: DataInterval) -> bool:
        fetch = partial(
            api.market_chart_range, call.coin_id, call.vs_currency, call.block.start, call.block.end
        )
        return landing.fetch_and_land(fetch, what, interval) is not None

    landing.land_block(call.block, fetch_block, what)


def _shorter_than(response: ApiResponse, per_page: int) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, list) and len(body) < per_page
