"""The Smart Citizen simulator: the real API's shapes, daily cycles, live and history agreeing."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lakehouse.simulator import sensors
from lakehouse.simulator.app import create_app
from lakehouse.sources.smartcitizen.client import device_sensors, device_shape, parse_device

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

NOW = datetime(2024, 3, 25, 8, 45, 37, tzinfo=UTC)

# GET /v0/devices/1616 as the API docs' cache recorded it in 2015 (fablabbcn/smartcitizen-api-docs,
# caches/devices1616GET.txt): the 2015 shape has no sample file in ../shared/samples.
KEYS_2015 = [
    "id", "uuid", "name", "description", "state", "system_tags", "last_reading_at", "added_at",
    "updated_at", "mac_address", "owner", "data", "kit",
]  # fmt: skip
DATA_KEYS_2015 = ["recorded_at", "added_at", "firmware", "location", "sensors"]
SENSOR_KEYS_2015 = [
    "id", "ancestry", "name", "description", "unit", "created_at", "updated_at", "measurement_id",
    "uuid", "value", "raw_value", "prev_value", "prev_raw_value",
]  # fmt: skip


def sim(moment: datetime = NOW) -> TestClient:
    return TestClient(create_app(clock=lambda: moment), base_url="http://sim")


def sample_2023(samples_dir: Path) -> dict[str, Any]:
    """The 2023+ device sample is JSON inside Java comments: strip them to read its shape."""
    text = (
        samples_dir
        / "smartcitizen"
        / "device_15602_sck21_current_shape_JAVA_COMMENT_not_parseable.txt"
    ).read_text()
    part = text.split("// DATASET INFO", 1)[1].split("/**", 1)[0]
    return json.loads(" ".join(re.sub(r"^\s*//\s?", "", line) for line in part.splitlines()))


def minute_of(moment: datetime) -> int:
    return int(moment.timestamp()) // 60


# --- shapes ---------------------------------------------------------------------------------------


def test_the_2020_device_has_the_keys_of_the_2020_sample(
    load_sample: Callable[[str, str], Any],
) -> None:
    sample = load_sample("smartcitizen", "device_13006_sck21_2020-06-23.json")

    body = sim().get("/v0/devices/13006").json()

    assert list(body) == list(sample)
    assert list(body["data"]) == list(sample["data"])
    assert list(body["hardware_info"]) == list(sample["hardware_info"])
    assert list(body["owner"]) == list(sample["owner"])
    assert list(body["kit"]) == list(sample["kit"])
    assert list(body["data"]["location"]) == list(sample["data"]["location"])
    assert [list(s) for s in body["data"]["sensors"]] == [
        list(s) for s in sample["data"]["sensors"]
    ]
    assert [s["id"] for s in body["data"]["sensors"]] == [
        s["id"] for s in sample["data"]["sensors"]
    ]
    assert device_shape(body) == device_shape(sample) == "2020"


def test_the_2023_device_has_the_keys_of_the_current_shape_sample(samples_dir: Path) -> None:
    sample = sample_2023(samples_dir)

    body = sim().get("/v0/devices/15602").json()

    assert list(body) == list(sample)
    assert list(body["owner"]) == list(sample["owner"])
    assert list(body["hardware"]) == list(sample["hardware"])
    assert list(body["location"]) == list(sample["location"])
    assert [list(s) for s in body["data"]["sensors"]] == [
        list(s) for s in sample["data"]["sensors"]
    ]
    assert [list(s["measurement"]) for s in body["data"]["sensors"]] == [
        list(s["measurement"]) for s in sample["data"]["sensors"]
    ]
    assert [(s["id"], s["default_key"], s["unit"]) for s in body["data"]["sensors"]] == [
        (s["id"], s["default_key"], s["unit"]) for s in sample["data"]["sensors"]
    ]
    assert device_shape(body) == device_shape(sample) == "2023+"


def test_the_2015_device_has_the_keys_of_the_2015_api() -> None:
    body = sim().get("/v0/devices/1616").json()

    assert list(body) == KEYS_2015
    assert list(body["data"]) == DATA_KEYS_2015
    assert all(list(s) == SENSOR_KEYS_2015 for s in body["data"]["sensors"])
    assert device_shape(body) == "2015"
    temperature = next(s for s in body["data"]["sensors"] if s["id"] == 4)
    assert temperature["unit"] == "ºC"
    assert temperature["raw_value"] == round(temperature["value"] * 10)


def test_a_device_that_never_published_has_empty_data() -> None:
    body = sim().get("/v0/devices/16777").json()

    assert body["data"] == {}
    assert body["last_reading_at"] is None
    assert body["state"] == "never_published"
    assert device_sensors(body) == ()


def test_unknown_device_is_the_404_of_the_sample(samples_dir: Path) -> None:
    sample = json.loads(
        (
            samples_dir
            / "smartcitizen"
            / "error_404_record_not_found_device_3657_issue75_2018-04-11.txt"
        ).read_text()
    )

    response = sim().get("/v0/devices/3657")

    assert response.status_code == 404
    assert response.json() == sample


def test_readings_have_the_keys_of_the_readings_sample(
    load_sample: Callable[[str, str], Any],
) -> None:
    sample = load_sample("smartcitizen", "readings_1616_sensor7_rollup4h_2015-07-28_to_30.json")

    body = sim().get(
        "/v0/devices/1616/readings",
        params={"sensor_id": 7, "rollup": "4h", "from": "2024-03-23T00:00:00Z",
                "to": "2024-03-25T00:00:00Z"},
    ).json()  # fmt: skip

    assert list(body) == list(sample)
    assert len(body["readings"]) == 12  # 2 days of 4h buckets
    assert body["sample_size"] == 2 * 24 * 60
    stamps = [reading[0] for reading in body["readings"]]
    assert stamps == sorted(stamps, reverse=True)  # newest first
    assert all(not stamp.endswith(":00:00Z") for stamp in stamps)  # not bucket-aligned


def test_readings_of_newer_devices_carry_the_sensor_key() -> None:
    body = sim().get(
        "/v0/devices/15602/readings",
        params={"sensor_id": 87, "rollup": "1m", "from": "2024-03-25T08:00:00Z",
                "to": "2024-03-25T08:05:00Z"},
    ).json()  # fmt: skip

    assert body["sensor_key"] == "pm_avg_2.5"
    assert list(body)[:3] == ["device_id", "sensor_key", "sensor_id"]


def test_world_map_lists_every_device_in_the_current_summary_shape() -> None:
    body = sim().get("/v0/devices/world_map").json()

    assert [entry["id"] for entry in body] == list(sensors.DEVICES)
    assert list(body[0]) == [
        "id", "name", "description", "state", "system_tags", "user_tags", "last_reading_at",
        "location", "hardware", "owner",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("params", "status", "error_id"),
    [
        ({"sensor_id": "55", "from": "2024-03-25T08:00:00Z"}, 400, "parameter_missing"),
        ({"rollup": "1m"}, 400, "parameter_missing"),
        ({"sensor_id": "55", "rollup": "1x"}, 400, "bad_request"),
        ({"sensor_id": "55", "rollup": "1m", "from": "yesterday"}, 400, "bad_request"),
    ],
)
def test_bad_readings_requests_get_the_apis_errors(
    params: dict[str, str], status: int, error_id: str
) -> None:
    response = sim().get("/v0/devices/13006/readings", params=params)

    assert response.status_code == status
    assert response.json()["id"] == error_id


# --- live and history agree -----------------------------------------------------------------------


@pytest.mark.parametrize("device_id", [1616, 13006, 15602])
def test_the_device_shows_the_reading_that_the_readings_endpoint_lists_for_that_minute(
    device_id: int,
) -> None:
    live = sim().get(f"/v0/devices/{device_id}").json()
    reading_at = live["last_reading_at"]
    minute = minute_of(datetime.fromisoformat(reading_at))
    start = datetime.fromtimestamp(minute * 60, UTC)

    later = sim(NOW + timedelta(hours=2))
    for sensor in live["data"]["sensors"]:
        history = later.get(
            f"/v0/devices/{device_id}/readings",
            params={"sensor_id": sensor["id"], "rollup": "1m",
                    "from": start.isoformat(), "to": (start + timedelta(minutes=1)).isoformat()},
        ).json()  # fmt: skip
        assert history["readings"] == [[reading_at, sensor["value"]]], sensor["id"]
        assert sensor["value"] == sensors.value(device_id, sensor["id"], minute)


def test_the_latest_reading_is_the_one_already_published() -> None:
    second = sensors.reading_second(13006, minute_of(NOW))
    before = datetime.fromtimestamp(second - 1, UTC)
    at = datetime.fromtimestamp(second, UTC)

    assert sensors.latest_minute(13006, before) == minute_of(NOW) - 1
    assert sensors.latest_minute(13006, at) == minute_of(NOW)
    assert sim(at).get("/v0/devices/13006").json()["last_reading_at"] == sensors.iso(second)


def test_readings_stop_at_the_clock() -> None:
    body = sim().get(
        "/v0/devices/13006/readings",
        params={"sensor_id": 55, "rollup": "1m", "from": "2024-03-25T08:40:00Z",
                "to": "2024-03-25T09:00:00Z"},
    ).json()  # fmt: skip

    newest = datetime.fromisoformat(body["readings"][0][0])
    assert newest <= NOW
    assert len(body["readings"]) in (5, 6)


def test_readings_take_a_sensor_key_instead_of_an_id() -> None:
    params = {"rollup": "1m", "from": "2024-03-25T08:00:00Z", "to": "2024-03-25T08:03:00Z"}
    by_id = sim().get("/v0/devices/13006/readings", params={**params, "sensor_id": "56"}).json()
    by_key = sim().get("/v0/devices/13006/readings", params={**params, "sensor_key": "h"}).json()

    assert by_key["readings"] == by_id["readings"]


# --- values ---------------------------------------------------------------------------------------


def test_values_are_deterministic() -> None:
    first = sim().get("/v0/devices/15602").content
    second = sim().get("/v0/devices/15602").content
    assert first == second


def test_temperature_follows_a_daily_cycle_in_solar_time() -> None:
    # Hasselt (5.3 E): mid-afternoon is warmer than before dawn, every day of a week.
    day = minute_of(datetime(2024, 3, 18, tzinfo=UTC))
    for offset in range(7):
        base = day + offset * 1440
        afternoon = [sensors.value(15602, 55, base + 14 * 60 + m) for m in range(30)]
        dawn = [sensors.value(15602, 55, base + 4 * 60 + m) for m in range(30)]
        assert min(afternoon) > max(dawn)


def test_light_is_dark_at_night_and_bright_at_noon() -> None:
    midnight = minute_of(datetime(2024, 3, 25, 23, 0, tzinfo=UTC))  # 23:20 solar in Hasselt
    noon = minute_of(datetime(2024, 3, 25, 11, 40, tzinfo=UTC))
    assert sensors.value(15602, 14, midnight) < 10
    assert sensors.value(15602, 14, noon) > 10_000


def test_whole_number_sensors_publish_whole_numbers() -> None:
    body = sim().get("/v0/devices/13006").json()
    pm25 = next(s for s in body["data"]["sensors"] if s["id"] == 87)
    assert isinstance(pm25["value"], int)
    newer = sim().get("/v0/devices/15602").json()
    assert isinstance(next(s for s in newer["data"]["sensors"] if s["id"] == 87)["value"], float)


def test_the_parser_reads_every_simulated_device() -> None:
    client = sim()
    for device_id, device in sensors.DEVICES.items():
        info = parse_device(client.get(f"/v0/devices/{device_id}").json())
        assert info.id == device_id
        assert info.shape == device.shape
        expected = device.sensors if device.publishes else ()
        assert tuple(sensor.id for sensor in info.sensors) == expected
