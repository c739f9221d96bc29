"""The simulator's per-minute limits: the real APIs' 429 and `retry-after` beyond N calls a minute.

Limits: CoinGecko's pricing page (Demo: 30 calls/min), Smart Citizen about 150/min per IP; every
request counts, errors included (see `lakehouse.simulator.rate_limit`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from lakehouse.config import Settings, SimulatorSettings
from lakehouse.simulator.app import create_app

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

START = datetime(2024, 3, 25, 8, 45, 0, tzinfo=UTC)
PRICE = "/api/v3/simple/price"
PRICE_PARAMS = {"ids": "bitcoin", "vs_currencies": "usd"}
READINGS = "/v0/devices/13006"


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def sim(clock: Clock, settings: SimulatorSettings | None = None) -> TestClient:
    return TestClient(create_app(clock=clock, settings=settings), base_url="http://sim")


def calls(client: TestClient, count: int, path: str = PRICE, **kwargs: Any) -> list[int]:
    params = kwargs.pop("params", PRICE_PARAMS if path == PRICE else {})
    return [client.get(path, params=params, **kwargs).status_code for _ in range(count)]


def test_the_default_is_the_demo_plans_30_calls_a_minute_then_the_real_429(
    load_sample: Callable[[str, str], Any],
) -> None:
    clock = Clock()
    client = sim(clock)

    assert calls(client, 30) == [200] * 30
    refused = client.get(PRICE, params=PRICE_PARAMS)

    assert refused.status_code == 429
    assert refused.json() == load_sample("coingecko", "error_429_rate_limit_2022-09-29.json")
    assert refused.headers["retry-after"] == "60"


def test_retry_after_is_the_wait_until_the_window_frees_a_call() -> None:
    clock = Clock()
    client = sim(clock)
    calls(client, 10)
    clock.advance(20)
    calls(client, 20)
    clock.advance(15)

    refused = client.get(PRICE, params=PRICE_PARAMS)
    assert (refused.status_code, refused.headers["retry-after"]) == (429, "25")

    clock.advance(25)  # the first 10 calls leave the window
    assert calls(client, 10) == [200] * 10
    assert calls(client, 1) == [429]


def test_errors_count_toward_the_limit() -> None:
    client = sim(Clock())

    errors = calls(client, 30, "/api/v3/coins/nope/market_chart/range", params={"x": "1"})

    assert set(errors) == {422}
    assert calls(client, 1) == [429]


def test_each_key_has_its_own_window() -> None:
    client = sim(Clock())
    calls(client, 30, headers={"x-cg-demo-api-key": "key-a"})

    assert calls(client, 1, headers={"x-cg-demo-api-key": "key-a"}) == [429]
    assert calls(client, 1, headers={"x-cg-demo-api-key": "key-b"}) == [200]


def test_a_configured_limit_and_zero_for_none() -> None:
    clock = Clock()

    assert calls(sim(clock, SimulatorSettings(coingecko_rate_limit=3)), 4) == [200] * 3 + [429]
    assert set(calls(sim(clock, SimulatorSettings(coingecko_rate_limit=0)), 100)) == {200}


def test_smart_citizen_allows_about_150_calls_a_minute_per_ip() -> None:
    client = sim(Clock())

    assert calls(client, 150, READINGS) == [200] * 150
    refused = client.get(READINGS)

    assert refused.status_code == 429
    assert refused.json()["id"] == "too_many_requests"
    assert int(refused.headers["retry-after"]) == 60
    assert calls(client, 1) == [200]  # CoinGecko's window is its own


def test_ping_is_not_limited_so_health_checks_cannot_starve_collectors() -> None:
    client = sim(Clock(), SimulatorSettings(coingecko_rate_limit=1))

    assert set(calls(client, 5, "/api/v3/ping")) == {200}
    assert calls(client, 2) == [200, 429]


def test_settings_read_the_limits_plan_and_history_from_the_environment(tmp_path: Any) -> None:
    settings = Settings.from_env(
        {
            "LAKEHOUSE_HOME": str(tmp_path),
            "LAKEHOUSE_SIMULATOR_COINGECKO_PLAN": "Enterprise",
            "LAKEHOUSE_SIMULATOR_COINGECKO_RATE_LIMIT": "500",
            "LAKEHOUSE_SIMULATOR_SMARTCITIZEN_RATE_LIMIT": "0",
            "LAKEHOUSE_SIMULATOR_HISTORY": "minutely",
        }
    ).simulator

    assert (settings.coingecko_plan, settings.coingecko_rate_limit) == ("enterprise", 500)
    assert (settings.smartcitizen_rate_limit, settings.history) == (0, "minutely")
    defaults = SimulatorSettings()
    assert (defaults.coingecko_plan, defaults.history) == ("demo", "api")
    assert (defaults.coingecko_rate_limit, defaults.smartcitizen_rate_limit) == (30, 150)
