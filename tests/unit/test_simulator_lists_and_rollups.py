"""CoinGecko's id and currency lists, and Smart Citizen's readings aggregated per rollup.

Docs: https://docs.coingecko.com/reference/coins-list, /reference/simple-supported-currencies;
https://developer.smartcitizen.me/#get-historical-readings (rollup units, functions).
"""

from __future__ import annotations

import statistics
import warnings
from datetime import UTC, datetime
from typing import Any

import pytest

from lakehouse.simulator import market, sensors
from lakehouse.simulator.app import create_app

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

NOW = datetime(2024, 3, 25, 8, 45, 37, tzinfo=UTC)
MINUTE = int(NOW.timestamp()) // 60


def sim() -> TestClient:
    return TestClient(create_app(clock=lambda: NOW), base_url="http://sim")


# --- /coins/list and /simple/supported_vs_currencies ----------------------------------------------


def test_coins_list_names_every_coin_the_simulator_prices() -> None:
    body = sim().get("/api/v3/coins/list").json()

    assert [coin["id"] for coin in body] == sorted(market.COINS)
    assert all(list(coin) == ["id", "symbol", "name"] for coin in body)
    assert {"id": "ethereum", "symbol": "eth", "name": "Ethereum"} in body


def test_coins_list_with_platforms_shows_token_contracts() -> None:
    body = sim().get("/api/v3/coins/list", params={"include_platform": "true"}).json()
    by_id = {coin["id"]: coin for coin in body}

    assert list(by_id["bitcoin"]) == ["id", "symbol", "name", "platforms"]
    assert by_id["bitcoin"]["platforms"] == {}
    assert by_id["chainlink"]["platforms"]["ethereum"].startswith("0x")


def test_supported_currencies_are_lower_case_codes_fiat_and_crypto() -> None:
    body = sim().get("/api/v3/simple/supported_vs_currencies").json()

    assert {"usd", "eur", "chf", "gbp", "jpy", "btc", "eth"} <= set(body)
    assert all(code == code.lower() and code.isalpha() for code in body)
    assert "ethereum" not in body and "bitcoin" not in body  # coin ids, not currencies


def test_every_listed_id_and_currency_is_priced() -> None:
    client = sim()
    ids = ",".join(coin["id"] for coin in client.get("/api/v3/coins/list").json())
    currencies = client.get("/api/v3/simple/supported_vs_currencies").json()

    body = client.get(
        "/api/v3/simple/price", params={"ids": ids, "vs_currencies": ",".join(currencies)}
    ).json()

    assert sorted(body) == sorted(market.COINS)
    assert all(list(quote) == currencies for quote in body.values())
    assert all(value > 0 for quote in body.values() for value in quote.values())


# --- /v0/devices/{id}/readings rollups ------------------------------------------------------------


def readings(rollup: str, start: str, end: str, **params: str) -> dict[str, Any]:
    query = {"sensor_id": "55", "rollup": rollup, "from": start, "to": end, **params}
    response = sim().get("/v0/devices/13006/readings", params=query)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def minute_values(first_minute: int, count: int) -> list[float]:
    return [sensors.value(13006, 55, first_minute + m) for m in range(count)]


@pytest.mark.parametrize(("rollup", "minutes"), [("5m", 5), ("15m", 15), ("1h", 60), ("4h", 240)])
def test_a_rollup_bucket_is_the_mean_of_every_minute_in_it(rollup: str, minutes: int) -> None:
    # 2024-03-24 00:00..12:00 UTC: buckets aligned to the epoch, each full.
    first = int(datetime(2024, 3, 24, tzinfo=UTC).timestamp()) // 60
    body = readings(rollup, "2024-03-24T00:00:00Z", "2024-03-24T12:00:00Z")

    oldest = body["readings"][-1]
    assert len(body["readings"]) == 12 * 60 // minutes
    assert body["sample_size"] == 12 * 60
    assert oldest[0] == sensors.iso(sensors.reading_second(13006, first))
    assert oldest[1] == pytest.approx(statistics.fmean(minute_values(first, minutes)), abs=1e-9)


def test_a_daily_rollup_aggregates_the_whole_day() -> None:
    first = int(datetime(2024, 3, 23, tzinfo=UTC).timestamp()) // 60
    body = readings("1d", "2024-03-23T00:00:00Z", "2024-03-24T00:00:00Z")

    assert [point[1] for point in body["readings"]] == [
        pytest.approx(statistics.fmean(minute_values(first, 1440)), abs=1e-9)
    ]


@pytest.mark.parametrize(
    ("function", "expected"),
    [("max", max), ("min", min), ("count", len), ("stdev", statistics.stdev)],
)
def test_the_documented_functions_group_a_bucket(function: str, expected: Any) -> None:
    first = int(datetime(2024, 3, 24, 6, tzinfo=UTC).timestamp()) // 60
    body = readings("1h", "2024-03-24T06:00:00Z", "2024-03-24T07:00:00Z", function=function)

    assert body["function"] == function
    assert body["readings"][0][1] == pytest.approx(expected(minute_values(first, 60)))


def test_readings_are_newest_first_and_stop_at_the_clock() -> None:
    body = readings("15m", "2024-03-25T06:00:00Z", "2024-03-25T12:00:00Z")

    stamps = [point[0] for point in body["readings"]]
    assert stamps == sorted(stamps, reverse=True)
    assert stamps[0] <= NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert len(stamps) == 12  # 06:00, 06:15 .. 08:45, the last bucket still filling


def test_an_unknown_function_is_refused() -> None:
    response = sim().get(
        "/v0/devices/13006/readings",
        params={"sensor_id": "55", "rollup": "1h", "function": "median"},
    )

    assert response.status_code == 400
    assert "function must be one of avg, count, max, min, stdev" in response.json()["message"]
