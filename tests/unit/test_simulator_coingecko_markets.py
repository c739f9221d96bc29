"""The CoinGecko simulator beyond /simple/price: /coins/markets, /market_chart/range, the walk."""

from __future__ import annotations

import math
import statistics
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from lakehouse.simulator import market
from lakehouse.simulator.app import create_app

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

NOW = datetime(2024, 3, 25, 8, 45, 37, tzinfo=UTC)
MINUTE = 1711356300 // 60
ALL_FLAGS = {
    "include_market_cap": "true",
    "include_24hr_vol": "true",
    "include_24hr_change": "true",
    "include_last_updated_at": "true",
}


def sim(moment: datetime = NOW) -> TestClient:
    return TestClient(create_app(clock=lambda: moment), base_url="http://sim")


def at_minute(minute: int, second: int = 0) -> datetime:
    return datetime.fromtimestamp(minute * 60 + second, UTC)


# --- /coins/markets -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["coins_markets_bitcoin_usd_2021-05-15.json",
     "coins_markets_bitcoin_usd_docs_example_2024-04-07.json"],
)  # fmt: skip
def test_markets_objects_have_the_samples_keys_in_order(
    load_sample: Callable[[str, str], Any], name: str
) -> None:
    sample = load_sample("coingecko", name)

    body = (
        sim().get("/api/v3/coins/markets", params={"vs_currency": "usd", "ids": "bitcoin"}).json()
    )

    assert len(body) == 1
    assert list(body[0]) == list(sample[0])
    assert body[0]["id"] == "bitcoin" and body[0]["market_cap_rank"] == 1
    assert body[0]["roi"] is None
    assert body[0]["last_updated"] == "2024-03-25T08:45:00.000Z"


def test_markets_agree_with_simple_price_for_the_same_minute() -> None:
    client = sim()
    rows = client.get("/api/v3/coins/markets", params={"vs_currency": "eur"}).json()
    quotes = client.get(
        "/api/v3/simple/price",
        params={"ids": ",".join(row["id"] for row in rows), "vs_currencies": "eur", **ALL_FLAGS},
    ).json()

    for row in rows:
        quote = quotes[row["id"]]
        assert row["current_price"] == quote["eur"]
        assert row["market_cap"] == quote["eur_market_cap"]
        assert row["total_volume"] == quote["eur_24h_vol"]
        assert row["price_change_percentage_24h"] == pytest.approx(
            quote["eur_24h_change"], abs=1e-5
        )


def test_markets_are_ranked_by_market_cap_and_paginated_like_the_api() -> None:
    client = sim()
    everything = client.get("/api/v3/coins/markets", params={"vs_currency": "usd"}).json()
    first = client.get("/api/v3/coins/markets", params={"vs_currency": "usd", "per_page": 7}).json()
    second = client.get(
        "/api/v3/coins/markets", params={"vs_currency": "usd", "per_page": 7, "page": 2}
    ).json()
    beyond = client.get(
        "/api/v3/coins/markets", params={"vs_currency": "usd", "per_page": 250, "page": 2}
    ).json()

    caps = [row["market_cap"] for row in everything]
    assert caps == sorted(caps, reverse=True)
    assert [row["market_cap_rank"] for row in everything] == list(range(1, len(everything) + 1))
    assert len(everything) == len(market.COINS) >= 15
    assert first + second == everything[:14]
    assert beyond == []


def test_nullable_market_fields_are_null_where_the_real_api_has_nulls() -> None:
    rows = {
        row["id"]: row
        for row in sim().get("/api/v3/coins/markets", params={"vs_currency": "usd"}).json()
    }

    assert rows["ethereum"]["max_supply"] is None
    assert rows["ethereum"]["roi"] is not None
    assert rows["monero"]["total_supply"] is None
    assert rows["monero"]["fully_diluted_valuation"] is None


@pytest.mark.parametrize(
    ("params", "status", "body"),
    [
        ({}, 422, {"error": "Missing parameter vs_currency"}),
        ({"vs_currency": "xyz"}, 400, {"error": "invalid vs_currency"}),
    ],
)
def test_markets_errors(params: dict[str, str], status: int, body: dict[str, str]) -> None:
    response = sim().get("/api/v3/coins/markets", params=params)
    assert (response.status_code, response.json()) == (status, body)


# --- /coins/{id}/market_chart/range -------------------------------------------------------------


def test_chart_has_the_samples_shape(load_sample: Callable[[str, str], Any]) -> None:
    sample = load_sample("coingecko", "market_chart_docs_example_via_jkorf_2024-03-31.json")

    body = (
        sim()
        .get(
            "/api/v3/coins/bitcoin/market_chart/range",
            params={"vs_currency": "usd", "from": 1711353600, "to": 1711353600 + 300},
        )
        .json()
    )

    assert list(body) == list(sample)
    assert all(len(point) == 2 and isinstance(point[0], int) for point in body["prices"])


def test_a_history_point_equals_the_live_answer_of_its_minute() -> None:
    """The agreement silver relies on: a history point at time t is /simple/price at t's minute."""
    minute = MINUTE - 600  # 22:45 UTC the day before: on the 5-minute grid, within the last day
    history = (
        sim()
        .get(
            "/api/v3/coins/ethereum/market_chart/range",
            params={"vs_currency": "gbp", "from": minute * 60, "to": minute * 60 + 60},
        )
        .json()
    )
    live = (
        sim(at_minute(minute, 42))
        .get(
            "/api/v3/simple/price", params={"ids": "ethereum", "vs_currencies": "gbp", **ALL_FLAGS}
        )
        .json()["ethereum"]
    )

    assert history == {
        "prices": [[minute * 60_000, live["gbp"]]],
        "market_caps": [[minute * 60_000, live["gbp_market_cap"]]],
        "total_volumes": [[minute * 60_000, live["gbp_24h_vol"]]],
    }
    assert live["last_updated_at"] * 1000 == history["prices"][0][0]


def test_chart_ranges_are_half_open_and_5_minutely_within_the_last_day() -> None:
    start = (MINUTE - 120) * 60
    body = (
        sim()
        .get(
            "/api/v3/coins/bitcoin/market_chart/range",
            params={"vs_currency": "usd", "from": start, "to": start + 3600},
        )
        .json()
    )

    stamps = [point[0] for point in body["prices"]]
    assert stamps == [(start + 300 * i) * 1000 for i in range(12)]
    assert [p[1] for p in body["prices"]] == [
        market.price("bitcoin", "usd", start // 60 + 5 * i) for i in range(12)
    ]


def test_chart_takes_iso_dates_as_the_current_docs_allow() -> None:
    by_iso = (
        sim()
        .get(
            "/api/v3/coins/bitcoin/market_chart/range",
            params={"vs_currency": "usd", "from": "2024-03-25T07:00", "to": "2024-03-25T07:30"},
        )
        .json()
    )
    by_unix = (
        sim()
        .get(
            "/api/v3/coins/bitcoin/market_chart/range",
            params={"vs_currency": "usd", "from": 1711350000, "to": 1711351800},
        )
        .json()
    )
    assert by_iso == by_unix
    assert len(by_iso["prices"]) == 6


def test_longer_ranges_are_hourly_and_the_range_reaching_now_ends_with_now() -> None:
    body = (
        sim()
        .get(
            "/api/v3/coins/solana/market_chart/range",
            params={
                "vs_currency": "usd",
                "from": MINUTE * 60 - 3 * 86400,
                "to": MINUTE * 60 + 3600,
            },
        )
        .json()
    )

    stamps = [point[0] for point in body["prices"]]
    assert all(stamp % 3_600_000 == 0 for stamp in stamps[:-1])
    assert stamps[-1] == int(NOW.timestamp()) * 1000  # "now", off the grid
    assert body["prices"][-1][1] == market.price("solana", "usd", MINUTE)


def test_chart_never_shows_the_future() -> None:
    body = (
        sim()
        .get(
            "/api/v3/coins/bitcoin/market_chart/range",
            params={"vs_currency": "usd", "from": MINUTE * 60 + 600, "to": MINUTE * 60 + 1200},
        )
        .json()
    )
    assert body == {"prices": [], "market_caps": [], "total_volumes": []}


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/api/v3/coins/not-a-coin/market_chart/range", {"vs_currency": "usd", "from": 1, "to": 2},
         404),
        ("/api/v3/coins/bitcoin/market_chart/range", {"vs_currency": "usd", "from": 1}, 422),
        ("/api/v3/coins/bitcoin/market_chart/range", {"from": 1, "to": 2}, 422),
        ("/api/v3/coins/bitcoin/market_chart/range", {"vs_currency": "xyz", "from": 1, "to": 2},
         400),
        ("/api/v3/coins/bitcoin/market_chart/range",
         {"vs_currency": "usd", "from": "soon", "to": 2}, 422),
    ],
)  # fmt: skip
def test_chart_errors(path: str, params: dict[str, Any], status: int) -> None:
    response = sim().get(path, params=params)
    assert response.status_code == status
    assert "error" in response.json()


# --- the random walk ------------------------------------------------------------------------------


def test_prices_move_like_a_random_walk_with_realistic_volatility() -> None:
    minutes = range(MINUTE, MINUTE + 3000)
    returns = [
        math.log(market.price("bitcoin", "usd", m + 1) / market.price("bitcoin", "usd", m))
        for m in minutes
    ]
    assert statistics.pstdev(returns) == pytest.approx(market.COINS["bitcoin"].sigma, rel=0.2)
    assert abs(statistics.fmean(returns)) < 1e-4
    # Successive moves are uncorrelated, as in a walk (not a sine wave).
    lagged = statistics.correlation(returns[:-1], returns[1:])
    assert abs(lagged) < 0.1


def test_prices_stay_within_a_realistic_band_over_a_year() -> None:
    prices = [market.price("bitcoin", "usd", MINUTE + h * 60) for h in range(0, 365 * 24, 7)]
    assert 0.5 * 65_000 < min(prices) < max(prices) < 2 * 65_000


def test_a_price_costs_well_under_a_millisecond() -> None:
    start = time.perf_counter()
    for offset in range(2_000):
        market.price("cardano", "chf", MINUTE - 10_000_000 + offset * 997)
    assert (time.perf_counter() - start) / 2_000 < 0.001


def test_every_currency_moves_with_the_same_walk() -> None:
    usd = market.price("dogecoin", "usd", MINUTE)
    jpy = market.price("dogecoin", "jpy", MINUTE)
    assert jpy / usd == pytest.approx(market.CURRENCY_PER_USD["jpy"], rel=1e-6)
