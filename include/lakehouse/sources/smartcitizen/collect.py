"""A Smart Citizen run: its planned requests, fetched in order and landed one by one."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from functools import partial

from lakehouse.collect import Landing
from lakehouse.raw_zone import DataInterval, Mode, RawZoneWriter
from lakehouse.sources.base import Collection
from lakehouse.sources.http import ApiError, ApiResponse
from lakehouse.sources.smartcitizen.client import SmartCitizenApi, device_sensors
from lakehouse.sources.smartcitizen.planner import (
    PARTS,
    Device,
    DeviceReadings,
    SmartCitizenSelection,
    WorldMap,
    plan_smartcitizen,
)

log = logging.getLogger(__name__)


def collect_smartcitizen(
    api: SmartCitizenApi,
    writer: RawZoneWriter,
    selection: SmartCitizenSelection,
    *,
    interval: DataInterval,
    run_id: str,
    mode: Mode,
    parts: Sequence[str] = PARTS,
    now: datetime | None = None,
) -> Collection:
    """Live: each device object and the world map (if enabled). History: per device, the readings
    of each of its sensors (the sensors read from the device object, which is not landed)."""
    plan = plan_smartcitizen(selection, mode, interval, parts, now=now)
    landing = Landing(writer, interval, mode, run_id, plan.skipped)
    for call in plan.calls:
        match call:
            case Device(device_id):
                landing.fetch_and_land(partial(api.device, device_id), f"id={device_id}")
            case WorldMap():
                landing.fetch_and_land(api.world_map, "world map")
            case DeviceReadings():
                landing.land_block(
                    call.block,
                    partial(_land_device_readings, api, landing, call),
                    f"device_id={call.device_id}",
                )
    return landing.finish()


def _land_device_readings(
    api: SmartCitizenApi, landing: Landing, call: DeviceReadings, interval: DataInterval
) -> bool:
    """The block's readings of every sensor, under the block's interval; True if all landed."""
    device = landing.fetch(partial(api.device, call.device_id), f"id={call.device_id} (sensors)")
    if device is None:
        return False
    try:
        sensors = device_sensors(device.json())
    except ValueError as exc:
        error = ApiError(device.source, device.endpoint, device.status, f"not a device: {exc}")
        landing.fail(error, f"id={call.device_id}")
        return False
    if not sensors:
        log.info("smartcitizen device %s lists no sensors (never published?)", call.device_id)
    complete = True
    for sensor in sensors:
        response = landing.fetch_and_land(
            partial(
                api.readings,
                call.device_id,
                sensor.id,
                call.rollup,
                call.block.start,
                call.block.end,
            ),
            f"device_id={call.device_id} sensor_id={sensor.id}",
            interval,
        )
        if response is not None:
            _warn_if_answered_for_another(response, call.device_id, sensor.id)
        complete = complete and response is not None
    return complete


def _warn_if_answered_for_another(response: ApiResponse, device_id: int, sensor_id: int) -> None:
    """Name a readings body that is for another device or sensor than was asked: it is landed as
    it came, and the stream quarantines it (`mismatched_device` / `mismatched_sensor`)."""
    try:
        body = response.json()
    except ValueError:
        return
    if not isinstance(body, dict):
        return
    answered = (body.get("device_id", device_id), body.get("sensor_id", sensor_id))
    if tuple(str(value) for value in answered) != (str(device_id), str(sensor_id)):
        log.warning(
            "smartcitizen readings: asked device %s sensor %s, answered device %s sensor %s "
            "(landed; the stream quarantines it)",
            device_id, sensor_id, *answered,
        )  # fmt: skip
