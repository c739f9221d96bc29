"""The simulated CoinGecko API v3, under /api/v3: the endpoints the collectors use.

Paths, parameters, status codes and error bodies are the real API's; values come from `market`,
so live (`/simple/price`, `/coins/markets`) and history (`/market_chart/range`) agree every minute.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Request, Response

from lakehouse.simulator import market
from lakehouse.simulator.fault_api import ErrorBodies, answer, clock_of
from lakehouse.simulator.wire import iso_time, json_response

PREFIX = "/api/v3"
DAY_SECONDS = 24 * 3600

RATE_LIMITED = {
    "status": {
        "error_code": 429,
        "error_message": "You've exceeded the Rate Limit. Please visit "
        "https://www.coingecko.com/en/api/pricing to subscribe to our API plans for higher rate "
        "limits.",
    }
}
ERRORS = ErrorBodies(rate_limited=RATE_LIMITED, internal_error={"error": "Internal Server Error"})

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
        currencies = [c for c in vs_currencies.split(",") if c in market.CURRENCY_PER_USD]
        body: dict[str, dict[str, float | int]] = {}
        for coin in ids.split(","):
            if coin not in market.COINS or not currencies:
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
        if vs_currency not in market.CURRENCY_PER_USD:
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


@router.get("/coins/{coin_id}/market_chart/range")
async def market_chart_range(
    request: Request,
    coin_id: str,
    vs_currency: str | None = None,
    to: str | None = None,
) -> Response:
    clock = clock_of(request)
    start_text = request.query_params.get("from")

    def build() -> tuple[Any, int]:
        if not vs_currency:
            return {"error": "Missing parameter vs_currency"}, 422
        if start_text is None or to is None:
            return {"error": "Missing parameter from or to"}, 422
        if coin_id not in market.COINS:
            return {"error": "coin not found"}, 404
        if vs_currency not in market.CURRENCY_PER_USD:
            return {"error": "invalid vs_currency"}, 400
        try:
            start, end = _chart_time(start_text), _chart_time(to)
        except ValueError:
            return {"error": "invalid from or to"}, 422
        return _chart(coin_id, vs_currency, start, end, clock().timestamp()), 200

    return await answer(request, ERRORS, build)


def _chart_time(text: str) -> float:
    """UNIX seconds, or an ISO date (`YYYY-MM-DD`, `YYYY-MM-DDTHH:MM`) as the API takes."""
    try:
        number = float(text)
    except ValueError:
        return iso_time(text).timestamp()
    if not math.isfinite(number):
        raise ValueError(text)
    return number


def _chart(coin: str, currency: str, start: float, end: float, now: float) -> dict[str, Any]:
    """Points on the minute grid within [start, min(end, now)); hourly beyond a day, daily
    beyond 90 days; and a last point at "now" when the range reaches it, like the real API."""
    span = end - start
    step = 60 if span <= DAY_SECONDS else 3600 if span <= 90 * DAY_SECONDS else DAY_SECONDS
    first = math.ceil(start / step) * step
    stop = min(end, now)
    times = list(range(int(first), math.ceil(stop), step)) if stop > first else []
    series: dict[str, list[list[float | int]]] = {
        "prices": [],
        "market_caps": [],
        "total_volumes": [],
    }
    points = [(t * 1000, t // 60) for t in times]
    if start <= now < end:
        points.append((int(now * 1000), int(now) // 60))
    for millis, minute in points:
        series["prices"].append([millis, market.price(coin, currency, minute)])
        series["market_caps"].append([millis, market.market_cap(coin, currency, minute)])
        series["total_volumes"].append([millis, market.volume_24h(coin, currency, minute)])
    return series
