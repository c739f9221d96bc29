"""Smart Citizen device objects in the shape of each API generation the samples show.

The API changed its device object over the years (see ../shared/samples): 1616 answers as a 2015
SCK 1.0 object, 13006 as a 2020 SCK 2.1 object, 15602 and 16777 in the 2023+ shape (16777 never
published: `"data": {}`). The values inside are `sensors`' readings, so an object and `/readings`
agree; only the wrapping differs by generation.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from lakehouse.simulator.sensors import (
    DEVICES,
    RENAMED_2023,
    Sensor,
    Shape,
    SimDevice,
    iso,
    latest_minute,
    reading_second,
    value,
)

KIT_2015 = {
    "id": 2, "uuid": "1409dba9-b06b-4ea5-904c-e0df6e09b903", "slug": "sck:1,0",
    "name": "SCK 1.0 - Ambient Board", "description": "Goteo Board",
    "created_at": "2015-02-02T18:18:50Z", "updated_at": "2015-05-25T14:06:25Z",
}  # fmt: skip
KIT_SCK21 = {
    "id": 26, "uuid": "56bec177-6d93-4001-b700-1abd8347ed87", "slug": "sck:2,1",
    "name": "SCK 2.1", "description": "Smart Citizen Kit 2.1 with Urban Sensor Board",
    "created_at": "2019-03-21T17:02:46Z", "updated_at": "2019-03-21T17:02:46Z",
}  # fmt: skip


def _number(sensor: Sensor, reading: float, shape: Shape) -> float | int:
    """Whole-number sensors are ints in the 2015/2020 shapes, floats in 2023+ (as the samples)."""
    return int(reading) if sensor.whole and shape != "2023+" else reading


def _location(device: SimDevice) -> dict[str, Any]:
    place = device.place
    return {
        "ip": None,
        "exposure": place.exposure,
        "elevation": place.elevation,
        "latitude": place.latitude,
        "longitude": place.longitude,
        "geohash": place.geohash,
        "city": place.city,
        "country_code": place.country_code,
        "country": place.country,
    }


def _owner(device: SimDevice, shape: Shape) -> dict[str, Any]:
    owned = sorted(d.id for d in DEVICES.values() if d.owner_id == device.owner_id)
    avatar = "https://smartcitizen.s3.amazonaws.com/avatars/default.svg"
    owner: dict[str, Any] = {
        "id": device.owner_id,
        "uuid": hashlib.md5(f"owner{device.owner_id}".encode()).hexdigest(),
        "username": device.owner_username,
    }
    if shape == "2023+":
        owner |= {"url": None, "avatar": avatar, "profile_picture": ""}
    else:
        owner |= {"avatar": avatar, "url": None, "joined_at": device.added_at}
    owner["location"] = {"city": None, "country": None, "country_code": None}
    owner["device_ids"] = owned
    return owner


def _sensor_object(
    device: SimDevice, sensor_id: int, minute: int | None, reading_at: str | None
) -> dict[str, Any]:
    sensor = device.sensor(sensor_id)
    name, unit = sensor.name, sensor.unit
    if device.shape == "2023+" and sensor_id in RENAMED_2023:
        name, unit = RENAMED_2023[sensor_id]
    now = None if minute is None else value(device.id, sensor_id, minute)
    before = None if minute is None else value(device.id, sensor_id, minute - 1)
    shown_now = None if now is None else _number(sensor, now, device.shape)
    shown_before = None if before is None else _number(sensor, before, device.shape)
    obj: dict[str, Any] = {
        "id": sensor.id,
        "ancestry": sensor.ancestry,
        "name": name,
        "description": sensor.description,
        "unit": unit,
        "created_at": sensor.created_at,
        "updated_at": sensor.created_at,
    }
    if device.shape == "2023+":
        obj |= {
            "uuid": sensor.uuid,
            "default_key": sensor.default_key,
            "measurement": {
                "id": sensor.measurement_id,
                "name": sensor.measurement,
                "description": f"{sensor.measurement} as the sensor measures it.",
                "unit": None,
                "uuid": hashlib.md5(f"m{sensor.measurement_id}".encode()).hexdigest(),
            },
            "value": shown_now,
            "prev_value": shown_before,
            "last_reading_at": reading_at,
            "tags": [],
        }
        return obj
    scale = 10 if device.shape == "2015" else 1
    obj |= {
        "measurement_id": sensor.measurement_id,
        "uuid": sensor.uuid,
        "value": shown_now,
        "raw_value": None if now is None else _raw(now * scale, sensor, device.shape),
        "prev_value": shown_before,
        "prev_raw_value": None if before is None else _raw(before * scale, sensor, device.shape),
    }
    return obj


def _raw(number: float, sensor: Sensor, shape: Shape) -> float | int:
    return round(number) if shape == "2015" or sensor.whole else round(number, 2)


def device_object(device_id: int, now: datetime) -> dict[str, Any]:
    """GET /v0/devices/{id} at `now`, in the device's shape; `data` is {} if it never published."""
    device = DEVICES[device_id]
    minute = latest_minute(device_id, now)
    reading_at = None if minute is None else iso(reading_second(device_id, minute))
    sensors = (
        None
        if minute is None
        else [_sensor_object(device, s, minute, reading_at) for s in device.sensors]
    )
    if device.shape == "2023+":
        return _current_object(device, reading_at, sensors)
    return _legacy_object(device, reading_at, sensors)


def _state(device: SimDevice) -> str:
    return "has_published" if device.publishes else "never_published"


def _system_tags(device: SimDevice) -> list[str]:
    return ["online" if device.publishes else "offline", device.place.exposure]


def _current_object(
    device: SimDevice, reading_at: str | None, sensors: list[dict[str, Any]] | None
) -> dict[str, Any]:
    """The 2023+ shape: hardware instead of kit, and bare `data.sensors` (no time or place)."""
    return {
        "id": device.id,
        "uuid": device.uuid,
        "name": device.name,
        "description": device.description,
        "state": _state(device),
        "system_tags": _system_tags(device),
        "user_tags": list(device.user_tags),
        "is_private": False,
        "last_reading_at": reading_at,
        "created_at": device.added_at,
        "updated_at": reading_at or device.added_at,
        "notify": {"stopped_publishing": False, "low_battery": False},
        "device_token": "[FILTERED]",
        "postprocessing": None,
        "location": _location(device),
        "hardware": {
            "name": "SCK 2.1",
            "type": "SCK",
            "version": "2.1",
            "slug": "sck:2,1",
            "last_status_message": "[FILTERED]",
        },
        "owner": _owner(device, device.shape),
        "data": {"sensors": sensors} if sensors is not None else {},
    }


def _legacy_object(
    device: SimDevice, reading_at: str | None, sensors: list[dict[str, Any]] | None
) -> dict[str, Any]:
    """The 2015 and 2020 shapes: a kit, and `data` with its own time and place; 2020 adds the
    kit's hardware info, user tags and notification flags."""
    data: dict[str, Any] = {}
    if sensors is not None:
        data = {"recorded_at": reading_at, "added_at": reading_at}
        if device.shape == "2015":
            data["firmware"] = "[IGNORE]"
        data |= {"location": _location(device), "sensors": sensors}
    body: dict[str, Any] = {
        "id": device.id,
        "uuid": device.uuid,
        "name": device.name,
        "description": device.description,
        "state": _state(device),
    }
    if device.shape == "2020":
        body["hardware_info"] = _hardware_info(reading_at)
    body["system_tags"] = _system_tags(device)
    if device.shape == "2020":
        body |= {
            "user_tags": list(device.user_tags),
            "is_private": False,
            "notify_low_battery": False,
            "notify_stopped_publishing": False,
        }
    return body | {
        "last_reading_at": reading_at,
        "added_at": device.added_at,
        "updated_at": reading_at or device.added_at,
        "mac_address": "[FILTERED]",
        "owner": _owner(device, device.shape),
        "data": data,
        "kit": dict(KIT_2015 if device.shape == "2015" else KIT_SCK21),
    }


def _hardware_info(reading_at: str | None) -> dict[str, Any]:
    return {
        "id": "417298B850533050352E3120FF13190C",
        "mac": "BE:DD:C2:AC:97:EC",
        "time": reading_at,
        "esp_bd": "2019-08-20T13:17:16Z",
        "hw_ver": "2.1",
        "sam_bd": "2019-08-20T13:25:01Z",
        "esp_ver": "0.9.2-a91f850",
        "sam_ver": "0.9.5-a91f850",
    }


def world_map(now: datetime) -> list[dict[str, Any]]:
    """GET /v0/devices/world_map: every device, in the current (2023+) summary shape."""
    entries = []
    for device in DEVICES.values():
        minute = latest_minute(device.id, now)
        entries.append(
            {
                "id": device.id,
                "name": device.name,
                "description": device.description,
                "state": "has_published" if device.publishes else "never_published",
                "system_tags": ["online" if device.publishes else "offline"],
                "user_tags": list(device.user_tags),
                "last_reading_at": None
                if minute is None
                else iso(reading_second(device.id, minute)),
                "location": _location(device),
                "hardware": {"name": "SCK 2.1", "type": "SCK", "version": "2.1",
                             "slug": "sck:2,1"}
                if device.shape != "2015"
                else {"name": "SCK 1.0", "type": "SCK", "version": "1.0", "slug": "sck:1,0"},
                "owner": {"id": device.owner_id, "username": device.owner_username, "url": None},
            }
        )  # fmt: skip
    return entries
