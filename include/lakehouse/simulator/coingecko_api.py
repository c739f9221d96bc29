"""The simulated CoinGecko API v3, under /api/v3: the endpoints the collectors use.

Paths, parameters, status codes and error bodies are the real API's; values come from `market`,
so live (`/simple/price`, `/coins/markets`) and history (`/market_chart/range`) agree every minute.
History comes at the API's automatic granularity (`market_chart`), within the plan's window
(`plans`); calls beyond the per-minute limit get a 429 (`rate_limit`, applied by `answer`).

The id and currency lists are the real endpoints' shapes:
- `/coins/list`, "Coins List (ID Map)", https://docs.coingecko.com/reference/coins-list: every
  coin as `{id, symbol, name}`, with `platforms` (contract address per platform) when
  `include_platform=true`; no pagination.
- `/simple/supported_vs_currencies`, "Supported Currencies List",
  https://docs.coingecko.com/reference/simple-supported-currencies: a list of lower-case codes
  (docs example `["btc","eth","ltc","bch","bnb",...]`), fiat and crypto; `eth` is a currency,
  `ethereum` a coin id.
- `/simple/price`, "Coin Price by IDs", https://docs.coingecko.com/reference/simple-price: an
  unknown id is left out (`{}` when none is known); a known id with no known currency is an empty
  quote, HTTP 200 `{"bitcoin":{}}` (recorded for `vs_currencies=ethereum`; ../shared/DESIGN.md).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from lakehouse.config import SimulatorSettings
from lakehouse.simulator import market, market_chart, plans
from lakehouse.simulator.fault_api import ErrorBodies, answer, clock_of
from lakehouse.simulator.wire import json_response

PREFIX = "/api/v3"
API = "coingecko"

RATE_LIMITED = {
    "status": {
        "error_code": 429,
        "error_message": "You've exceeded the Rate Limit. Please visit "
        "https://www.coingecko.com/en/api/pricing to subscribe to our API plans for higher rate "
        "limits.",
    }
}
ERRORS = ErrorBodies(
    rate_limited=RATE_LIMITED,
    internal_error={"error": "Internal Server Error"},
    api=API,
    key_names=(*plans.DEMO_KEY, *plans.PRO_KEY),
)

router = APIRouter(prefix=PREFIX)


@router.get("/ping")
def ping() -> Response:
    return json_response({"gecko_says": "(V3) To the Moon!"})


@router.get("/simple/price")
async def simple_price(
    request: Request,
    ids: str | None = None,
    vs_currencies: str | None = None,
    include_market_cap: bool = False,
    include_24hr_vol: bool = False,
    include_24hr_change: bool = False,
    include_last_updated_at: bool = False,
) -> Response:
    clock = clock_of(request)

    def build() -> tuple[Any, int]:
        if not ids:
            return {"error": "Missing parameter ids"}, 422
        if not vs_currencies:
            return {"error": "Missing parameter vs_currencies"}, 422
        minute = int(clock().timestamp()) // 60
        # Like the real API: the list is split on "," only, so " eur" is unknown, left out.
        currencies = [c for c in vs_currencies.split(",") if c in market.VS_CURRENCIES]
        body: dict[str, dict[str, float | int]] = {}
        for coin in ids.split(","):
            if coin not in market.COINS:
                continue
            quote: dict[str, float | int] = {}
            for cur in currencies:
                quote[cur] = market.price(coin, cur, minute)
                if include_market_cap:
                    quote[f"{cur}_market_cap"] = market.market_cap(coin, cur, minute)
                if include_24hr_vol:
                    quote[f"{cur}_24h_vol"] = market.volume_24h(coin, cur, minute)
                if include_24hr_change:
                    quote[f"{cur}_24h_change"] = market.change_24h_pct(coin, cur, minute)
            if include_last_updated_at:
                quote["last_updated_at"] = minute * 60
            body[coin] = quote
        return body, 200

    return await answer(request, ERRORS, build)


@router.get("/coins/markets")
async def coins_markets(
    request: Request,
    vs_currency: str | None = None,
    ids: str | None = None,
    order: str = "market_cap_desc",
    per_page: int = 100,
    page: int = 1,
) -> Response:
    clock = clock_of(request)

    def build() -> tuple[Any, int]:
        if not vs_currency:
            return {"error": "Missing parameter vs_currency"}, 422
        if vs_currency not in market.VS_CURRENCIES:
            return {"error": "invalid vs_currency"}, 400
        if not 1 <= per_page <= 250 or page < 1:
            return {"error": "per_page must be 1..250 and page >= 1"}, 422
        if order not in ("market_cap_desc", "market_cap_asc"):
            return {"error": f"invalid order {order}"}, 422
        minute = int(clock().timestamp()) // 60
        ranked = market.ranked_coins(vs_currency, minute)
        rank = {coin: position for position, coin in enumerate(ranked, start=1)}
        chosen = [c for c in ranked if not ids or c in ids.split(",")]
        if order == "market_cap_asc":
            chosen.reverse()
        window = chosen[(page - 1) * per_page : page * per_page]
        return [market.market_row(c, vs_currency, minute, rank[c]) for c in window], 200

    return await answer(request, ERRORS, build)


@router.get("/coins/list")
async def coins_list(request: Request, include_platform: bool = False) -> Response:
    def build() -> tuple[Any, int]:
        listed: list[dict[str, Any]] = []
        for coin_id in sorted(market.COINS):
            coin = market.COINS[coin_id]
            entry: dict[str, Any] = {"id": coin_id, "symbol": coin.symbol, "name": coin.name}
            if include_platform:
                entry["platforms"] = dict(market.PLATFORMS.get(coin_id, {}))
            listed.append(entry)
        return listed, 200

    return await answer(request, ERRORS, build)


@router.get("/simple/supported_vs_currencies")
async def supported_vs_currencies(request: Request) -> Response:
    return await answer(request, ERRORS, lambda: (list(market.VS_CURRENCIES), 200))


@router.get("/coins/{coin_id}/market_chart/range")
async def market_chart_range(
    request: Request,
    coin_id: str,
    vs_currency: str | None = None,
    to: str | None = None,
    interval: str = "",
) -> Response:
    clock = clock_of(request)
    start_text = request.query_params.get("from")
    rules: SimulatorSettings = request.app.state.settings
    plan = plans.plan_of(request, rules.coingecko_plan)

    def build() -> tuple[Any, int]:
        if not vs_currency:
            return {"error": "Missing parameter vs_currency"}, 422
        if start_text is None or to is None:
            return {"error": "Missing parameter from or to"}, 422
        if coin_id not in market.COINS:
            return {"error": "coin not found"}, 404
        if vs_currency not in market.VS_CURRENCIES:
            return {"error": "invalid vs_currency"}, 400
        if interval and interval not in plans.INTERVALS:
            return {"error": f"invalid interval {interval}"}, 400
        if interval and interval not in plan.intervals:
            return plans.interval_restricted(interval), 401
        try:
            start, end = market_chart.chart_time(start_text), market_chart.chart_time(to)
        except ValueError:
            return {"error": "invalid from or to"}, 422
        now = clock().timestamp()
        if start < plan.earliest(now):
            return plans.out_of_window(plan, now), 401
        step = market_chart.STEPS.get(interval) or market_chart.auto_step(
            start, end, now, rules.history
        )
        return market_chart.chart(coin_id, vs_currency, start, end, now, step), 200

    return await answer(request, ERRORS, build)
