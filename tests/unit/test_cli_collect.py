"""`lakehouse collect` and `lakehouse simulate` refuse bad settings with a clear message.

(A collection into a real MinIO through the CLI is in tests/integration/test_backfill_minio.py.)
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lakehouse.cli import build_parser, main


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "COINGECKO_COINS", "COINGECKO_CURRENCIES", "COINGECKO_API_PLAN", "SMARTCITIZEN_DEVICES",
        "SMARTCITIZEN_WORLD_MAP", "LAKEHOUSE_SIMULATOR_FAULTS", "COINGECKO_MARKETS_TOP_N",
    ):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LAKEHOUSE_HOME", str(tmp_path))
    # Nothing listens here: a test that reached the network would fail loudly.
    monkeypatch.setenv("COINGECKO_BASE_URL", "http://127.0.0.1:9/api/v3")
    monkeypatch.setenv("SMARTCITIZEN_BASE_URL", "http://127.0.0.1:9/v0")
    monkeypatch.setenv("LAKEHOUSE_S3_ENDPOINT", "http://127.0.0.1:9")


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        ({"COINGECKO_COINS": "Bitcoin,ethereum"}, ["coingecko"],
         "error: coins: ['Bitcoin'] are not valid ids (lower-case letters, digits and '-', no "
         "spaces)"),
        ({"COINGECKO_MARKETS_TOP_N": "0"}, ["coingecko"],
         "error: top_n: must be a whole number from 1 to 1000, got 0"),
        ({"SMARTCITIZEN_DEVICES": "13006,abc"}, ["smartcitizen"],
         "error: SMARTCITIZEN_DEVICES must be a comma list of device ids, got '13006,abc'"),
        ({"SMARTCITIZEN_WORLD_MAP": "maybe"}, ["smartcitizen"],
         "error: SMARTCITIZEN_WORLD_MAP must be true or false, got 'maybe'"),
        ({}, ["coingecko", "--interval-start", "yesterday"],
         "error: Invalid isoformat string: 'yesterday'"),
    ],
)  # fmt: skip
def test_collect_refuses_bad_settings_before_any_request(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    args: list[str],
    message: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    assert main(["collect", *args]) == 1

    assert capsys.readouterr().err.strip() == message


def test_collect_refuses_history_older_than_the_plan_serves_before_any_request(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    assert main(["collect", "coingecko", "--interval-start", "2024-03-25T08:00"]) == 1

    error = capsys.readouterr().err
    assert error.startswith("error: coingecko plan 'demo' serves 365 days of history (from ")
    assert "[2024-03-25T08:00:00+00:00, 2024-03-25T08:01:00+00:00) is older" in error
    assert not [r for r in caplog.records if "fetch failed" in r.getMessage()]


def test_collect_stops_at_an_unreachable_api_and_says_so(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # The current hour is an open block: fetched without a claim, so the lake is not touched.
    recent = datetime.now(UTC) - timedelta(minutes=2)
    args = ["coingecko", "--history", "--interval-start", f"{recent:%Y-%m-%dT%H:%M}"]
    assert main(["collect", *args]) == 1

    assert capsys.readouterr().err == (
        "error: coingecko market_chart_range: HTTP -: ConnectionError (NewConnectionError)\n"
    )
    failures = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert failures == [  # one line, and no further calls after it
        "fetch failed, nothing landed, run stopped: coingecko market_chart_range: HTTP -: "
        "ConnectionError (NewConnectionError) [id=bitcoin vs_currency=usd]"
    ]


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (
            "bogus=0.1",
            "error: unknown fault 'bogus'; kinds: 429, 500, slow, malformed, html, drift",
        ),
        ("500", "error: fault probability '500': write KIND=PROBABILITY"),
    ],
)
def test_simulate_refuses_a_bad_fault(
    capsys: pytest.CaptureFixture[str], fault: str, message: str
) -> None:
    assert main(["simulate", "--port", "9", "--fault", fault]) == 1
    assert capsys.readouterr().err.strip() == message


def test_the_commands_and_options() -> None:
    parser = build_parser()
    collect = parser.parse_args(["collect", "smartcitizen", "--history", "--interval-start", "X"])
    simulate = parser.parse_args(
        ["simulate", "--fault", "429=0.1", "--fault", "slow=0.05", "--fault-seed", "3",
         "--retry-after", "30", "--slow-seconds", "2.5"]
    )  # fmt: skip

    assert (collect.source, collect.history, collect.interval_start) == ("smartcitizen", True, "X")
    assert simulate.fault == ["429=0.1", "slow=0.05"]
    assert (simulate.fault_seed, simulate.retry_after, simulate.slow_seconds) == (3, 30, 2.5)
    with pytest.raises(SystemExit):
        parser.parse_args(["collect", "binance"])


def test_simulate_takes_the_real_api_rules_as_options() -> None:
    simulate = build_parser().parse_args(
        ["simulate", "--coingecko-plan", "enterprise", "--coingecko-rate-limit", "500",
         "--smartcitizen-rate-limit", "0", "--history", "minutely"]
    )  # fmt: skip

    assert (simulate.coingecko_plan, simulate.coingecko_rate_limit) == ("enterprise", 500)
    assert (simulate.smartcitizen_rate_limit, simulate.history) == (0, "minutely")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["simulate", "--coingecko-plan", "free"])


def test_simulate_refuses_a_negative_rate_limit(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--port", "9", "--coingecko-rate-limit", "-1"]) == 1
    assert "rate limits must be 0 (off) or a positive number" in capsys.readouterr().err
