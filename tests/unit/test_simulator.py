"""The CoinGecko simulator answers with the shapes of the real API and deterministic values."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from lakehouse.simulator import market
from lakehouse.simulator.app import create_app

with warnings.catch_warnings():
    # Starlette's note that its httpx-based TestClient is deprecated is no concern of these tests.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

NOW = datetime(2024, 3, 25, 8, 45, 37, tzinfo=UTC)
MINUTE_START = 1711356300  # 08:45:00 UTC
MINUTE = MINUTE_START // 60
ALL_FLAGS = {
    "include_market_cap": "true",
    "include_24hr_vol": "true",
    "include_24hr_change": "true",
    "include_last_updated_at": "true",
}


def sim(moment: datetime = NOW) -> TestClient:
    return TestClient(create_app(clock=lambda: moment), base_url="http://sim")


def simple_price(client: TestClient, **params: str) -> Any:
    return client.get("/api/v3/simple/price", params=params)


def test_shape_matches_the_all_flags_sample(load_sample: Callable[[str, str], Any]) -> None:
    sample = load_sample(
        "coingecko", "simple_price_bitcoin_all_include_flags_docs_example_2024-03-25.json"
    )

    response = simple_price(sim(), ids="bitcoin", vs_currencies="usd", **ALL_FLAGS)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == list(sample)
    assert set(body["bitcoin"]) == set(sample["bitcoin"])
    assert type(body["bitcoin"]["last_updated_at"]) is int
    assert body["bitcoin"]["last_updated_at"] == MINUTE_START
    assert all(type(v) is float for k, v in body["bitcoin"].items() if k != "last_updated_at")


def test_shape_without_flags_matches_the_plain_sample(
    load_sample: Callable[[str, str], Any],
) -> None:
    sample = load_sample("coingecko", "simple_price_bitcoin_usd_2021-05-15.json")

    body = simple_price(sim(), ids="bitcoin", vs_currencies="usd").json()

    assert list(body) == list(sample)
    assert list(body["bitcoin"]) == list(sample["bitcoin"]) == ["usd"]


def test_values_are_the_market_functions_of_the_clocks_minute() -> None:
    body = simple_price(sim(), ids="ethereum,cardano", vs_currencies="eur,gbp", **ALL_FLAGS).json()

    expected: dict[str, dict[str, float | int]] = {}
    for coin in ("ethereum", "cardano"):
        quote: dict[str, float | int] = {}
        for cur in ("eur", "gbp"):
            quote[cur] = market.price(coin, cur, MINUTE)
            quote[f"{cur}_market_cap"] = market.market_cap(coin, cur, MINUTE)
            quote[f"{cur}_24h_vol"] = market.volume_24h(coin, cur, MINUTE)
            quote[f"{cur}_24h_change"] = market.change_24h_pct(coin, cur, MINUTE)
        quote["last_updated_at"] = MINUTE_START
        expected[coin] = quote
    assert body == expected
    assert list(body["ethereum"]) == [
        "eur",
        "eur_market_cap",
        "eur_24h_vol",
        "eur_24h_change",
        "gbp",
        "gbp_market_cap",
        "gbp_24h_vol",
        "gbp_24h_change",
        "last_updated_at",
    ]


def test_market_values_are_pinned() -> None:
    # Exact values, so a change of the generator (which moves every expected number) is noticed.
    # Re-pinned when prices became a seeded random walk (Brownian bridges between knots).
    assert market.price("bitcoin", "usd", MINUTE) == 71419.62934686
    assert market.market_cap("bitcoin", "usd", MINUTE) == 1406966698133.14
    assert market.volume_24h("bitcoin", "usd", MINUTE) == 55073668845.28
    assert market.change_24h_pct("bitcoin", "usd", MINUTE) == -0.40372052
    assert market.price("tether", "usd", MINUTE) == pytest.approx(1.0, abs=0.05)


def test_each_flag_adds_only_its_key() -> None:
    client = sim()
    for flag, key in [
        ("include_market_cap", "usd_market_cap"),
        ("include_24hr_vol", "usd_24h_vol"),
        ("include_24hr_change", "usd_24h_change"),
        ("include_last_updated_at", "last_updated_at"),
    ]:
        body = simple_price(client, ids="solana", vs_currencies="usd", **{flag: "true"}).json()
        assert list(body["solana"]) == ["usd", key], flag


def test_unknown_coin_is_left_out() -> None:
    body = simple_price(sim(), ids="bitcoin,not-a-coin", vs_currencies="usd").json()

    assert body == {"bitcoin": {"usd": market.price("bitcoin", "usd", MINUTE)}}


def test_only_unknown_coins_give_an_empty_object() -> None:
    response = simple_price(sim(), ids="not-a-coin", vs_currencies="usd")

    assert response.status_code == 200
    assert response.json() == {}


@pytest.mark.parametrize("currencies", ["xyz", "ethereum", "ethereum,bitcoin"])
def test_unknown_currency_gives_200_with_an_empty_quote(currencies: str) -> None:
    # The real answer to vs_currencies=ethereum (a coin id, not a currency): HTTP 200
    # {"bitcoin":{}}.
    response = simple_price(sim(), ids="bitcoin", vs_currencies=currencies)

    assert response.status_code == 200
    assert response.json() == {"bitcoin": {}}


def test_crypto_currencies_quote_in_the_coin_they_stand_for() -> None:
    body = simple_price(sim(), ids="solana,bitcoin", vs_currencies="eth,btc").json()

    in_usd = {coin: market.price(coin, "usd", MINUTE) for coin in ("solana", "bitcoin", "ethereum")}
    assert body["bitcoin"]["btc"] == 1.0
    # Prices carry 8 decimals, like the real API's.
    assert body["solana"]["eth"] == pytest.approx(in_usd["solana"] / in_usd["ethereum"], abs=2e-8)
    assert body["solana"]["btc"] == pytest.approx(in_usd["solana"] / in_usd["bitcoin"], abs=2e-8)


def test_a_space_after_a_comma_drops_the_item_like_the_real_api() -> None:
    client = sim()

    currencies = simple_price(client, ids="bitcoin", vs_currencies="usd, eur").json()
    coins = simple_price(client, ids="bitcoin, ethereum", vs_currencies="usd").json()

    assert currencies == {"bitcoin": {"usd": market.price("bitcoin", "usd", MINUTE)}}
    assert coins == {"bitcoin": {"usd": market.price("bitcoin", "usd", MINUTE)}}


def test_missing_ids_is_422_like_the_real_api(load_sample: Callable[[str, str], Any]) -> None:
    client = sim()

    without = client.get("/api/v3/simple/price")
    empty = simple_price(client, ids="", vs_currencies="usd")

    for response in (without, empty):
        assert response.status_code == 422
        assert response.json() == {"error": "Missing parameter ids"}
        assert response.json() == load_sample(
            "coingecko", "error_422_missing_parameter_ids_2021-07-19.json"
        )
    assert without.content == b'{"error":"Missing parameter ids"}'


def test_missing_vs_currencies_is_422() -> None:
    response = simple_price(sim(), ids="bitcoin")

    assert response.status_code == 422
    assert response.json() == {"error": "Missing parameter vs_currencies"}


def test_two_app_instances_answer_the_same_bytes() -> None:
    params = {"ids": "bitcoin,ethereum,dogecoin", "vs_currencies": "usd,jpy", **ALL_FLAGS}

    first = simple_price(sim(), **params).content
    second = simple_price(sim(), **params).content

    assert first == second


def test_values_change_per_minute_not_per_second() -> None:
    params = {"ids": "bitcoin", "vs_currencies": "usd", **ALL_FLAGS}

    at_start = simple_price(sim(datetime(2024, 3, 25, 8, 45, 0, tzinfo=UTC)), **params).json()
    at_end = simple_price(sim(datetime(2024, 3, 25, 8, 45, 59, 999, tzinfo=UTC)), **params).json()
    next_minute = simple_price(sim(datetime(2024, 3, 25, 8, 46, tzinfo=UTC)), **params).json()

    assert at_start == at_end
    assert next_minute["bitcoin"]["last_updated_at"] == MINUTE_START + 60
    assert next_minute["bitcoin"]["usd"] == market.price("bitcoin", "usd", MINUTE + 1)
    assert next_minute["bitcoin"]["usd"] != at_start["bitcoin"]["usd"]


def test_ping(load_sample: Callable[[str, str], Any]) -> None:
    response = sim().get("/api/v3/ping")

    assert response.status_code == 200
    assert response.json() == {"gecko_says": "(V3) To the Moon!"}
    assert response.json() == load_sample("coingecko", "ping_docs_example_via_jkorf.json")
