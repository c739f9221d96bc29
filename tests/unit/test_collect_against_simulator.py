"""Collectors of both APIs against the simulator served in a thread, with every fault it injects.

The simulator's clock is fixed at 2024-03-25 08:45:37 UTC (tests/conftest.py). Faults are queued
through its control endpoint (they hit the next requests) or sent with every request through a
session header, which the collectors themselves never send.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from memory_s3 import MemoryS3

from lakehouse.collect import CollectionFailed, run_collection
from lakehouse.raw_zone import DataInterval, RawZoneWriter
from lakehouse.simulator import market, sensors
from lakehouse.simulator.faults import drift
from lakehouse.sources import coingecko, smartcitizen
from lakehouse.sources.coingecko.client import CoinGeckoHttpClient
from lakehouse.sources.coingecko.collect import collect_coingecko
from lakehouse.sources.coingecko.planner import CoinGeckoSelection
from lakehouse.sources.http import ApiError, RateLimited, retrying_session
from lakehouse.sources.limiter import SlidingWindowLimiter
from lakehouse.sources.smartcitizen.client import SmartCitizenHttpClient
from lakehouse.sources.smartcitizen.collect import collect_smartcitizen
from lakehouse.sources.smartcitizen.planner import SmartCitizenSelection

SECRET = "CG-s3cr3t-KEY-do-not-leak"
LIVE = DataInterval(
    datetime(2024, 3, 25, 8, 44, tzinfo=UTC), datetime(2024, 3, 25, 8, 45, tzinfo=UTC)
)
PAST = DataInterval(
    datetime(2024, 3, 25, 7, 0, tzinfo=UTC), datetime(2024, 3, 25, 7, 1, tzinfo=UTC)
)
PAST_MINUTE = int(PAST.start.timestamp()) // 60
HOUR = DataInterval(PAST.start, PAST.start + timedelta(hours=1))
"""The block that holds PAST: within a day of the simulator's clock, so the UTC hour."""
CG = CoinGeckoSelection(("bitcoin", "ethereum"), ("usd", "eur"), 100)
SC = SmartCitizenSelection((1616, 13006, 15602, 16777), world_map=True)


@pytest.fixture
def faults(simulator: Any) -> Iterator[Any]:
    """Queue faults for the next requests; everything is reset before and after each test."""

    def queue(*kinds: str) -> None:
        requests.post(f"{simulator.base_url}/_simulator/faults", json={"queue": list(kinds)})

    requests.post(f"{simulator.base_url}/_simulator/faults", json={"reset": True})
    simulator.seen.clear()
    yield queue
    requests.post(f"{simulator.base_url}/_simulator/faults", json={"reset": True})


def session(always: str | None = None) -> requests.Session:
    """Retries as in production, with backoffs of milliseconds; `always`: a fault on every call."""
    made = retrying_session(total=3, backoff_factor=0.01)
    if always:
        made.headers["X-Simulator-Fault"] = always
    return made


@dataclass
class Clients:
    sleeps: list[float]
    coingecko: CoinGeckoHttpClient
    smartcitizen: SmartCitizenHttpClient


def clients(simulator: Any, always: str | None = None, timeout: float = 5.0) -> Clients:
    sleeps: list[float] = []
    return Clients(
        sleeps,
        CoinGeckoHttpClient(
            simulator.coingecko_url, api_key=SECRET, timeout=timeout, session=session(always),
            sleep=sleeps.append,
        ),
        SmartCitizenHttpClient(
            f"{simulator.base_url}/v0", timeout=timeout, session=session(always),
            sleep=sleeps.append,
        ),
    )  # fmt: skip


def api_calls(simulator: Any) -> list[str]:
    return [seen["path"] for seen in simulator.seen if not seen["path"].startswith("/_simulator")]


# --- without faults ---------------------------------------------------------------------------


def test_live_coingecko_lands_simple_price_and_the_markets_page(
    simulator: Any, sim_now: datetime, faults: Any
) -> None:
    s3 = MemoryS3()
    outcome = run_collection(
        coingecko.SOURCE,
        lambda _limiter: clients(simulator).coingecko,
        RawZoneWriter(s3, "lake"),
        CG,
        interval=LIVE,
        run_id="scheduled__1",
        now=sim_now,
    )

    assert outcome.mode == "live"
    price, markets = (
        s3.envelopes("raw/coingecko/simple_price/"),
        s3.envelopes("raw/coingecko/coins_markets/"),
    )
    assert len(price) == 1 and len(markets) == 1
    assert price[0]["mode"] == "live"
    assert price[0]["payload"]["bitcoin"]["eur"] == market.price(
        "bitcoin", "eur", int(sim_now.timestamp()) // 60
    )
    assert markets[0]["request"] == {
        "url": f"{simulator.coingecko_url}/coins/markets",
        "params": {
            "vs_currency": "usd",
            "order": "market_cap_desc",
            "per_page": "100",
            "page": "1",
        },
    }
    assert len(markets[0]["payload"]) == len(market.COINS)
    assert sorted(outcome.keys) == sorted(s3.objects)


def test_markets_stop_paging_when_the_list_ends(simulator: Any, faults: Any) -> None:
    s3 = MemoryS3()
    selection = CoinGeckoSelection(("bitcoin",), ("usd",), 600)  # planned: 3 pages of 250

    collect_coingecko(
        clients(simulator).coingecko, RawZoneWriter(s3, "lake"), selection,
        interval=LIVE, run_id="r", mode="live", parts=("markets",),
    )  # fmt: skip

    assert api_calls(simulator) == ["/api/v3/coins/markets"]
    assert len(s3.objects) == 1


def test_history_coingecko_lands_one_chart_per_pair_with_the_simulators_values(
    simulator: Any, sim_now: datetime, faults: Any
) -> None:
    s3 = MemoryS3()
    outcome = run_collection(
        coingecko.SOURCE,
        lambda _limiter: clients(simulator).coingecko,
        RawZoneWriter(s3, "lake"),
        CG,
        interval=PAST,
        run_id="backfill__1",
        now=sim_now,
    )

    assert outcome.mode == "history"
    assert outcome.skipped == (
        "coingecko /coins/markets has no history: a backfill lands prices only",
    )
    charts = s3.envelopes("raw/coingecko/market_chart_range/date=2024-03-25/hour=07/")
    assert len(charts) == 4 and len(s3.envelopes()) == 4
    for envelope in charts:
        params = envelope["request"]["params"]
        assert params == {  # the whole hour: CoinGecko serves it 5-minutely within the last day
            "id": params["id"], "vs_currency": params["vs_currency"],
            "from": str(int(HOUR.start.timestamp())), "to": str(int(HOUR.end.timestamp())),
        }  # fmt: skip
        assert envelope["request"]["url"] == (
            f"{simulator.coingecko_url}/coins/{params['id']}/market_chart/range"
        )
        assert envelope["mode"] == "history"
        assert (envelope["interval_start"], envelope["interval_end"]) == (
            "2024-03-25T07:00:00.000Z",
            "2024-03-25T08:00:00.000Z",
        )
        coin, currency = params["id"], params["vs_currency"]
        prices = envelope["payload"]["prices"]
        assert prices, "the simulator's points for the hour"
        for ms, value in prices:  # whatever grain the API answers, its points of that hour
            assert HOUR.start.timestamp() * 1000 <= ms <= HOUR.end.timestamp() * 1000
            assert value == market.price(coin, currency, ms // 60_000)


def test_live_smartcitizen_lands_every_device_shape_and_the_world_map(
    simulator: Any, sim_now: datetime, faults: Any
) -> None:
    s3 = MemoryS3()
    run_collection(
        smartcitizen.SOURCE,
        lambda _limiter: clients(simulator).smartcitizen,
        RawZoneWriter(s3, "lake"),
        SC,
        interval=LIVE,
        run_id="scheduled__1",
        now=sim_now,
    )

    devices = s3.envelopes("raw/smartcitizen/device/")
    assert sorted(e["request"]["params"]["id"] for e in devices) == [
        "13006",
        "15602",
        "1616",
        "16777",
    ]
    assert {e["request"]["url"].rsplit("/", 1)[1] for e in devices} == {
        "1616",
        "13006",
        "15602",
        "16777",
    }
    never = next(e for e in devices if e["request"]["params"]["id"] == "16777")
    assert never["payload"]["data"] == {}
    (world,) = s3.envelopes("raw/smartcitizen/world_map/")
    assert world["request"] == {"url": f"{simulator.base_url}/v0/devices/world_map", "params": {}}
    assert len(world["payload"]) == len(sensors.DEVICES)


def test_history_smartcitizen_lands_each_sensors_readings_and_not_the_device(
    simulator: Any, sim_now: datetime, faults: Any, caplog: pytest.LogCaptureFixture
) -> None:
    s3 = MemoryS3()
    caplog.set_level(logging.INFO, logger="lakehouse")
    outcome = run_collection(
        smartcitizen.SOURCE,
        lambda _limiter: clients(simulator).smartcitizen,
        RawZoneWriter(s3, "lake"),
        SmartCitizenSelection((13006, 16777), world_map=True),
        interval=PAST,
        run_id="backfill__1",
        now=sim_now,
    )

    assert outcome.mode == "history"
    assert not s3.envelopes("raw/smartcitizen/device/")
    readings = s3.envelopes("raw/smartcitizen/readings/")
    assert len(readings) == len(sensors.DEVICES[13006].sensors)
    for envelope in readings:
        params = envelope["request"]["params"]
        assert list(params) == ["device_id", "sensor_id", "rollup", "from", "to"]
        assert params["from"] == "2024-03-25T07:00:00Z" and params["to"] == "2024-03-25T08:00:00Z"
        assert params["rollup"] == "1m"
        sensor = int(params["sensor_id"])
        second = sensors.reading_second(13006, PAST_MINUTE)
        assert [sensors.iso(second), sensors.value(13006, sensor, PAST_MINUTE)] in envelope[
            "payload"
        ]["readings"]
        assert len(envelope["payload"]["readings"]) == 60  # the hour's one-minute rollups
    assert "smartcitizen device 16777 lists no sensors (never published?)" in caplog.text


# --- every fault ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    source: str
    endpoint: str

    def collect(self, made: Clients, s3: MemoryS3) -> Any:
        writer = RawZoneWriter(s3, "lake")
        if self.source == "coingecko":
            return collect_coingecko(
                made.coingecko, writer, CG, interval=LIVE, run_id="r", mode="live",
                parts=("prices",),
            )  # fmt: skip
        return collect_smartcitizen(
            made.smartcitizen, writer, SmartCitizenSelection((13006,), False),
            interval=LIVE, run_id="r", mode="live", parts=("devices",),
        )  # fmt: skip


CASES = [Case("coingecko", "simple_price"), Case("smartcitizen", "device")]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.source)
def test_a_short_429_is_waited_out_and_then_lands(simulator: Any, faults: Any, case: Case) -> None:
    s3 = MemoryS3()
    faults("429:2")
    made = clients(simulator)

    case.collect(made, s3)

    assert made.sleeps == [2.0]
    assert len(s3.objects) == 1
    assert len(api_calls(simulator)) == 2


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.source)
def test_a_long_429_fails_at_once_and_lands_nothing(
    simulator: Any, faults: Any, case: Case, caplog: pytest.LogCaptureFixture
) -> None:
    s3 = MemoryS3()
    faults("429:120")
    made = clients(simulator)

    with pytest.raises(
        RateLimited, match=rf"^{case.source} {case.endpoint}: HTTP 429: .*Retry-After 120 s"
    ):
        case.collect(made, s3)

    assert s3.objects == {} and s3.puts == 0
    assert made.sleeps == []
    assert (
        f"fetch failed, nothing landed, run stopped: {case.source} {case.endpoint}: HTTP 429"
        in (caplog.text)
    )


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.source)
def test_a_500_is_retried_and_then_lands(simulator: Any, faults: Any, case: Case) -> None:
    s3 = MemoryS3()
    faults("500", "500")

    case.collect(clients(simulator), s3)

    assert len(s3.objects) == 1
    assert len(api_calls(simulator)) == 3


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.source)
def test_a_lasting_500_fails_after_the_retries_and_lands_nothing(
    simulator: Any, faults: Any, case: Case, caplog: pytest.LogCaptureFixture
) -> None:
    s3 = MemoryS3()

    with pytest.raises(ApiError, match=rf"^{case.source} {case.endpoint}: HTTP 500: "):
        case.collect(clients(simulator, always="500"), s3)

    assert s3.puts == 0
    assert len(api_calls(simulator)) == 4  # the first try and 3 retries
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failures) == 1
    assert (
        failures[0]
        .getMessage()
        .startswith(f"fetch failed, nothing landed: {case.source} {case.endpoint}: HTTP 500: ")
    )


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.source)
def test_a_slow_answer_times_out_and_the_retry_lands(
    simulator: Any, faults: Any, case: Case
) -> None:
    s3 = MemoryS3()
    faults("slow:1.5")

    case.collect(clients(simulator, timeout=0.5), s3)

    assert len(s3.objects) == 1
    assert len(api_calls(simulator)) == 2


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.source)
def test_a_lasting_slowness_fails_as_a_timeout_and_lands_nothing(
    simulator: Any, faults: Any, case: Case
) -> None:
    s3 = MemoryS3()

    with pytest.raises(ApiError, match=rf"^{case.source} {case.endpoint}: HTTP -: ReadTimeout$"):
        case.collect(clients(simulator, always="slow:1", timeout=0.25), s3)

    assert s3.puts == 0


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.source)
def test_malformed_json_fails_and_lands_nothing(simulator: Any, faults: Any, case: Case) -> None:
    s3 = MemoryS3()
    faults("malformed")

    with pytest.raises(ApiError) as raised:
        case.collect(clients(simulator), s3)

    assert str(raised.value) == (
        f"{case.source} {case.endpoint}: HTTP 200: body is not JSON (application/json)"
    )
    assert s3.puts == 0


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.source)
def test_an_html_page_with_200_is_an_error_not_data(
    simulator: Any, faults: Any, case: Case
) -> None:
    s3 = MemoryS3()
    faults("html")

    with pytest.raises(ApiError, match=r"HTTP 200: body is not JSON \(text/html"):
        case.collect(clients(simulator), s3)

    assert s3.puts == 0


@pytest.mark.parametrize("how", [None, "strings", "nulls", "missing"])
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.source)
def test_shape_drift_lands_as_data(
    simulator: Any, faults: Any, case: Case, how: str | None
) -> None:
    clean, drifted = MemoryS3(), MemoryS3()
    case.collect(clients(simulator), clean)
    faults("drift" if how is None else f"drift:{how}")

    case.collect(clients(simulator), drifted)

    ((clean_key, clean_body),) = clean.objects.items()
    ((drift_key, drift_body),) = drifted.objects.items()
    assert drift_key != clean_key  # other bytes, another object
    payload = json.loads(drift_body)["payload"]
    assert payload == drift(json.loads(clean_body)["payload"], how)
    assert payload != json.loads(clean_body)["payload"]


# --- runs of several requests ---------------------------------------------------------------------


def test_one_failed_request_of_a_backfill_fails_the_run_after_the_others_land(
    simulator: Any, sim_now: datetime, faults: Any, caplog: pytest.LogCaptureFixture
) -> None:
    s3 = MemoryS3()
    faults("500", "500", "500", "500")  # the first request and its three retries

    with pytest.raises(ApiError, match=r"^coingecko market_chart_range: HTTP 500: "):
        collect_coingecko(
            clients(simulator).coingecko, RawZoneWriter(s3, "lake"), CG, interval=PAST,
            run_id="r", mode="history", now=sim_now,
        )  # fmt: skip

    assert len(s3.envelopes()) == 3
    assert "[id=bitcoin vs_currency=usd]" in caplog.text
    landed = {(e["request"]["params"]["id"], e["request"]["params"]["vs_currency"])
              for e in s3.envelopes()}  # fmt: skip
    assert landed == {("bitcoin", "eur"), ("ethereum", "usd"), ("ethereum", "eur")}


def test_several_failures_are_reported_together(
    simulator: Any, sim_now: datetime, faults: Any
) -> None:
    s3 = MemoryS3()
    faults("malformed", "html")

    with pytest.raises(CollectionFailed, match=r"^2 of 4 requests failed; first: coingecko "):
        collect_coingecko(
            clients(simulator).coingecko, RawZoneWriter(s3, "lake"), CG, interval=PAST,
            run_id="r", mode="history", now=sim_now,
        )  # fmt: skip

    assert len(s3.envelopes()) == 2


def test_a_rate_limit_stops_the_run_without_more_calls(
    simulator: Any, sim_now: datetime, faults: Any
) -> None:
    s3 = MemoryS3()
    faults("429:300")

    with pytest.raises(RateLimited):
        collect_coingecko(
            clients(simulator).coingecko, RawZoneWriter(s3, "lake"), CG, interval=PAST,
            run_id="r", mode="history", now=sim_now,
        )  # fmt: skip

    assert len(api_calls(simulator)) == 1
    assert not s3.envelopes() and not s3.objects  # the claim is released: the next run retries


def test_an_unknown_device_fails_alone(simulator: Any, sim_now: datetime, faults: Any) -> None:
    s3 = MemoryS3()

    with pytest.raises(ApiError, match=r"^smartcitizen device: HTTP 404: .*record_not_found"):
        collect_smartcitizen(
            clients(simulator).smartcitizen, RawZoneWriter(s3, "lake"),
            SmartCitizenSelection((3657, 13006), False), interval=LIVE, run_id="r", mode="live",
        )  # fmt: skip

    assert [e["request"]["params"]["id"] for e in s3.envelopes()] == ["13006"]


def test_a_retried_run_finds_its_blocks_landed_and_writes_nothing(
    simulator: Any, sim_now: datetime, faults: Any
) -> None:
    s3 = MemoryS3()
    first = collect_coingecko(
        clients(simulator).coingecko, RawZoneWriter(s3, "lake"), CG, interval=PAST,
        run_id="backfill__1", mode="history", now=sim_now,
    )  # fmt: skip
    stored = dict(s3.objects)

    retry = collect_coingecko(
        clients(simulator).coingecko, RawZoneWriter(s3, "lake"), CG, interval=PAST,
        run_id="backfill__1", mode="history", now=sim_now,
    )  # fmt: skip

    assert [r.created for r in first.results] == [True] * 4
    assert retry.results == [] and sorted(retry.covered) == sorted(first.keys)
    assert s3.objects == stored


def test_the_key_appears_in_no_log_error_or_object(
    simulator: Any, sim_now: datetime, faults: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    s3 = MemoryS3()
    run_collection(
        coingecko.SOURCE,
        lambda _limiter: clients(simulator).coingecko,
        RawZoneWriter(s3, "lake"),
        CG,
        interval=LIVE,
        run_id="r",
        now=sim_now,
    )
    with pytest.raises(ApiError) as raised:
        collect_coingecko(
            clients(simulator, always="500").coingecko, RawZoneWriter(s3, "lake"), CG,
            interval=LIVE, run_id="r", mode="live", parts=("prices",),
        )  # fmt: skip

    assert any(seen["headers"].get("x-cg-demo-api-key") == SECRET for seen in simulator.seen)
    assert SECRET not in caplog.text
    assert SECRET not in str(raised.value)
    assert all(SECRET.encode() not in body for body in s3.objects.values())


def test_backfills_take_the_limiter_for_history_and_live_runs_the_whole_limit(
    simulator: Any, sim_now: datetime, faults: Any, tmp_path: Path
) -> None:
    shared = SlidingWindowLimiter("coingecko", tmp_path / "coingecko.json", 30, reserved=2)
    seen: list[SlidingWindowLimiter] = []

    def connect(limiter: SlidingWindowLimiter) -> CoinGeckoHttpClient:
        seen.append(limiter)
        return clients(simulator).coingecko

    for interval in (PAST, LIVE):
        run_collection(
            coingecko.SOURCE, connect, RawZoneWriter(MemoryS3(), "lake"), CG,
            interval=interval, run_id="r", now=sim_now, limiter=shared,
        )  # fmt: skip

    assert [(limiter.history, limiter.ceiling) for limiter in seen] == [(True, 28), (False, 30)]


def test_live_history_switch_uses_the_clock_not_the_run_type(
    simulator: Any, sim_now: datetime, faults: Any
) -> None:
    """A live run retried long after its interval fetches history for exactly that interval."""
    s3 = MemoryS3()
    outcome = run_collection(
        coingecko.SOURCE,
        lambda _limiter: clients(simulator).coingecko,
        RawZoneWriter(s3, "lake"),
        CG,
        interval=LIVE,
        run_id="scheduled__late",
        now=sim_now + timedelta(minutes=30),
        parts=("prices",),
    )

    assert outcome.mode == "history"
    assert {e["endpoint"] for e in s3.envelopes()} == {"market_chart_range"}
