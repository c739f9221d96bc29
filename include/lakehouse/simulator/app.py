"""The simulator's HTTP app: CoinGecko API v3 paths under /api/v3, answering like the real API."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Response

from lakehouse.simulator import market

COINGECKO_PREFIX = "/api/v3"


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status, media_type="application/json")


def create_app(clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> FastAPI:
    app = FastAPI(title="lakehouse API simulator", docs_url=None, redoc_url=None)

    @app.get(f"{COINGECKO_PREFIX}/ping")
    def ping() -> Response:
        return _json({"gecko_says": "(V3) To the Moon!"})

    @app.get(f"{COINGECKO_PREFIX}/simple/price")
    def simple_price(
        ids: str | None = None,
        vs_currencies: str | None = None,
        include_market_cap: bool = False,
        include_24hr_vol: bool = False,
        include_24hr_change: bool = False,
        include_last_updated_at: bool = False,
    ) -> Response:
        if not ids:
            return _json({"error": "Missing parameter ids"}, 422)
        if not vs_currencies:
            return _json({"error": "Missing parameter vs_currencies"}, 422)
        minute = int(clock().timestamp()) // 60
        # Like the real API: the list is split on "," only, so " eur" is unknown and left out.
        currencies = [c for c in vs_currencies.split(",") if c in market.CURRENCY_PER_USD]
        body: dict[str, dict[str, float | int]] = {}
        for coin in ids.split(","):
            if coin not in market.COIN_BASE_USD or not currencies:
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
        return _json(body)

    return app


def serve(host: str, port: int) -> None:
    """Run the simulator in the foreground (what `lakehouse simulate` does)."""
    import uvicorn

    uvicorn.run(create_app(), host=host, port=port, log_level="warning")
