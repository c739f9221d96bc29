"""The call budget: monthly calls at the configured schedule, the warning, the cadence skips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lakehouse.cli import main
from lakehouse.config import Settings
from lakehouse.raw_zone import DataInterval
from lakehouse.sources import coingecko, smartcitizen
from lakehouse.sources.budget import (
    PartCalls,
    budget_report,
    fitting_cadence,
    is_due,
    runs_per_month,
)
from lakehouse.sources.coingecko.planner import (
    CoinGeckoSelection,
    CoinsMarkets,
    SimplePrice,
    plan_coingecko,
)
from lakehouse.sources.coingecko.settings import CoinGeckoSettings

CLEAN = {"LAKEHOUSE_HOME": "/nonexistent/lakehouse-home"}


def settings(**env: str) -> Settings:
    return Settings.from_env({**CLEAN, **env})


def test_the_default_schedule_costs_86400_coingecko_calls_against_10000_demo_credits() -> None:
    cg = settings().sources["coingecko"]
    assert coingecko.SOURCE.monthly_calls(cg) == 86_400  # 43,200 prices + 43,200 x 1 page
    assert coingecko.SOURCE.monthly_credits(cg) == 10_000
    assert budget_report(coingecko.SOURCE, cg) == (
        "WARNING coingecko: 86,400 calls/month at this schedule (2 in a minute when every part "
        "is due); the plan has 10,000 credits: set COINGECKO_PRICES_EVERY_MINUTES=9 and "
        "COINGECKO_MARKETS_EVERY_MINUTES=9 to fit (9,600 calls/month)"
    )


def test_the_suggested_settings_fit_and_then_there_is_no_warning() -> None:
    cg = settings(COINGECKO_PRICES_EVERY_MINUTES="9", COINGECKO_MARKETS_EVERY_MINUTES="9").sources[
        "coingecko"
    ]
    assert coingecko.SOURCE.monthly_calls(cg) == 9_600
    assert budget_report(coingecko.SOURCE, cg) == (
        "coingecko: 9,600 calls/month at this schedule (2 in a minute when every part is due); "
        "the plan has 10,000 credits: fits"
    )


@pytest.mark.parametrize(
    ("env", "calls", "credits"),
    [
        ({"COINGECKO_MARKETS_TOP_N": "1000"}, 43_200 * 5, 10_000),  # 4 pages of 250
        ({"COINGECKO_API_PLAN": "pro"}, 86_400, 500_000),
        ({"COINGECKO_MONTHLY_CREDITS": "100000"}, 86_400, 100_000),
        ({"COINGECKO_MONTHLY_CREDITS": "0"}, 86_400, None),
        ({"COINGECKO_MARKETS_EVERY_MINUTES": "60"}, 43_200 + 720, 10_000),
    ],
)
def test_monthly_calls_and_credits_follow_the_settings(
    env: dict[str, str], calls: int, credits: int | None
) -> None:
    cg = settings(**env).sources["coingecko"]
    assert coingecko.SOURCE.monthly_calls(cg) == calls
    assert coingecko.SOURCE.monthly_credits(cg) == credits


def test_smartcitizen_counts_its_devices_and_has_no_monthly_cap() -> None:
    sc = settings(SMARTCITIZEN_WORLD_MAP="true").sources["smartcitizen"]
    assert smartcitizen.SOURCE.monthly_calls(sc) == 4 * 43_200  # 3 devices + the world map
    assert budget_report(smartcitizen.SOURCE, sc) == (
        "smartcitizen: 172,800 calls/month at this schedule (4 in a minute when every part is "
        "due); the plan has no monthly cap"
    )


def test_the_fitting_cadence_keeps_fixed_parts_and_says_when_nothing_fits() -> None:
    parts = (PartCalls("a", 1, 1, "A_EVERY"), PartCalls("b", 2, 1, ""))  # b: 86,400 fixed
    assert fitting_cadence(parts, 10_000) is None
    assert fitting_cadence(parts, 100_000) == 4  # 86,400 + 10,800
    assert runs_per_month(7) == 6_172  # rounded up: a 30-day month holds at most that many


def test_a_cadence_below_one_minute_is_refused() -> None:
    with pytest.raises(ValueError, match="COINGECKO_PRICES_EVERY_MINUTES must be a whole number"):
        CoinGeckoSettings.from_env({"COINGECKO_PRICES_EVERY_MINUTES": "0"})
    with pytest.raises(ValueError, match="markets_every_minutes: must be a whole number"):
        CoinGeckoSelection.from_params(
            {"coins": ["bitcoin"], "currencies": ["usd"], "top_n": 1, "markets_every_minutes": 0}
        )


T = datetime(2026, 11, 25, 10, 30, tzinfo=UTC)  # minutes since 1970: a multiple of 45


def minute(offset: int) -> DataInterval:
    start = T + timedelta(minutes=offset)
    return DataInterval(start, start + timedelta(minutes=1))


def test_live_runs_off_the_cadence_grid_skip_that_part_with_a_reason() -> None:
    selection = CoinGeckoSelection(("bitcoin",), ("usd",), 100, 9, 5)
    assert is_due(T, 9) and is_due(T, 5)

    on_grid = plan_coingecko(selection, "live", minute(0))
    assert on_grid.calls == (SimplePrice(("bitcoin",), ("usd",)), CoinsMarkets("usd", 100, 1))
    assert on_grid.skipped == ()

    off_grid = plan_coingecko(selection, "live", minute(5))  # markets due, prices not
    assert off_grid.calls == (CoinsMarkets("usd", 100, 1),)
    assert off_grid.skipped == (
        "coingecko /simple/price is collected every 9 minutes (call budget) and 10:35 is not on "
        "that grid",
    )
    due = [
        offset for offset in range(60) if plan_coingecko(selection, "live", minute(offset)).calls
    ]
    assert due == sorted({*range(0, 60, 9), *range(0, 60, 5)})


def test_history_runs_ignore_the_cadence() -> None:
    selection = CoinGeckoSelection(("bitcoin",), ("usd",), 100, 9, 9)
    assert plan_coingecko(selection, "history", minute(1), ("prices",)).calls


def test_status_and_up_print_the_budget(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("COINGECKO_API_PLAN", "COINGECKO_MONTHLY_CREDITS", "COINGECKO_MARKETS_TOP_N"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LAKEHOUSE_HOME", str(tmp_path))
    assert main(["status"]) == 1  # nothing started here: it says so, and prints the budget
    out = capsys.readouterr().out
    assert "Call budget" in out
    assert "WARNING coingecko: 86,400 calls/month" in out
    assert "COINGECKO_MARKETS_EVERY_MINUTES=9" in out
