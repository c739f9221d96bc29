"""Live or history, and which requests a run makes: pure functions, no network."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lakehouse.collect import HistoryUnavailable
from lakehouse.raw_zone import DataInterval
from lakehouse.raw_zone_claims import Block
from lakehouse.sources.coingecko.client import market_pages
from lakehouse.sources.coingecko.history import SETTLE, HistoryTerms
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


def range_call(coin: str, currency: str, start: datetime, size: timedelta) -> MarketChartRange:
    block = Block("coingecko", "market_chart_range", f"{coin}_{currency}", start, start + size)
    return MarketChartRange(coin, currency, block)


def test_history_prices_older_than_a_day_is_the_utc_day_per_pair() -> None:
    """docs.coingecko.com: a one-day range from any time but now is answered hourly."""
    plan = plan_coingecko(CG, "history", MINUTE, parts=("prices",), now=T + timedelta(days=3))

    day = datetime(2026, 11, 25, tzinfo=UTC)
    assert plan.calls == (
        range_call("bitcoin", "usd", day, timedelta(days=1)),
        range_call("bitcoin", "eur", day, timedelta(days=1)),
        range_call("ethereum", "usd", day, timedelta(days=1)),
        range_call("ethereum", "eur", day, timedelta(days=1)),
    )
    assert all(call.block.closed for call in plan.calls)


def test_history_prices_within_the_last_day_is_the_utc_hour_per_pair() -> None:
    """docs.coingecko.com: a range within 1 day from now is answered 5-minutely."""
    late = DataInterval(T + timedelta(minutes=37), T + timedelta(minutes=38))
    plan = plan_coingecko(CG, "history", late, parts=("prices",), now=T + timedelta(hours=20))

    assert plan.calls[0] == range_call("bitcoin", "usd", T, timedelta(hours=1))
    assert len(plan.calls) == 4


def test_every_minute_of_a_block_plans_the_same_request() -> None:
    now = T + timedelta(days=2)
    plans = {
        plan_coingecko(
            CG,
            "history",
            DataInterval(T + timedelta(minutes=m), T + timedelta(minutes=m + 1)),
            parts=("prices",),
            now=now,
        ).calls
        for m in range(0, 14 * 60, 7)
    }
    assert len(plans) == 1


def test_the_current_hour_is_an_open_block_up_to_the_current_minute() -> None:
    now = T + timedelta(minutes=25, seconds=40)
    plan = plan_coingecko(CG, "history", MINUTE, parts=("prices",), now=now)

    block = plan.calls[0].block
    assert (block.start, block.end, block.closed) == (T, T + timedelta(minutes=25), False)


def test_an_hour_is_closed_once_it_settled() -> None:
    settled = T + timedelta(hours=1) + SETTLE
    early = plan_coingecko(CG, "history", MINUTE, parts=("prices",), now=settled - timedelta(1))
    late = plan_coingecko(CG, "history", MINUTE, parts=("prices",), now=settled)

    assert not early.calls[0].block.closed
    assert late.calls[0] == range_call("bitcoin", "usd", T, timedelta(hours=1))
    assert late.calls[0].block.closed


def test_an_interval_over_two_blocks_plans_both() -> None:
    two_days = DataInterval(T + timedelta(hours=13), T + timedelta(hours=15))
    plan = plan_coingecko(
        CoinGeckoSelection(("bitcoin",), ("usd",), 1),
        "history",
        two_days,
        now=T + timedelta(days=9),
    )

    day = datetime(2026, 11, 25, tzinfo=UTC)
    assert plan.calls == (
        range_call("bitcoin", "usd", day, timedelta(days=1)),
        range_call("bitcoin", "usd", day + timedelta(days=1), timedelta(days=1)),
    )


def test_history_older_than_the_demo_plans_year_fails_naming_the_window() -> None:
    now = T + timedelta(days=366)
    with pytest.raises(HistoryUnavailable, match=r"plan 'demo' serves 365 days of history"):
        plan_coingecko(CG, "history", MINUTE, parts=("prices",), now=now)

    pro = plan_coingecko(
        CG, "history", MINUTE, parts=("prices",), now=now, terms=HistoryTerms.of("pro")
    )
    assert len(pro.calls) == 4


def test_the_connection_can_set_how_many_days_of_history_the_plan_serves() -> None:
    two_days = HistoryTerms.of("demo", 2)
    with pytest.raises(HistoryUnavailable, match=r"plan 'demo' serves 2 days of history"):
        plan_coingecko(CG, "history", MINUTE, now=T + timedelta(days=3), terms=two_days)
    with pytest.raises(ValueError, match="history_days must be a positive whole number"):
        HistoryTerms.of("demo", 0)


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


def test_history_smartcitizen_is_each_devices_hour_of_one_minute_rollups() -> None:
    plan = plan_smartcitizen(SC, "history", MINUTE, now=T + timedelta(days=1))

    hour = T + timedelta(hours=1)
    assert plan.calls == (
        DeviceReadings(13006, "1m", Block("smartcitizen", "readings", "13006", T, hour)),
        DeviceReadings(15602, "1m", Block("smartcitizen", "readings", "15602", T, hour)),
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
