"""Smart Citizen API v0 (IoT environmental sensors): settings, client, planner and collector.

`SOURCE` is what the registry lists; the collect DAG, the hook, the CLI and the runtime read it.
"""

from __future__ import annotations

from typing import Any

from lakehouse.sources.base import Connection, Source, SourceSettings
from lakehouse.sources.budget import PartCalls
from lakehouse.sources.limiter import CallLimiter
from lakehouse.sources.smartcitizen.client import SmartCitizenApi, SmartCitizenHttpClient
from lakehouse.sources.smartcitizen.collect import collect_smartcitizen
from lakehouse.sources.smartcitizen.planner import PARTS, SmartCitizenSelection
from lakehouse.sources.smartcitizen.settings import (
    BASE_URL,
    MONTHLY_CREDITS,
    RATE_LIMIT,
    SmartCitizenSettings,
)


def _params(settings: SourceSettings) -> dict[str, dict[str, Any]]:
    defaults = settings.default_params()
    return {
        "devices": {
            "default": defaults["devices"],
            "type": "array",
            "minItems": 1,
            "items": {"type": "integer", "minimum": 1},
            "description": "Smart Citizen device ids",
        },
        "world_map": {
            "default": defaults["world_map"],
            "type": "boolean",
            "description": "also land the world map (live only)",
        },
    }


def _client(conn: Connection, limiter: CallLimiter) -> SmartCitizenApi:
    return SmartCitizenHttpClient(base_url=conn.host or BASE_URL, limiter=limiter)


def _live_calls(settings: SourceSettings) -> tuple[PartCalls, ...]:
    """One device object per device every minute, and the world map when it is enabled."""
    if not isinstance(settings, SmartCitizenSettings):
        raise TypeError(f"smartcitizen needs SmartCitizenSettings, got {type(settings).__name__}")
    return (
        PartCalls("devices", len(settings.devices)),
        PartCalls("world_map", 1 if settings.world_map else 0),
    )


SOURCE: Source[SmartCitizenSelection, SmartCitizenApi] = Source(
    name="smartcitizen",
    title="Smart Citizen",
    conn_id="smartcitizen_api",
    pool="smartcitizen_api",
    default_pool_slots=4,
    parts=PARTS,
    simulator_path="/v0",
    settings_from_env=SmartCitizenSettings.from_env,
    params=_params,
    selection=SmartCitizenSelection.from_params,
    client=_client,
    default_rate_limit=lambda _conn: RATE_LIMIT,
    collect=collect_smartcitizen,
    tags=("smartcitizen",),
    live_calls=_live_calls,
    monthly_credits=lambda _settings: MONTHLY_CREDITS,
    live_endpoints={"devices": "device", "world_map": "world_map"},
    heals=("devices",),  # through each sensor's readings; the world map has no history
)
