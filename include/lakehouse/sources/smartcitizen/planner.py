"""What one Smart Citizen run fetches: the selection a run is asked for, and its requests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lakehouse.raw_zone import DataInterval, Mode
from lakehouse.sources.planning import Plan, check_parts
from lakehouse.sources.smartcitizen.client import ROLLUP, validate_device_ids
from lakehouse.sources.smartcitizen.settings import SmartCitizenSettings

PARTS = ("devices", "world_map")


@dataclass(frozen=True)
class SmartCitizenSelection:
    """Devices whose readings are landed, and whether the world map is landed too."""

    devices: tuple[int, ...]
    world_map: bool

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> SmartCitizenSelection:
        missing = [name for name in ("devices", "world_map") if name not in params]
        if missing:
            raise ValueError(f"missing params: {', '.join(missing)}")
        world_map = params["world_map"]
        if not isinstance(world_map, bool):
            raise ValueError(f"world_map: must be true or false, got {world_map!r}")
        return cls(devices=validate_device_ids(params["devices"]), world_map=world_map)

    @classmethod
    def from_settings(cls, settings: SmartCitizenSettings) -> SmartCitizenSelection:
        return cls.from_params(settings.default_params())


@dataclass(frozen=True)
class Device:
    device_id: int


@dataclass(frozen=True)
class WorldMap:
    pass


@dataclass(frozen=True)
class DeviceReadings:
    """Readings of every sensor of a device: the sensors come from the device object itself,
    fetched first (and not landed: it describes now, not the interval)."""

    device_id: int
    rollup: str
    start: datetime
    end: datetime


SmartCitizenCall = Device | WorldMap | DeviceReadings


def plan_smartcitizen(
    selection: SmartCitizenSelection,
    mode: Mode,
    interval: DataInterval,
    parts: Sequence[str] = PARTS,
) -> Plan[SmartCitizenCall]:
    """Live: each device object (its latest readings), and the world map when enabled.
    History: the readings of every sensor of each device over the interval, 1-minute rollup."""
    check_parts(parts, PARTS)
    calls: list[SmartCitizenCall] = []
    skipped: list[str] = []
    if "devices" in parts:
        if mode == "live":
            calls.extend(Device(device) for device in selection.devices)
        else:
            calls.extend(
                DeviceReadings(device, ROLLUP, interval.start, interval.end)
                for device in selection.devices
            )
    if "world_map" in parts:
        if not selection.world_map:
            skipped.append("smartcitizen world map is not enabled for this run")
        elif mode == "history":
            skipped.append("smartcitizen /devices/world_map has no history")
        else:
            calls.append(WorldMap())
    return Plan(mode, tuple(calls), tuple(skipped))
