"""Every parseable sample in ../shared/samples, served as the real API served it, through the
collectors: data lands untouched as one envelope, error bodies land nothing; device objects of
every shape parse."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from memory_s3 import MemoryS3
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from lakehouse.raw_zone import DataInterval, RawZoneWriter
from lakehouse.sources.coingecko.client import CoinGeckoHttpClient
from lakehouse.sources.coingecko.collect import collect_coingecko
from lakehouse.sources.coingecko.planner import CoinGeckoSelection
from lakehouse.sources.http import ApiError, RateLimited
from lakehouse.sources.smartcitizen.client import (
    SmartCitizenHttpClient,
    device_sensors,
    parse_device,
)
from lakehouse.sources.smartcitizen.collect import collect_smartcitizen
from lakehouse.sources.smartcitizen.planner import SmartCitizenSelection

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"
LIVE = DataInterval(
    datetime(2024, 3, 25, 8, 44, tzinfo=UTC), datetime(2024, 3, 25, 8, 45, tzinfo=UTC)
)
PAST = DataInterval(
    datetime(2024, 3, 24, 8, 44, tzinfo=UTC), datetime(2024, 3, 24, 8, 45, tzinfo=UTC)
)
SOON_AFTER_PAST = LIVE.end
"""The history runs' clock: a day after PAST, within the Demo plan's window."""

# file -> (what the collectors call to get such a body, the status it came with)
SERVED = {
    "coingecko/simple_price_bitcoin_usd_2021-05-15.json": ("prices", 200),
    "coingecko/simple_price_bitcoin_all_include_flags_docs_example_2024-03-25.json": (
        "prices",
        200,
    ),
    "coingecko/coins_markets_bitcoin_usd_2021-05-15.json": ("markets", 200),
    "coingecko/coins_markets_bitcoin_usd_docs_example_2024-04-07.json": ("markets", 200),
    "coingecko/market_chart_docs_example_via_jkorf_2024-03-31.json": ("chart", 200),
    "coingecko/error_429_rate_limit_2022-09-29.json": ("prices", 429),
    "coingecko/error_422_missing_parameter_ids_2021-07-19.json": ("prices", 422),
    "smartcitizen/device_13006_sck21_2020-06-23.json": ("device", 200),
    "smartcitizen/readings_1616_sensor7_rollup4h_2015-07-28_to_30.json": ("readings", 200),
    "smartcitizen/world_map_2019_shape_5_elements_ANONYMIZED.json": ("world_map", 200),
    "smartcitizen/error_404_record_not_found_device_3657_issue75_2018-04-11.txt": ("device", 404),
}
NOT_FETCHED = {
    # Valid JSON, but no collector calls these endpoints.
    "coingecko/ping_docs_example_via_jkorf.json",
    "coingecko/key_api_usage_docs_example.json",
}
NOT_PARSEABLE = {
    "smartcitizen/device_15602_sck21_current_shape_JAVA_COMMENT_not_parseable.txt",
    "smartcitizen/sensors_index_2015_first_element_only_TRUNCATED.txt",
    "smartcitizen/measurements_index_2015_first_element_only_TRUNCATED.txt",
}


class Serve(BaseAdapter):
    """Answers every request with one body and status, as recorded."""

    def __init__(self, body: bytes, status: int, headers: dict[str, str] | None = None) -> None:
        super().__init__()
        self.body, self.status, self.headers = body, status, headers or {}
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.sent.append(request)
        response = requests.Response()
        response.status_code = self.status
        response._content = self.body
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json", **self.headers})
        response.reason = "recorded"
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


def mounted(adapter: Serve) -> requests.Session:
    session = requests.Session()
    session.mount("https://", adapter)
    return session


def collect(kind: str, adapter: Serve, s3: MemoryS3) -> None:
    writer = RawZoneWriter(s3, "lake")
    if kind in ("prices", "markets", "chart"):
        client = CoinGeckoHttpClient(
            "https://api.coingecko.com/api/v3", api_key="k-secret", session=mounted(adapter),
            sleep=lambda seconds: None,
        )  # fmt: skip
        selection = CoinGeckoSelection(("bitcoin",), ("usd",), 1)
        collect_coingecko(
            client, writer, selection, interval=PAST if kind == "chart" else LIVE, run_id="r",
            mode="history" if kind == "chart" else "live", now=SOON_AFTER_PAST,
            parts=("markets",) if kind == "markets" else ("prices",),
        )  # fmt: skip
        return
    collect_smartcitizen(
        SmartCitizenHttpClient(session=mounted(adapter)), writer,
        SmartCitizenSelection((13006,), kind == "world_map"),
        interval=LIVE, run_id="r", mode="live",
        parts=("world_map",) if kind == "world_map" else ("devices",),
    )  # fmt: skip


def test_every_sample_file_is_accounted_for() -> None:
    on_disk = {f"{path.parent.name}/{path.name}" for path in SAMPLES.glob("*/*") if path.is_file()}
    assert on_disk == set(SERVED) | NOT_FETCHED | NOT_PARSEABLE


@pytest.mark.parametrize("name", sorted(NOT_PARSEABLE))
def test_the_not_parseable_samples_are_indeed_not_json(name: str) -> None:
    with pytest.raises(ValueError):
        json.loads((SAMPLES / name).read_bytes())


@pytest.mark.parametrize("name", sorted(n for n, (_, status) in SERVED.items() if status == 200))
def test_a_data_sample_lands_untouched_as_one_envelope(name: str) -> None:
    kind, _ = SERVED[name]
    body = (SAMPLES / name).read_bytes()
    s3 = MemoryS3()
    if kind == "readings":
        # History asks the device for its sensors first: serve a device, then the readings.
        device = (SAMPLES / "smartcitizen/device_13006_sck21_2020-06-23.json").read_bytes()
        adapter = SequencedServe([device, body])
        client = SmartCitizenHttpClient(session=mounted(adapter))
        collect_smartcitizen(
            client, RawZoneWriter(s3, "lake"), SmartCitizenSelection((13006,), False),
            interval=PAST, run_id="r", mode="history", now=SOON_AFTER_PAST,
        )  # fmt: skip
        assert len(s3.envelopes()) == len(device_sensors(json.loads(device)))  # one per sensor
    else:
        collect(kind, Serve(body, 200), s3)
        assert len(s3.envelopes()) == 1
    for key, stored in s3.objects.items():
        if not key.startswith("raw/"):
            continue  # the claim of a history block
        assert stored.count(b"\n") == 1
        envelope = json.loads(stored)
        assert json.dumps(envelope["payload"]) == json.dumps(json.loads(body))  # types and order
        assert b"k-secret" not in stored


class SequencedServe(Serve):
    """The first body for the first request, the second for every later one."""

    def __init__(self, bodies: list[bytes]) -> None:
        super().__init__(bodies[0], 200)
        self.bodies = bodies

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.body = self.bodies[min(len(self.sent), len(self.bodies) - 1)]
        return super().send(request, **kwargs)


@pytest.mark.parametrize("name", sorted(n for n, (_, status) in SERVED.items() if status != 200))
def test_an_error_sample_lands_nothing_and_names_its_status(name: str) -> None:
    kind, status = SERVED[name]
    s3 = MemoryS3()
    # The recorded 429 came with `retry-after: 119` (samples README).
    adapter = Serve((SAMPLES / name).read_bytes(), status, {"Retry-After": "119"})

    with pytest.raises(RateLimited if status == 429 else ApiError) as raised:
        collect(kind, adapter, s3)

    assert raised.value.status == status
    assert s3.puts == 0


# --- the device parser over every shape ---------------------------------------------------------


def current_shape_sample() -> dict[str, Any]:
    text = (
        SAMPLES / "smartcitizen/device_15602_sck21_current_shape_JAVA_COMMENT_not_parseable.txt"
    ).read_text()
    part = text.split("// DATASET INFO", 1)[1].split("/**", 1)[0]
    return json.loads(" ".join(re.sub(r"^\s*//\s?", "", line) for line in part.splitlines()))


def test_the_2020_sample_parses() -> None:
    info = parse_device(
        json.loads((SAMPLES / "smartcitizen/device_13006_sck21_2020-06-23.json").read_bytes())
    )

    assert (info.id, info.shape, info.last_reading_at) == (13006, "2020", "2020-06-23T11:53:30Z")
    assert [s.id for s in info.sensors] == [113, 112, 14, 10, 53, 58, 89, 88, 87, 56, 55]
    assert all(s.key is None for s in info.sensors)  # no default_key before 2023


def test_the_current_shape_sample_parses() -> None:
    info = parse_device(current_shape_sample())

    assert (info.id, info.shape) == (15602, "2023+")
    assert [(s.id, s.key) for s in info.sensors][:3] == [
        (113, "tvoc"),
        (112, "eco2"),
        (14, "light"),
    ]
    assert len(info.sensors) == 11


def test_empty_data_parses_to_no_sensors() -> None:
    device = current_shape_sample() | {"data": {}}
    assert parse_device(device).sensors == ()
    assert parse_device({"id": 1, "data": None}).sensors == ()
    assert parse_device({"id": 1}).shape == "unknown"


def test_drifted_devices_parse_what_is_there() -> None:
    device = json.loads((SAMPLES / "smartcitizen/device_13006_sck21_2020-06-23.json").read_bytes())
    device["id"] = "13006"
    device["data"]["sensors"][0]["id"] = "113"
    device["data"]["sensors"][1]["id"] = None
    del device["data"]["sensors"][2]["id"]
    device["data"]["sensors"].append("not a sensor")
    device["last_reading_at"] = 1592913210

    info = parse_device(device)

    assert info.id == 13006
    assert [s.id for s in info.sensors][:2] == [113, 10]
    assert info.last_reading_at is None


@pytest.mark.parametrize(
    "name",
    ["smartcitizen/world_map_2019_shape_5_elements_ANONYMIZED.json",
     "smartcitizen/error_404_record_not_found_device_3657_issue75_2018-04-11.txt"],
)  # fmt: skip
def test_what_is_not_a_device_is_refused_by_name(name: str) -> None:
    with pytest.raises(ValueError, match="device"):
        parse_device(json.loads((SAMPLES / name).read_bytes()))
