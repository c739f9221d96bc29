"""CoinGecko history in the simulator follows the documented rules: grain by range, window by plan.

Rules: https://docs.coingecko.com/reference/coins-id-market-chart-range (automatic granularity,
`interval`) and https://www.coingecko.com/en/api/pricing (history per plan); see
`lakehouse.simulator.market_chart` and `lakehouse.simulator.plans`.
"""

from __future__ import annotations

import itertools
import warnings
from datetime import UTC, datetime
from typing import Any

import pytest

from lakehouse.config import SimulatorSettings
from lakehouse.simulator import market
from lakehouse.simulator.app import create_app

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

NOW = datetime(2024, 3, 25, 8, 45, 37, tzinfo=UTC)
NOW_S = int(NOW.timestamp())
HOUR = 3600
DAY = 86400
RANGE = "/api/v3/coins/bitcoin/market_chart/range"


def sim(**settings: Any) -> TestClient:
    return TestClient(
        create_app(clock=lambda: NOW, settings=SimulatorSettings(**settings)), base_url="http://sim"
    )


def chart(
    client: TestClient,
    start: float,
    end: float,
    headers: dict[str, str] | None = None,
    **params: str,
) -> Any:
    query = {"vs_currency": "usd", "from": str(start), "to": str(end), **params}
    return client.get(RANGE, params=query, headers=headers or {})


def steps(body: dict[str, Any], reaches_now: bool) -> set[int]:
    stamps = [point[0] // 1000 for point in body["prices"]]
    if reaches_now:
        assert stamps[-1] == NOW_S  # the last point is "now", off the grid
        stamps = stamps[:-1]
    return {b - a for a, b in itertools.pairwise(stamps)}


# --- automatic granularity ------------------------------------------------------------------------


def test_a_range_within_the_last_day_is_5_minutely_and_ends_with_now() -> None:
    body = chart(sim(), NOW_S - DAY, NOW_S).json()

    assert steps(body, reaches_now=False) == {300}
    assert all(point[0] % 300_000 == 0 for point in body["prices"])
    assert len(body["prices"]) == 288


def test_the_last_hour_ends_with_a_point_at_now() -> None:
    body = chart(sim(), NOW_S - HOUR, NOW_S + 60).json()

    assert steps(body, reaches_now=True) == {300}
    assert body["prices"][-1] == [NOW_S * 1000, market.price("bitcoin", "usd", NOW_S // 60)]


def test_a_one_day_range_not_within_the_last_day_is_hourly() -> None:
    # "1 day from any time (except current time) = hourly data"
    start = (NOW_S // DAY - 3) * DAY
    body = chart(sim(), start, start + DAY).json()

    stamps = [point[0] // 1000 for point in body["prices"]]
    assert stamps == [start + HOUR * i for i in range(24)]
    prices = [market.price("bitcoin", "usd", t // 60) for t in stamps]
    assert [p[1] for p in body["prices"]] == prices


def test_a_one_hour_range_two_days_back_holds_one_hourly_point() -> None:
    start = (NOW_S // HOUR - 48) * HOUR
    body = chart(sim(), start, start + HOUR).json()

    assert [point[0] // 1000 for point in body["prices"]] == [start]


def test_ranges_up_to_90_days_are_hourly() -> None:
    body = chart(sim(), NOW_S - 90 * DAY, NOW_S).json()

    assert steps(body, reaches_now=False) == {HOUR}


def test_ranges_above_90_days_are_daily_at_midnight_utc() -> None:
    body = chart(sim(), NOW_S - 91 * DAY, NOW_S + 1).json()

    assert steps(body, reaches_now=True) == {DAY}
    assert all(point[0] % (DAY * 1000) == 0 for point in body["prices"][:-1])


def test_the_minutely_option_serves_minutes_as_no_real_plan_does() -> None:
    start = (NOW_S // HOUR - 48) * HOUR
    body = chart(sim(history="minutely"), start, start + HOUR).json()

    assert [point[0] // 1000 for point in body["prices"]] == [start + 60 * i for i in range(60)]


def test_interval_daily_is_served_on_the_demo_plan() -> None:
    body = chart(sim(), NOW_S - 10 * DAY, NOW_S, interval="daily").json()

    assert steps(body, reaches_now=False) == {DAY}


@pytest.mark.parametrize("interval", ["5m", "hourly"])
@pytest.mark.parametrize("plan", ["demo", "pro"])
def test_interval_5m_and_hourly_are_enterprise_only(plan: str, interval: str) -> None:
    response = chart(sim(coingecko_plan=plan), NOW_S - 10 * DAY, NOW_S, interval=interval)

    assert response.status_code == 401
    assert response.json()["status"]["error_code"] == 10005
    assert (
        f"interval={interval} is exclusive to Enterprise"
        in response.json()["status"]["error_message"]
    )


def test_enterprise_gets_5_minutely_points_over_several_days() -> None:
    body = chart(sim(coingecko_plan="enterprise"), NOW_S - 5 * DAY, NOW_S, interval="5m").json()

    assert steps(body, reaches_now=False) == {300}


def test_an_unknown_interval_is_refused() -> None:
    response = chart(sim(), NOW_S - DAY, NOW_S, interval="minutely")

    assert response.status_code == 400


# --- history window per plan ----------------------------------------------------------------------


def test_demo_serves_the_past_365_days() -> None:
    response = chart(sim(), NOW_S - 364 * DAY, NOW_S - 300 * DAY)

    assert response.status_code == 200
    assert response.json()["prices"]


def test_demo_refuses_a_range_starting_more_than_365_days_back_like_the_real_api() -> None:
    response = chart(sim(), NOW_S - 366 * DAY, NOW_S - 300 * DAY)

    assert response.status_code == 401
    status = response.json()["error"]["status"]
    assert status["error_code"] == 10012
    assert status["error_message"].startswith(
        "Your request exceeds the allowed time range. Public API users are limited to querying "
        "historical data within the past 365 days."
    )
    assert status["timestamp"].startswith("2024-03-25T08:45:37")


def test_paid_plans_serve_years_back() -> None:
    start = datetime(2019, 1, 1, tzinfo=UTC).timestamp()

    for plan in ("pro", "enterprise"):
        response = chart(sim(coingecko_plan=plan), start, start + 30 * DAY)
        assert response.status_code == 200, plan
        assert steps(response.json(), reaches_now=False) == {HOUR}


def test_paid_plans_stop_at_their_first_day() -> None:
    start = datetime(2012, 6, 1, tzinfo=UTC).timestamp()

    response = chart(sim(coingecko_plan="pro"), start, start + 30 * DAY)

    assert response.status_code == 401
    assert response.json()["error"]["status"]["error_code"] == 10012


def test_a_demo_key_is_served_as_demo_whatever_the_setting() -> None:
    demo_key = {"x-cg-demo-api-key": "CG-demo"}

    response = chart(sim(coingecko_plan="pro"), NOW_S - 400 * DAY, NOW_S - 300 * DAY, demo_key)

    assert response.status_code == 401


def test_a_pro_key_is_served_as_a_paid_plan() -> None:
    pro_key = {"x-cg-pro-api-key": "CG-pro"}

    response = chart(sim(), NOW_S - 400 * DAY, NOW_S - 300 * DAY, pro_key)

    assert response.status_code == 200


def test_an_unknown_coin_is_the_real_404() -> None:
    response = sim().get(
        "/api/v3/coins/bitcoinn/market_chart/range",
        params={"vs_currency": "usd", "from": NOW_S - HOUR, "to": NOW_S},
    )

    assert (response.status_code, response.json()) == (404, {"error": "coin not found"})


def test_settings_refuse_an_unknown_plan_or_history_mode() -> None:
    with pytest.raises(ValueError, match="COINGECKO_PLAN must be one of demo, pro, enterprise"):
        SimulatorSettings(coingecko_plan="free")
    with pytest.raises(ValueError, match="HISTORY must be one of api, minutely"):
        SimulatorSettings(history="hourly")
