"""What one collection run fetches: live or history, and which requests, as pure functions.

A run is *history* when its data interval ended more than `HISTORY_LAG` ago (an Airflow backfill
from the UI, CLI or REST API, a late retry, `lakehouse collect --history`): the APIs' "now"
endpoints would then describe the wrong moment, so it fetches the history endpoints for exactly
[interval start, interval end). Otherwise it is *live*: the "now" endpoints, landed under the
interval the scheduler gave. Silver keys rows by the instant the API reports, not by the interval,
so both routes give the same rows for the same instant.

The lag is longer than Airflow's retries of a live run take (seconds to a couple of minutes), so a
retried live run stays live; a run the scheduler starts much later than planned switches to history,
which is what it should fetch by then.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from lakehouse.config import CoinGeckoSettings, SmartCitizenSettings
from lakehouse.raw_zone import DataInterval, Mode
from lakehouse.sources.coingecko import market_pages, validate_ids, validate_top_n
from lakehouse.sources.smartcitizen import ROLLUP, validate_device_ids

HISTORY_LAG = timedelta(minutes=10)


def choose_mode(
    interval: DataInterval, now: datetime, *, lag: timedelta = HISTORY_LAG, history: bool = False
) -> Mode:
    """`history` when asked to, or when the interval ended more than `lag` before `now`."""
    mode: Mode = "history" if history or interval.end <= now - lag else "live"
    if mode == "history" and interval.end <= interval.start:
        raise ValueError(
            "a history fetch needs a data interval that is not empty; "
            f"got [{interval.start.isoformat()}, {interval.end.isoformat()})"
        )
    return mode


# --- what a run is asked for (Params in Airflow, settings on the CLI) ---------------------------


@dataclass(frozen=True)
class CoinGeckoSelection:
    """Coins, currencies and how many top coins by market cap `/coins/markets` lands."""

    coins: tuple[str, ...]
    currencies: tuple[str, ...]
    top_n: int

    @property
    def markets_currency(self) -> str:
        """`/coins/markets` takes one currency: the first of the list."""
        return self.currencies[0]

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> CoinGeckoSelection:
        """Validates a run's Params (the trigger form validates too; the CLI has no form)."""
        missing = [name for name in ("coins", "currencies", "top_n") if name not in params]
        if missing:
            raise ValueError(f"missing params: {', '.join(missing)}")
        return cls(
            coins=validate_ids("coins", params["coins"]),
            currencies=validate_ids("currencies", params["currencies"]),
            top_n=validate_top_n(params["top_n"]),
        )

    @classmethod
    def from_settings(cls, settings: CoinGeckoSettings) -> CoinGeckoSelection:
        return cls.from_params(
            {
                "coins": list(settings.coins),
                "currencies": list(settings.currencies),
                "top_n": settings.markets_top_n,
            }
        )


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
        return cls.from_params({"devices": list(settings.devices), "world_map": settings.world_map})


# --- the requests of a run ------------------------------------------------------------------------


@dataclass(frozen=True)
class SimplePrice:
    ids: tuple[str, ...]
    vs_currencies: tuple[str, ...]


@dataclass(frozen=True)
class CoinsMarkets:
    vs_currency: str
    per_page: int
    page: int


@dataclass(frozen=True)
class MarketChartRange:
    coin_id: str
    vs_currency: str
    start: datetime
    end: datetime


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


CoinGeckoCall = SimplePrice | CoinsMarkets | MarketChartRange
SmartCitizenCall = Device | WorldMap | DeviceReadings

COINGECKO_PARTS = ("prices", "markets")
SMARTCITIZEN_PARTS = ("devices", "world_map")


Call = TypeVar("Call", CoinGeckoCall, SmartCitizenCall)


@dataclass(frozen=True)
class Plan(Generic[Call]):
    """The requests of one run, and why a part fetches nothing (to show it as skipped)."""

    mode: Mode
    calls: tuple[Call, ...]
    skipped: tuple[str, ...] = ()


def plan_coingecko(
    selection: CoinGeckoSelection,
    mode: Mode,
    interval: DataInterval,
    parts: Sequence[str] = COINGECKO_PARTS,
) -> Plan[CoinGeckoCall]:
    """Live: one `/simple/price` for all pairs, `/coins/markets` by pages. History: one
    `/market_chart/range` per coin and currency (the endpoint takes one of each)."""
    _check_parts(parts, COINGECKO_PARTS)
    calls: list[CoinGeckoCall] = []
    skipped: list[str] = []
    if "prices" in parts:
        if mode == "live":
            calls.append(SimplePrice(selection.coins, selection.currencies))
        else:
            calls.extend(
                MarketChartRange(coin, currency, interval.start, interval.end)
                for coin in selection.coins
                for currency in selection.currencies
            )
    if "markets" in parts:
        if mode == "live":
            calls.extend(
                CoinsMarkets(selection.markets_currency, per_page, page)
                for per_page, page in market_pages(selection.top_n)
            )
        else:
            skipped.append("coingecko /coins/markets has no history: a backfill lands prices only")
    return Plan(mode, tuple(calls), tuple(skipped))


def plan_smartcitizen(
    selection: SmartCitizenSelection,
    mode: Mode,
    interval: DataInterval,
    parts: Sequence[str] = SMARTCITIZEN_PARTS,
) -> Plan[SmartCitizenCall]:
    """Live: each device object (its latest readings), and the world map when enabled.
    History: the readings of every sensor of each device over the interval, 1-minute rollup."""
    _check_parts(parts, SMARTCITIZEN_PARTS)
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


def _check_parts(parts: Sequence[str], known: Sequence[str]) -> None:
    unknown = [part for part in parts if part not in known]
    if unknown or not parts:
        raise ValueError(f"parts must be some of {list(known)}, got {list(parts)!r}")
