"""Live or history, and which requests a run makes: pure functions, no network."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lakehouse.raw_zone import DataInterval
from lakehouse.sources.coingecko.client import market_pages
from lakehouse.sources.coingecko.planner import (
    CoinGeckoSelection,
    CoinsMarkets,
    MarketChartRange,
    SimplePrice,
    plan_coingecko,
)
from lakehouse.sources.coingecko.settings import CoinGeckoSettings
from lakehouse.sources.planning import HISTORY_LAG, choose_mode
from lakehouse.sources.smartcitizen.planner import (
    Device,
    DeviceReadings,
    SmartCitizenSelection,
    WorldMap,
    plan_smartcitizen,
)
from lakehouse.sources.smartcitizen.settings import SmartCitizenSettings

T = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
MINUTE = DataInterval(T, T + timedelta(minutes=1))
CG = CoinGeckoSelection(("bitcoin", "ethereum"), ("usd", "eur"), 100)
SC = SmartCitizenSelection((13006, 15602), world_map=True)


# --- live or history -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (T + timedelta(minutes=1, seconds=2), "live"),  # the scheduler's run, on time
        (T + timedelta(minutes=1) + HISTORY_LAG - timedelta(seconds=1), "live"),  # late retry
        (T + timedelta(minutes=1) + HISTORY_LAG, "history"),  # exactly the lag: history
        (T + timedelta(days=3), "history"),  # a backfill
        (T - timedelta(hours=1), "live"),  # an interval in the future (a manual CLI run)
    ],
)
def test_mode_follows_the_age_of_the_interval_end(now: datetime, expected: str) -> None:
    assert choose_mode(MINUTE, now) == expected


def test_history_can_be_forced_for_a_recent_interval() -> None:
    assert choose_mode(MINUTE, T + timedelta(minutes=1), history=True) == "history"


def test_a_history_run_needs_a_non_empty_interval() -> None:
    with pytest.raises(ValueError, match="a history fetch needs a data interval that is not empty"):
        choose_mode(DataInterval(T, T), T + timedelta(days=1))


def test_an_empty_interval_is_fine_live() -> None:
    assert choose_mode(DataInterval(T, T), T) == "live"


# --- CoinGecko plans ------------------------------------------------------------------------------


def test_live_prices_is_one_simple_price_for_every_pair() -> None:
    plan = plan_coingecko(CG, "live", MINUTE, parts=("prices",))

    assert plan.calls == (SimplePrice(("bitcoin", "ethereum"), ("usd", "eur")),)
    assert plan.skipped == ()


def test_history_prices_is_one_market_chart_range_per_pair_over_exactly_the_interval() -> None:
    plan = plan_coingecko(CG, "history", MINUTE, parts=("prices",))

    assert plan.calls == (
        MarketChartRange("bitcoin", "usd", MINUTE.start, MINUTE.end),
        MarketChartRange("bitcoin", "eur", MINUTE.start, MINUTE.end),
        MarketChartRange("ethereum", "usd", MINUTE.start, MINUTE.end),
        MarketChartRange("ethereum", "eur", MINUTE.start, MINUTE.end),
    )


def test_live_markets_pages_through_the_first_currency() -> None:
    selection = CoinGeckoSelection(("bitcoin",), ("eur", "usd"), 600)

    plan = plan_coingecko(selection, "live", MINUTE, parts=("markets",))

    assert plan.calls == (
        CoinsMarkets("eur", 250, 1),
        CoinsMarkets("eur", 250, 2),
        CoinsMarkets("eur", 250, 3),
    )


def test_markets_have_no_history_and_say_so() -> None:
    plan = plan_coingecko(CG, "history", MINUTE, parts=("markets",))

    assert plan.calls == ()
    assert plan.skipped == (
        "coingecko /coins/markets has no history: a backfill lands prices only",
    )


@pytest.mark.parametrize(
    ("top_n", "pages"),
    [
        (1, [(1, 1)]),
        (100, [(100, 1)]),
        (250, [(250, 1)]),
        (251, [(250, 1), (250, 2)]),
        (1000, [(250, 1), (250, 2), (250, 3), (250, 4)]),
    ],
)
def test_market_pages(top_n: int, pages: list[tuple[int, int]]) -> None:
    assert market_pages(top_n) == pages


def test_unknown_parts_are_refused() -> None:
    with pytest.raises(ValueError, match=r"parts must be some of \['prices', 'markets'\]"):
        plan_coingecko(CG, "live", MINUTE, parts=("price",))


# --- Smart Citizen plans --------------------------------------------------------------------------


def test_live_smartcitizen_is_each_device_and_the_world_map() -> None:
    plan = plan_smartcitizen(SC, "live", MINUTE)

    assert plan.calls == (Device(13006), Device(15602), WorldMap())


def test_history_smartcitizen_is_each_devices_readings_with_a_one_minute_rollup() -> None:
    plan = plan_smartcitizen(SC, "history", MINUTE)

    assert plan.calls == (
        DeviceReadings(13006, "1m", MINUTE.start, MINUTE.end),
        DeviceReadings(15602, "1m", MINUTE.start, MINUTE.end),
    )
    assert plan.skipped == ("smartcitizen /devices/world_map has no history",)


def test_world_map_is_skipped_unless_enabled() -> None:
    plan = plan_smartcitizen(SmartCitizenSelection((1616,), False), "live", MINUTE)

    assert plan.calls == (Device(1616),)
    assert plan.skipped == ("smartcitizen world map is not enabled for this run",)


# --- Params ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"coins": ["Bitcoin"], "currencies": ["usd"], "top_n": 10}, r"^coins: \['Bitcoin'\]"),
        ({"coins": ["bitcoin"], "currencies": ["usd", " eur"], "top_n": 10},
         r"^currencies: \[' eur'\] are not valid ids \(lower-case letters, digits and '-', no "
         r"spaces\)$"),
        ({"coins": "bitcoin,ethereum", "currencies": ["usd"], "top_n": 10},
         r"^coins: give a list of ids, not the string 'bitcoin,ethereum'$"),
        ({"coins": [], "currencies": ["usd"], "top_n": 10}, r"^coins: at least one id is needed$"),
        ({"coins": ["bitcoin"], "currencies": ["usd"], "top_n": 0},
         r"^top_n: must be a whole number from 1 to 1000, got 0$"),
        ({"coins": ["bitcoin"], "currencies": ["usd"], "top_n": "10"},
         r"^top_n: must be a whole number from 1 to 1000, got '10'$"),
        ({"coins": ["bitcoin"], "currencies": ["usd"], "top_n": True}, r"^top_n: "),
        ({"coins": ["bitcoin"], "currencies": ["usd"]}, r"^missing params: top_n$"),
    ],
)  # fmt: skip
def test_bad_coingecko_params_are_refused_with_a_clear_message(
    params: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        CoinGeckoSelection.from_params(params)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"devices": ["abc"], "world_map": False},
         r"^devices: \['abc'\] are not device ids \(positive whole numbers\)$"),
        ({"devices": [0, 13006], "world_map": False}, r"^devices: \[0\] are not device ids"),
        ({"devices": [], "world_map": False}, r"^devices: at least one device id is needed$"),
        ({"devices": "13006", "world_map": False}, r"^devices: give a list of device ids"),
        ({"devices": [13006], "world_map": "yes"},
         r"^world_map: must be true or false, got 'yes'$"),
    ],
)  # fmt: skip
def test_bad_smartcitizen_params_are_refused_with_a_clear_message(
    params: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        SmartCitizenSelection.from_params(params)


def test_good_params_and_settings_make_the_same_selection() -> None:
    settings = CoinGeckoSettings(coins=("solana",), currencies=("chf", "usd"), markets_top_n=7)

    from_params = CoinGeckoSelection.from_params(
        {"coins": ["solana"], "currencies": ["chf", "usd"], "top_n": 7, "history": False}
    )

    assert from_params == CoinGeckoSelection.from_settings(settings)
    assert from_params.markets_currency == "chf"
    assert SmartCitizenSelection.from_settings(SmartCitizenSettings()) == SmartCitizenSelection(
        (1616, 13006, 15602), False
    )
    assert SmartCitizenSelection.from_params(
        {"devices": ["13006", 1616], "world_map": True}
    ) == SmartCitizenSelection((13006, 1616), True)
