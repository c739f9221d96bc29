"""The simulator's HTTP app: CoinGecko API v3 under /api/v3 and Smart Citizen API v0 under /v0.

It answers every endpoint the collectors use, with the real APIs' shapes, status codes and error
bodies, and values that are pure functions of the request and the clock (`market`, `sensors`), so
tests can predict them and live and history endpoints agree. Faults come from `faults`.

Its own controls live under /_simulator (the real APIs have no such path):
`GET /_simulator/faults` shows the fault state; `POST /_simulator/faults` with
`{"queue": ["429:30", "500"], "probabilities": {"slow": 0.1}, "seed": 7, "reset": true}` changes it.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request, Response

from lakehouse.config import SimulatorSettings
from lakehouse.simulator import market, sensors
from lakehouse.simulator.faults import (
    HEADER,
    QUERY,
    Fault,
    FaultInjector,
    drift,
    parse_probabilities,
)

COINGECKO_PREFIX = "/api/v3"
SMARTCITIZEN_PREFIX = "/v0"
ADMIN_PREFIX = "/_simulator"

COINGECKO_429 = {
    "status": {
        "error_code": 429,
        "error_message": "You've exceeded the Rate Limit. Please visit "
        "https://www.coingecko.com/en/api/pricing to subscribe to our API plans for higher rate "
        "limits.",
    }
}
HTML_ERROR_PAGE = (
    '<!DOCTYPE html>\n<html lang="en-US"><head><title>Just a moment...</title></head>\n'
    "<body><h1>429 Too Many Requests</h1><p>You are being rate limited.</p></body></html>\n"
)
DAY_SECONDS = 24 * 3600


def _json_text(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def _json(body: Any, status: int = 200) -> Response:
    return Response(_json_text(body), status, media_type="application/json")


def _sc_error(status: int, error_id: str, message: str) -> Response:
    """Smart Citizen's error body (see the 404 sample)."""
    return _json({"id": error_id, "message": message, "url": None, "errors": None}, status)


def _fault_response(source: str, fault: Fault, injector: FaultInjector) -> Response | None:
    if fault.kind == "429":
        body: Any = (
            COINGECKO_429
            if source == "coingecko"
            else {"id": "too_many_requests", "message": "Rate limit exceeded", "url": None,
                  "errors": None}
        )  # fmt: skip
        response = _json(body, 429)
        response.headers["Retry-After"] = str(injector.retry_after_of(fault))
        return response
    if fault.kind == "500":
        if source == "coingecko":
            return _json({"error": "Internal Server Error"}, 500)
        return _sc_error(500, "internal_server_error", "Something went wrong")
    if fault.kind == "html":
        return Response(HTML_ERROR_PAGE, 200, media_type="text/html")
    return None


def create_app(
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    faults: FaultInjector | None = None,
) -> FastAPI:
    app = FastAPI(title="lakehouse API simulator", docs_url=None, redoc_url=None)
    injector = faults if faults is not None else FaultInjector()
    app.state.faults = injector

    async def answer(
        request: Request, source: str, build: Callable[[], tuple[Any, int] | Response]
    ) -> Response:
        """Builds the answer of one API request, with the fault chosen for it (if any)."""
        requested = request.headers.get(HEADER) or request.query_params.get(QUERY)
        try:
            fault = injector.choose(requested)
        except ValueError as exc:
            return _json({"error": f"simulator: {exc}"}, 400)
        if fault is not None:
            failed = _fault_response(source, fault, injector)
            if failed is not None:
                return failed
            if fault.kind == "slow":
                await asyncio.sleep(injector.delay_of(fault))
        built = build()
        if isinstance(built, Response):
            return built
        body, status = built
        if fault is not None and status == 200:
            if fault.kind == "drift":
                body = drift(body, fault.arg)
            elif fault.kind == "malformed":
                text = _json_text(body)
                return Response(text[: max(1, len(text) // 2)], 200, media_type="application/json")
        return _json(body, status)

    # --- CoinGecko --------------------------------------------------------------------------

    @app.get(f"{COINGECKO_PREFIX}/ping")
    def ping() -> Response:
        return _json({"gecko_says": "(V3) To the Moon!"})

    @app.get(f"{COINGECKO_PREFIX}/simple/price")
    async def simple_price(
        request: Request,
        ids: str | None = None,
        vs_currencies: str | None = None,
        include_market_cap: bool = False,
        include_24hr_vol: bool = False,
        include_24hr_change: bool = False,
        include_last_updated_at: bool = False,
    ) -> Response:
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

        return await answer(request, "coingecko", build)

    @app.get(f"{COINGECKO_PREFIX}/coins/markets")
    async def coins_markets(
        request: Request,
        vs_currency: str | None = None,
        ids: str | None = None,
        order: str = "market_cap_desc",
        per_page: int = 100,
        page: int = 1,
    ) -> Response:
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

        return await answer(request, "coingecko", build)

    @app.get(COINGECKO_PREFIX + "/coins/{coin_id}/market_chart/range")
    async def market_chart_range(
        request: Request,
        coin_id: str,
        vs_currency: str | None = None,
        to: str | None = None,
    ) -> Response:
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

        return await answer(request, "coingecko", build)

    # --- Smart Citizen ---------------------------------------------------------------------

    @app.get(f"{SMARTCITIZEN_PREFIX}/devices/world_map")
    async def world_map(request: Request) -> Response:
        return await answer(request, "smartcitizen", lambda: (sensors.world_map(clock()), 200))

    @app.get(SMARTCITIZEN_PREFIX + "/devices/{device_id}")
    async def device(request: Request, device_id: str) -> Response:
        def build() -> tuple[Any, int] | Response:
            known = _device_id(device_id)
            if known is None:
                return _not_found(device_id)
            return sensors.device_object(known, clock()), 200

        return await answer(request, "smartcitizen", build)

    @app.get(SMARTCITIZEN_PREFIX + "/devices/{device_id}/readings")
    async def readings(
        request: Request,
        device_id: str,
        sensor_id: str | None = None,
        sensor_key: str | None = None,
        rollup: str | None = None,
        to: str | None = None,
    ) -> Response:
        start_text = request.query_params.get("from")

        def build() -> tuple[Any, int] | Response:
            known = _device_id(device_id)
            if known is None:
                return _not_found(device_id)
            if not rollup:
                return _sc_error(
                    400, "parameter_missing", "param is missing or the value is empty: rollup"
                )
            sim = sensors.DEVICES[known]
            sensor: int | None = None
            if sensor_id and sensor_id.isdigit():
                sensor = int(sensor_id)
            elif sensor_key:
                keys = {sim.sensor(s).default_key: s for s in sim.sensors}
                sensor = keys.get(sensor_key, -1)
            if sensor is None:
                return _sc_error(
                    400,
                    "parameter_missing",
                    "param is missing or the value is empty: sensor_id or sensor_key",
                )
            now = clock()
            try:
                end = _iso_time(to) if to else now
                begin = _iso_time(start_text) if start_text else end - timedelta(days=1)
                body = sensors.readings(known, sensor, rollup, begin, end, now)
            except ValueError as exc:
                return _sc_error(400, "bad_request", str(exc))
            return body, 200

        return await answer(request, "smartcitizen", build)

    # --- the simulator's own controls ------------------------------------------------------

    @app.get(f"{ADMIN_PREFIX}/faults")
    def fault_state() -> Response:
        return _json(injector.state())

    @app.post(f"{ADMIN_PREFIX}/faults")
    async def set_faults(request: Request) -> Response:
        try:
            change = await request.json()
            if not isinstance(change, dict):
                raise ValueError("send a JSON object")
            if change.get("reset"):
                injector.reset()
            if "probabilities" in change or "seed" in change:
                injector.configure(change.get("probabilities", injector.probabilities),
                                   change.get("seed"))  # fmt: skip
            injector.queue(change.get("queue", []))
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)
        return _json(injector.state())

    return app


def _not_found(device_id: str) -> Response:
    return _sc_error(
        404,
        "record_not_found",
        f"Couldn't find Device with 'id'={device_id} [WHERE (devices.workflow_state = 'active')]",
    )


def _device_id(text: str) -> int | None:
    if not text.isdigit() or int(text) not in sensors.DEVICES:
        return None
    return int(text)


def _chart_time(text: str) -> float:
    """UNIX seconds, or an ISO date (`YYYY-MM-DD`, `YYYY-MM-DDTHH:MM`) as the API takes."""
    try:
        number = float(text)
    except ValueError:
        return _iso_time(text).timestamp()
    if not math.isfinite(number):
        raise ValueError(text)
    return number


def _iso_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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


def injector_from_settings(settings: SimulatorSettings) -> FaultInjector:
    """The injector the settings describe; raises ValueError naming a bad fault spec."""
    return FaultInjector(
        probabilities=parse_probabilities(settings.faults),
        seed=settings.fault_seed,
        retry_after=settings.retry_after,
        slow_seconds=settings.slow_seconds,
    )


@contextmanager
def serve_in_thread(app: FastAPI, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve `app` on a free port in a background thread; yields its base URL (tests, benches)."""
    import socket
    import threading
    import time

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the simulator did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def serve(host: str, port: int, settings: SimulatorSettings | None = None) -> None:
    """Run the simulator in the foreground (what `lakehouse simulate` does)."""
    import uvicorn

    injector = injector_from_settings(settings or SimulatorSettings())
    uvicorn.run(create_app(faults=injector), host=host, port=port, log_level="warning")
