"""Deterministic Smart Citizen devices: every reading is a pure function of device, sensor, minute.

Each simulated device publishes one reading per minute, a few seconds into the minute (not aligned,
like real kits). `value(device_id, sensor_id, minute)` is the value of that reading; the device
object (`device_objects`) shows the latest reading at the request's clock, and `/readings` with a
1-minute rollup lists the same readings, so live and history agree for every minute. Values follow
daily cycles in the device's solar time (temperature, light, noise, traffic-driven particles) plus
seeded noise.

The catalogue here says which shape of the API's device object each device answers in (see
../shared/samples): 1616 the 2015 SCK 1.0 object, 13006 the 2020 SCK 2.1 object, 15602 the 2023+
shape, and 16777 a 2023+ device that never published. `device_objects` builds the shapes.
"""

from __future__ import annotations

import hashlib
import math
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from statistics import NormalDist
from typing import Any, Literal

SEED = "lakehouse-simulator-1"
Shape = Literal["2015", "2020", "2023+"]
ValueOf = Callable[[int, int, int], float]
"""A reading's value by (device id, sensor id, minute)."""

_NORMAL = NormalDist()


def _unit(*parts: object) -> float:
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") + 0.5) / 2**64


def _normal(*parts: object) -> float:
    return _NORMAL.inv_cdf(_unit(*parts))


@dataclass(frozen=True)
class Sensor:
    """A sensor type (global id) as the API describes it; names and units changed over time."""

    id: int
    name: str
    description: str
    unit: str
    measurement_id: int
    measurement: str
    default_key: str
    uuid: str
    ancestry: str | None
    created_at: str
    whole: bool = False
    """Published as whole numbers (particles, gases in ppm/ppb, battery)."""


def _s(*args: Any, **kwargs: Any) -> Sensor:
    return Sensor(*args, **kwargs)


SENSORS_2015: dict[int, Sensor] = {s.id: s for s in [
    _s(10, "Battery", "Custom Circuit", "%", 7, "battery", "bat",
       "c9ff2784-53a7-4a84-b0fc-90ecc7e313f9", None, "2015-02-02T18:18:00Z", whole=True),
    _s(5, "DHT22 - Humidity", "Humidity", "%", 2, "relative humidity", "h",
       "6b4b64d9-3841-446c-a7f5-63f480932b96", "3", "2015-02-02T18:15:34Z"),
    _s(4, "DHT22 - Temperature", "Temperature", "ºC", 1, "air temperature", "t",
       "a50dbd88-b0c7-4094-ad74-2b755e8023a8", "3", "2015-02-02T18:15:14Z"),
    _s(8, "MICS-2710", "MOS NO2 gas sensor", "kOhm (ppm)", 6, "NO2", "no2",
       "1eb0249d-29d8-41be-8e24-d3b1e5773c0f", None, "2015-02-02T18:17:23Z"),
    _s(9, "MICS-5525", "MOS CO gas sensor", "kOhm (ppm)", 5, "CO", "co",
       "7baaecb7-2586-4063-9c15-bfa999e329aa", None, "2015-02-02T18:17:44Z"),
    _s(21, "Microchip RN-131", "802.11 b/g WiFi", "# networks", 9, "networks", "nets",
       "5b1f0e38-336a-4abf-9989-69b48f0026ef", None, "2015-05-04T11:17:18Z", whole=True),
    _s(7, "POM-3044P-R", "Electret microphone with envelope follower sound pressure sensor "
       "(noise)", "dB", 4, "noise", "noise", "5efd2376-6783-476b-bf85-57ead5f89654", None,
       "2015-02-02T18:16:41Z"),
    _s(6, "PVD-P8001", "LDR Analog Light Sensor", "%", 3, "light", "light_pct",
       "0e9cdc5b-d369-4480-9676-bf31af6a5977", None, "2015-02-02T18:15:55Z"),
    _s(11, "Solar Panel", "Custom Circuit", "mV", 8, "solar panel", "solar",
       "4ab402c5-9297-407a-b0b2-7089520f7ed0", None, "2015-02-02T18:18:12Z"),
]}  # fmt: skip

SENSORS_SCK21: dict[int, Sensor] = {s.id: s for s in [
    _s(113, "AMS CCS811 - TVOC", "Total Volatile Organic Compounds Digital Indoor Sensor", "ppb",
       47, "TVOC", "tvoc", "0c2a1afc-dc08-4066-aacb-0bde6a3ae6f5", "111",
       "2019-03-21T16:43:37Z", whole=True),
    _s(112, "AMS CCS811 - eCO2", "Equivalent Carbon Dioxide Digital Indoor Sensor", "ppm", 46,
       "eCO2", "eco2", "995343c9-12ac-40c0-b6b9-19699e524f86", "111", "2019-03-21T16:43:37Z",
       whole=True),
    _s(14, "BH1730FVC", "Digital Ambient Light Sensor", "Lux", 3, "Light", "light",
       "ac4234cf-d2b7-4cfa-8765-9f4477e2de5f", None, "2015-02-02T18:24:56Z", whole=True),
    _s(10, "Battery SCK 1.1", "Custom Circuit", "%", 7, "battery", "bat",
       "c9ff2784-53a7-4a84-b0fc-90ecc7e313f9", None, "2015-02-02T18:18:00Z", whole=True),
    _s(53, "ICS43432 - Noise", "I2S Digital Mems Microphone with custom Audio Processing "
       "Algorithm", "dBA", 4, "Noise Level", "noise_dba", "f508548e-3fd1-44aa-839b-9bd147168481",
       "52", "2018-05-03T10:42:47Z"),
    _s(58, "MPL3115A2 - Barometric Pressure", "Digital Barometric Pressure Sensor", "K Pa", 25,
       "Barometric Pressure", "bar", "cadd2459-6559-4d92-aed1-ba04c557fed8", "57",
       "2018-05-03T10:49:17Z"),
    _s(89, "PMS5003_AVG-PM1", "Particle Matter PM 1", "ug/m3", 27, "PM 1", "pm_avg_1",
       "a4b9efba-241f-446e-9cf2-918f25efd0c5", "86", "2018-05-22T13:20:34Z", whole=True),
    _s(88, "PMS5003_AVG-PM10", "Particle Matter PM 10", "ug/m3", 13, "PM 10", "pm_avg_10",
       "c2072a22-4d81-4d7c-a38c-af9458b8f309", "86", "2018-05-22T13:20:34Z", whole=True),
    _s(87, "PMS5003_AVG-PM2.5", "Particle Matter PM 2.5", "ug/m3", 14, "PM 2.5", "pm_avg_2.5",
       "9ee89ac2-0482-46dd-905f-0b7a1bb12c55", "86", "2018-05-22T13:20:34Z", whole=True),
    _s(56, "SHT31 - Humidity", "Humidity", "%", 2, "Relative Humidity", "h",
       "b6543356-0066-4bea-8ad2-687e282f9c20", "54", "2018-05-03T10:47:17Z"),
    _s(55, "SHT31 - Temperature", "Temperature", "ºC", 1, "Air Temperature", "t",
       "384e46a2-80dd-481e-a9fc-cfbd512f9f43", "54", "2018-05-03T10:47:15Z"),
]}  # fmt: skip

# The 2023+ API renamed some sensors and fixed some units.
RENAMED_2023 = {
    14: ("BH1730FVC - Light", "lux"),
    10: ("Battery SCK", "%"),
    58: ("NXP MPL3115A2 - Barometric Pressure", "kPa"),
    89: ("Plantower PMS5003 - PM1.0", "ug/m3"),
    88: ("Plantower PMS5003 - PM10", "ug/m3"),
    87: ("Plantower PMS5003 - PM2.5", "ug/m3"),
    56: ("Sensirion SHT31 - Humidity", "%"),
    55: ("Sensirion SHT31 - Temperature", "ºC"),
}


@dataclass(frozen=True)
class Place:
    latitude: float
    longitude: float
    city: str
    country_code: str
    country: str
    geohash: str
    elevation: int | None
    exposure: str = "outdoor"


@dataclass(frozen=True)
class SimDevice:
    id: int
    uuid: str
    name: str
    description: str
    shape: Shape
    place: Place
    sensors: tuple[int, ...]
    added_at: str
    owner_id: int
    owner_username: str
    user_tags: tuple[str, ...] = ()
    publishes: bool = True
    climate: float = 12.0
    """Mean temperature, ºC."""

    def sensor(self, sensor_id: int) -> Sensor:
        catalogue = SENSORS_2015 if self.shape == "2015" else SENSORS_SCK21
        return catalogue[sensor_id]


DEVICES: dict[int, SimDevice] = {d.id: d for d in [
    SimDevice(1616, "85543ca2-e543-4351-9122-98756d50e6b1", "Orchid Surf Stay Bali",
              "Located at the pool area of the hotel ", "2015",
              Place(-8.82111778712582, 115.15258114151, "Kuta Selatan", "ID", "Indonesia",
                    "qw3vu65t38", 1),
              (10, 5, 4, 8, 9, 21, 7, 6, 11), "2015-02-02T15:59:51Z", 2247, "JesusZabala",
              climate=28.0),
    SimDevice(13006, "f0cf1a0b-5d7c-4501-acad-f768a9dba3c5", "IoTCrawler 4",
              "Smart Citizen Kit 2.1 with Urban Sensor Board", "2020",
              Place(56.1535618, 10.2130859, "Aarhus", "DK", "Denmark", "u1zr2qkynn", None),
              (113, 112, 14, 10, 53, 58, 89, 88, 87, 56, 55), "2020-06-15T10:26:57Z", 7376,
              "SmartCitySeb", climate=9.0),
    SimDevice(15602, "a3140944-b642-43e9-8563-2050a25b1680", "Volderslaan_16, eerste_verdieping",
              "Smart Citizen Kit 2.1 with Urban Sensor Board", "2023+",
              Place(50.923355, 5.3232257, "Hasselt", "BE", "Belgium", "u15c9nk601", None),
              (113, 112, 14, 10, 53, 58, 89, 88, 87, 56, 55), "2022-08-26T09:49:54Z", 6562,
              "adnan", user_tags=("I-CHANGE", "Research", "First Floor"), climate=11.0),
    SimDevice(16777, "5f0d4c1e-7f6a-4b8e-9c61-2a8f6de1b777", "Never published kit",
              "Smart Citizen Kit 2.1 with Urban Sensor Board", "2023+",
              Place(41.3967, 2.1945, "Barcelona", "ES", "Spain", "sp3e9bh31y", None),
              (113, 112, 14, 10, 53, 58, 89, 88, 87, 56, 55), "2023-09-01T10:00:00Z", 6562,
              "adnan", publishes=False),
]}  # fmt: skip


# --- values -------------------------------------------------------------------------------------


def _solar_hour(device: SimDevice, minute: int) -> float:
    return ((minute / 60 + device.place.longitude / 15) % 24 + 24) % 24


def _day(hour: float) -> float:
    """0 at night, rising to 1 at solar noon."""
    return max(0.0, math.sin(math.pi * (hour - 6) / 12)) if 6 <= hour <= 18 else 0.0


def _activity(hour: float) -> float:
    """People about: morning and evening peaks, quiet nights."""
    return 0.5 * (math.exp(-(((hour - 8.5) / 1.5) ** 2)) + math.exp(-(((hour - 18) / 2) ** 2))) + (
        0.4 if 7 <= hour <= 22 else 0.0
    )


def _warmth(hour: float) -> float:
    """-1 before dawn, +1 mid-afternoon."""
    return math.cos(2 * math.pi * (hour - 15) / 24)


def _model(device: SimDevice, sensor: Sensor, minute: int) -> float:
    hour = _solar_hour(device, minute)
    noise = _normal(SEED, "sensor", device.id, sensor.id, minute)
    measurement = sensor.measurement_id
    if measurement == 1:  # air temperature
        return device.climate + 5 * _warmth(hour) + 0.15 * noise
    if measurement == 2:  # relative humidity
        return min(100.0, max(5.0, 68 - 15 * _warmth(hour) + 0.8 * noise))
    if measurement == 3:  # light: lux, or % for the 2015 LDR
        if sensor.unit == "%":
            return max(0.0, 100 * _day(hour) + 0.5 * noise)
        return max(0.0, 25_000 * _day(hour) ** 2 + 3 * abs(noise))
    if measurement == 4:  # noise
        return 38 + 22 * _activity(hour) + 2 * noise
    if measurement == 25:  # barometric pressure, kPa
        return 101.3 + 0.4 * math.sin(2 * math.pi * minute / (3 * 24 * 60)) + 0.02 * noise
    if measurement in (27, 14, 13):  # particles: PM1, PM2.5, PM10
        base = {27: 5.0, 14: 8.0, 13: 12.0}[measurement]
        return max(0.0, base * (1 + 0.8 * _activity(hour)) + 1.2 * noise)
    if measurement == 46:  # eCO2
        return 420 + 180 * _activity(hour) + 15 * noise
    if measurement == 47:  # TVOC
        return max(0.0, 25 + 90 * _activity(hour) + 6 * noise)
    if measurement == 7:  # battery: charged by day, drains at night
        return min(100.0, 88 + 10 * _day(hour) + 0.6 * noise)
    if measurement in (5, 6):  # MOS gas resistances
        return 220 - 60 * _activity(hour) + 4 * noise
    if measurement == 9:  # wifi networks in range
        return float(2 + int(7 * _unit(SEED, "nets", device.id, minute // 30)))
    if measurement == 8:  # solar panel
        return max(0.0, 5.2 * _day(hour) + 0.01 * noise)
    return 50 + 5 * noise


def value(device_id: int, sensor_id: int, minute: int) -> float:
    """The reading of `sensor_id` that device `device_id` published in minute `minute`."""
    device = DEVICES[device_id]
    sensor = device.sensor(sensor_id)
    raw = _model(device, sensor, minute)
    return float(round(raw)) if sensor.whole else round(raw, 2)


def reading_second(device_id: int, minute: int) -> int:
    """Unix second of the reading published in `minute` (1 to 59 s into it: not grid-aligned)."""
    return minute * 60 + 1 + int(58 * _unit(SEED, "offset", device_id, minute))


def latest_minute(device_id: int, now: datetime) -> int | None:
    """The minute of the latest reading published at or before `now` (None: never published)."""
    if not DEVICES[device_id].publishes:
        return None
    second = int(now.timestamp())
    minute = second // 60
    return minute if reading_second(device_id, minute) <= second else minute - 1


def iso(epoch_seconds: int) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- readings ---------------------------------------------------------------------------------

# "Get Historical Readings", https://developer.smartcitizen.me/#get-historical-readings (source:
# fablabbcn/smartcitizen-api-docs, source/includes/_readings.md.erb): `rollup` is required,
# "Timespan to use when grouping readings", a number and a unit (y, M, w, d, h, m, s, ms);
# `from`/`to` bound the range; `function` is how readings are grouped: avg (default), count,
# max, min, stdev; the answer's `sample_size` is "the count of readings that were examined". The
# API groups with KairosDB's aligned sampling (fablabbcn/smartcitizen-api, app/models/kairos.rb)
# and lists the groups newest first, each at the time of its first reading (the rollup-4h sample
# in ../shared/samples). The simulator serves the m, h, d and w units; y, M, s and ms are refused.
_ROLLUP = re.compile(r"^(\d+)(m|h|d|w)$")
_ROLLUP_MINUTES = {"m": 1, "h": 60, "d": 1440, "w": 10080}
MAX_BUCKETS = 10_000
SAMPLES_PER_BUCKET = 1440
"""A bucket of up to a day aggregates every reading in it; a longer one at most this many, evenly
spaced, so that a year of weekly buckets still answers in a second."""
FUNCTIONS: dict[str, Callable[[list[float]], float]] = {
    "avg": lambda values: sum(values) / len(values),
    "count": lambda values: float(len(values)),
    "max": max,
    "min": min,
    "stdev": lambda values: statistics.stdev(values) if len(values) > 1 else 0.0,
}


def rollup_minutes(rollup: str) -> int:
    match = _ROLLUP.fullmatch(rollup)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"rollup must look like 1m, 15m, 4h, 1d or 1w, got {rollup!r}")
    return int(match.group(1)) * _ROLLUP_MINUTES[match.group(2)]


def _bucket_value(
    device_id: int, sensor_id: int, minutes: list[int], function: str, value_of: ValueOf
) -> float:
    """`function` over the readings published in `minutes` (sampled beyond a day's worth)."""
    stride = max(1, math.ceil(len(minutes) / SAMPLES_PER_BUCKET))
    sampled = [value_of(device_id, sensor_id, m) for m in minutes[::stride]]
    if function == "count":
        return float(len(minutes))
    return FUNCTIONS[function](sampled)


def readings(
    device_id: int,
    sensor_id: int,
    rollup: str,
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    function: str = "avg",
    value_of: ValueOf = value,
) -> dict[str, Any]:
    """GET /v0/devices/{id}/readings: readings published in [start, min(end, now)), newest first.

    Buckets of `rollup` are aligned to the epoch; each shows the time of its first reading and
    `function` of its readings (with a 1m rollup: exactly the one reading of that minute).
    """
    device = DEVICES[device_id]
    step = rollup_minutes(rollup)
    if function not in FUNCTIONS:
        raise ValueError(f"function must be one of {', '.join(FUNCTIONS)}, got {function!r}")
    sensor = device.sensor(sensor_id) if sensor_id in device.sensors else None
    first = int(start.timestamp()) // 60 - 1
    last = min(int(end.timestamp()), int(now.timestamp()) + 1) // 60 + 1
    if (last - first) // step > MAX_BUCKETS:
        raise ValueError(f"too many {rollup} buckets: at most {MAX_BUCKETS} per request")
    lo, hi = int(start.timestamp()), min(int(end.timestamp()), int(now.timestamp()) + 1)
    points: list[list[Any]] = []
    sample_size = 0
    if sensor is not None and device.publishes:
        for bucket_start in range(first - first % step, last + 1, step):
            minutes = [
                m
                for m in range(bucket_start, bucket_start + step)
                if lo <= reading_second(device_id, m) < hi
            ]
            if minutes:
                sample_size += len(minutes)
                total = _bucket_value(device_id, sensor_id, minutes, function, value_of)
                points.append([iso(reading_second(device_id, minutes[0])), total])
    points.reverse()
    body: dict[str, Any] = {"device_id": device_id}
    if sensor is not None and device.shape != "2015":
        body["sensor_key"] = sensor.default_key
    body |= {
        "sensor_id": sensor_id,
        "rollup": rollup,
        "function": function,
        "from": iso(int(start.timestamp())),
        "to": iso(int(end.timestamp())),
        "sample_size": sample_size,
        "readings": points,
    }
    return body
