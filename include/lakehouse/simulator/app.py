"""The simulator's HTTP app: CoinGecko API v3 under /api/v3 and Smart Citizen API v0 under /v0.

It answers every endpoint the collectors use, with the real APIs' shapes, status codes and error
bodies, and values that are pure functions of the request and the clock (`market`, `sensors`), so
tests can predict them and live and history endpoints agree. Each API is one router
(`coingecko_api`, `smartcitizen_api`); faults, shared by both, and their controls under
/_simulator are `fault_api`. This module only assembles them and serves the result.

By default it follows the real APIs' rules (`SimulatorSettings`): CoinGecko's Demo plan and its
automatic history grain (`plans`, `market_chart`), and both APIs' per-minute limits
(`rate_limit`). Tests that are not about those rules turn them off explicitly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from fastapi import FastAPI

from lakehouse.config import SimulatorSettings
from lakehouse.simulator import coingecko_api, fault_api, smartcitizen_api
from lakehouse.simulator.faults import FaultInjector, parse_probabilities
from lakehouse.simulator.rate_limit import RateLimiter


def create_app(
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    faults: FaultInjector | None = None,
    settings: SimulatorSettings | None = None,
) -> FastAPI:
    """A simulator whose clock, faults and rules are its own, so tests can run several side by
    side. Without `settings` it follows the real APIs' defaults: CoinGecko's Demo plan, its
    automatic history granularity, and both APIs' per-minute limits."""
    rules = settings if settings is not None else SimulatorSettings()
    app = FastAPI(title="lakehouse API simulator", docs_url=None, redoc_url=None)
    app.state.clock = clock
    app.state.faults = faults if faults is not None else FaultInjector()
    app.state.settings = rules
    app.state.limiters = {
        coingecko_api.API: RateLimiter(rules.coingecko_rate_limit),
        smartcitizen_api.API: RateLimiter(rules.smartcitizen_rate_limit),
    }
    app.include_router(coingecko_api.router)
    app.include_router(smartcitizen_api.router)
    app.include_router(fault_api.router)
    return app


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

    rules = settings or SimulatorSettings()
    app = create_app(faults=injector_from_settings(rules), settings=rules)
    uvicorn.run(app, host=host, port=port, log_level="warning")
