"""Smart Citizen's settings outside Airflow (the CLI, the local runtime's live mode).

Inside Airflow the `smartcitizen_api` Connection holds the same values: host = base URL, extra
`{"rate_limit_per_minute": N}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lakehouse.env import env_bool, env_csv, env_int
from lakehouse.sources.base import Connection

BASE_URL = "https://api.smartcitizen.me/v0"
RATE_LIMIT = 120
"""Requests per minute: the API allows about 150/min per IP; keep some for everyone else."""
MONTHLY_CREDITS: int | None = None
"""The API is public and free: no key, no monthly quota, only the per-minute limit."""


@dataclass(frozen=True)
class SmartCitizenSettings:
    """Smart Citizen API v0 (public reads, no key).

    Environment: SMARTCITIZEN_BASE_URL (default https://api.smartcitizen.me/v0),
    SMARTCITIZEN_DEVICES (comma list of device ids), SMARTCITIZEN_WORLD_MAP (`true`/`false`: also
    land the world map every minute) and SMARTCITIZEN_RATE_LIMIT_PER_MINUTE (the shared call
    limiter keeps live and backfill calls together within it).
    """

    base_url: str = BASE_URL
    devices: tuple[int, ...] = (1616, 13006, 15602)
    """One device of each API shape (2015, 2020, 2023+); the simulator serves all three."""
    world_map: bool = False
    rate_limit_per_minute: int = RATE_LIMIT

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SmartCitizenSettings:
        """Only environment variables, no file: cheap enough for a DAG file's Param defaults."""
        raw_devices = env_csv(env, "SMARTCITIZEN_DEVICES", ())
        try:
            devices = tuple(int(item) for item in raw_devices) or cls.devices
        except ValueError as exc:
            raise ValueError(
                f"SMARTCITIZEN_DEVICES must be a comma list of device ids, got "
                f"{env.get('SMARTCITIZEN_DEVICES')!r}"
            ) from exc
        return cls(
            base_url=env.get("SMARTCITIZEN_BASE_URL", BASE_URL),
            devices=devices,
            world_map=env_bool(env, "SMARTCITIZEN_WORLD_MAP", cls.world_map),
            rate_limit_per_minute=env_int(
                env, "SMARTCITIZEN_RATE_LIMIT_PER_MINUTE", cls.rate_limit_per_minute
            ),
        )

    def connection(self) -> Connection:
        return Connection(
            host=self.base_url, extra={"rate_limit_per_minute": self.rate_limit_per_minute}
        )

    def default_params(self) -> dict[str, Any]:
        return {"devices": list(self.devices), "world_map": self.world_map}
