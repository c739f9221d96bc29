"""Smart Citizen API v0: the client protocol, its HTTP implementation, and the device parser.

Endpoints and what the raw zone records of each request (`params`):

- `device`: GET /v0/devices/{id}, params `{"id": "<device id>"}` (the id travels in the path).
- `world_map`: GET /v0/devices/world_map, no params; every device in one unpaginated list.
- `readings`: GET /v0/devices/{id}/readings, params `device_id` (path), `sensor_id`, `rollup`,
  `from`, `to` (ISO-8601, UTC, `Z`). Answers `{device_id, sensor_id, rollup, readings: [[iso,
  value], ...]}`, newest first.

Public reads need no key. The device object changed shape over the years (2015: `kit`, sensors
with `raw_value`; 2020: `hardware_info`; 2023+: top-level `location` and `hardware`, sensors with
`default_key` and a nested `measurement`); a device that never published has `"data": {}`.
`device_sensors` reads the sensor list of any of them, field by field.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import requests

from lakehouse.sources.http import MAX_RETRY_AFTER_S, ApiResponse, JsonGetter
from lakehouse.sources.limiter import CallLimiter
from lakehouse.sources.smartcitizen.settings import BASE_URL

SOURCE = "smartcitizen"
ROLLUP = "1m"
"""Readings rollup for backfills: the devices publish about once a minute, as our grid."""

Shape = Literal["2015", "2020", "2023+", "unknown"]


def validate_device_ids(values: Sequence[object]) -> tuple[int, ...]:
    """Device ids are positive whole numbers (digit strings are taken too: the CLI and env)."""
    if isinstance(values, str | bytes):
        raise ValueError(f"devices: give a list of device ids, not the string {values!r}")
    if not values:
        raise ValueError("devices: at least one device id is needed")
    ids: list[int] = []
    bad: list[object] = []
    for value in values:
        if isinstance(value, bool):
            bad.append(value)
        elif isinstance(value, int) and value > 0:
            ids.append(value)
        elif isinstance(value, str) and value.isdigit() and value.isascii() and int(value) > 0:
            ids.append(int(value))
        else:
            bad.append(value)
    if bad:
        raise ValueError(f"devices: {bad!r} are not device ids (positive whole numbers)")
    return tuple(ids)


def iso_seconds(moment: datetime) -> str:
    """`2024-03-25T08:45:00Z`: the form the readings endpoint takes and gives."""
    if moment.tzinfo is None:
        raise ValueError("readings needs timezone-aware bounds")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SmartCitizenApi(Protocol):
    """What the collectors need of Smart Citizen; the HTTP client and test doubles provide it."""

    def device(self, device_id: int) -> ApiResponse: ...

    def world_map(self) -> ApiResponse: ...

    def readings(
        self, device_id: int, sensor_id: int, rollup: str, start: datetime, end: datetime
    ) -> ApiResponse: ...


class SmartCitizenHttpClient:
    """Talks to the real API (or anything at `base_url` that answers like it)."""

    def __init__(
        self,
        base_url: str = BASE_URL,
        timeout: float = 10.0,
        session: requests.Session | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        limiter: CallLimiter | None = None,
        max_retry_after: float = MAX_RETRY_AFTER_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._http = JsonGetter(
            SOURCE,
            base_url,
            timeout=timeout,
            session=session,
            clock=clock,
            max_retry_after=max_retry_after,
            limiter=limiter,
            sleep=sleep,
        )

    def device(self, device_id: int) -> ApiResponse:
        (device,) = validate_device_ids([device_id])
        return self._http.get("device", f"/devices/{device}", {}, {"id": str(device)})

    def world_map(self) -> ApiResponse:
        return self._http.get("world_map", "/devices/world_map", {})

    def readings(
        self, device_id: int, sensor_id: int, rollup: str, start: datetime, end: datetime
    ) -> ApiResponse:
        (device,) = validate_device_ids([device_id])
        if isinstance(sensor_id, bool) or not isinstance(sensor_id, int) or sensor_id < 0:
            raise ValueError(f"readings: sensor_id must be a whole number, got {sensor_id!r}")
        query = {
            "sensor_id": str(sensor_id),
            "rollup": rollup,
            "from": iso_seconds(start),
            "to": iso_seconds(end),
        }
        return self._http.get(
            "readings", f"/devices/{device}/readings", query, {"device_id": str(device)}
        )


# --- the device object, any shape ---------------------------------------------------------------


@dataclass(frozen=True)
class SensorRef:
    """A sensor of a device: `id` is the global sensor-type id the readings endpoint takes."""

    id: int
    key: str | None
    name: str | None


@dataclass(frozen=True)
class DeviceInfo:
    id: int | None
    name: str | None
    shape: Shape
    last_reading_at: str | None
    sensors: tuple[SensorRef, ...]


def device_shape(device: dict[str, Any]) -> Shape:
    """Which generation of the device object this is, from the keys only that one has."""
    if "hardware" in device or "notify" in device or "location" in device:
        return "2023+"
    if "hardware_info" in device:
        return "2020"
    if "kit" in device or "mac_address" in device:
        return "2015"
    return "unknown"


def parse_device(payload: Any) -> DeviceInfo:
    """Reads a device object of any shape; what is missing or mistyped becomes None / is skipped.

    Raises ValueError only when the payload is not a device object at all (e.g. a list, or an
    error body such as `{"id": "record_not_found", ...}`).
    """
    if not isinstance(payload, dict):
        raise ValueError(f"a device object is a JSON object, got {type(payload).__name__}")
    if isinstance(payload.get("id"), str) and "message" in payload:
        raise ValueError(f"an error body, not a device: {payload.get('id')}")
    data = payload.get("data")
    raw_sensors = data.get("sensors") if isinstance(data, dict) else None
    sensors: list[SensorRef] = []
    for raw in raw_sensors if isinstance(raw_sensors, list) else []:
        if not isinstance(raw, dict):
            continue
        sensor_id = _as_int(raw.get("id"))
        if sensor_id is None:
            continue
        key = raw.get("default_key")
        name = raw.get("name")
        sensors.append(
            SensorRef(
                id=sensor_id,
                key=key if isinstance(key, str) else None,
                name=name if isinstance(name, str) else None,
            )
        )
    last = payload.get("last_reading_at")
    name = payload.get("name")
    return DeviceInfo(
        id=_as_int(payload.get("id")),
        name=name if isinstance(name, str) else None,
        shape=device_shape(payload),
        last_reading_at=last if isinstance(last, str) else None,
        sensors=tuple(sensors),
    )


def device_sensors(payload: Any) -> tuple[SensorRef, ...]:
    """The distinct sensors of a device object (first occurrence wins), in the API's order."""
    seen: dict[int, SensorRef] = {}
    for sensor in parse_device(payload).sensors:
        seen.setdefault(sensor.id, sensor)
    return tuple(seen.values())


def _as_int(value: Any) -> int | None:
    """An id given as a number or (shape drift) as a string of digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None
