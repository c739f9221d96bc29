"""What one Smart Citizen run fetches: the selection a run is asked for, and its requests."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from lakehouse.raw_zone import DataInterval, Mode
from lakehouse.raw_zone_claims import Block, blocks_of
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
    """Readings of every sensor of a device over one block (the UTC hour) at the 1-minute rollup:
    the sensors come from the device object itself, fetched first (and not landed: it describes
    now, not the interval). One run fetches the hour for all the runs inside it."""

    device_id: int
    rollup: str
    block: Block


READINGS_BLOCK = timedelta(hours=1)
"""A readings backfill fetches the UTC hour per sensor (60 one-minute rollups per call, rather
than one call per minute run)."""
SETTLE = timedelta(minutes=10)
"""A block is final this long after its end (devices publish about once a minute, some late)."""


SmartCitizenCall = Device | WorldMap | DeviceReadings


def plan_smartcitizen(
    selection: SmartCitizenSelection,
    mode: Mode,
    interval: DataInterval,
    parts: Sequence[str] = PARTS,
    *,
    now: datetime | None = None,
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
                DeviceReadings(device, ROLLUP, block)
                for device in selection.devices
                for block in readings_blocks(device, interval, now or datetime.now(UTC))
            )
    if "world_map" in parts:
        if not selection.world_map:
            skipped.append("smartcitizen world map is not enabled for this run")
        elif mode == "history":
            skipped.append("smartcitizen /devices/world_map has no history")
        else:
            calls.append(WorldMap())
    return Plan(mode, tuple(calls), tuple(skipped))


def readings_blocks(device_id: int, interval: DataInterval, now: datetime) -> Iterator[Block]:
    return blocks_of(
        "smartcitizen",
        "readings",
        str(device_id),
        (interval.start, interval.end),
        now,
        lambda _start: READINGS_BLOCK,
        SETTLE,
    )
