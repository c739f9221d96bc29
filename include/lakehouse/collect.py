"""One collection run: fetch from a source API and land each response in the raw zone.

The same functions run inside the Airflow tasks and behind `lakehouse collect`; the callers decide
where the client and the writer come from (an Airflow Connection, the environment, a test).

A run fetches its planned requests one after the other and lands each good response at once (one
PUT). A failed request lands nothing and is logged in one line (source, endpoint, status, params);
the others still land, then the run raises, so the task fails and Airflow retries it. A retry that
gets the same bytes writes the same keys, which the conditional PUT turns into no-ops. A 429 that
is not worth waiting for, or an API that does not answer even after retries, stops the run at
once: more calls would only fail the same way, and hold the pool slot longer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from lakehouse.raw_zone import DataInterval, Envelope, Mode, PutResult, RawZoneWriter
from lakehouse.sources.coingecko import CoinGeckoApi
from lakehouse.sources.http import ApiError, ApiResponse, history_spacing
from lakehouse.sources.planning import (
    COINGECKO_PARTS,
    SMARTCITIZEN_PARTS,
    CoinGeckoSelection,
    CoinsMarkets,
    Device,
    DeviceReadings,
    MarketChartRange,
    SimplePrice,
    SmartCitizenSelection,
    WorldMap,
    choose_mode,
    plan_coingecko,
    plan_smartcitizen,
)
from lakehouse.sources.smartcitizen import SmartCitizenApi, device_sensors

log = logging.getLogger(__name__)


class CollectionFailed(RuntimeError):
    """Several requests of one run failed; each was logged, the others landed."""

    def __init__(self, failures: Sequence[ApiError], attempted: int) -> None:
        self.failures = list(failures)
        super().__init__(f"{len(failures)} of {attempted} requests failed; first: {failures[0]}")


@dataclass
class Collection:
    """What a run landed, and the parts it had nothing to fetch for (shown as skipped)."""

    mode: Mode
    results: list[PutResult] = field(default_factory=list)
    skipped: tuple[str, ...] = ()

    @property
    def keys(self) -> list[str]:
        return [result.key for result in self.results]


class _Landing:
    """Lands responses as they come and remembers failures, for one run."""

    def __init__(self, writer: RawZoneWriter, interval: DataInterval, mode: Mode, run_id: str):
        self.writer = writer
        self.interval = interval
        self.mode = mode
        self.run_id = run_id
        self.collection = Collection(mode)
        self.failures: list[ApiError] = []
        self.attempted = 0

    def fetch(self, call: Callable[[], ApiResponse], what: str) -> ApiResponse | None:
        """The response, or None after logging the failure; an error that `stops_run` raises."""
        self.attempted += 1
        try:
            return call()
        except ApiError as error:
            if not error.stops_run:
                log.error("fetch failed, nothing landed: %s [%s]", error, what)
                self.failures.append(error)
                return None
            log.error("fetch failed, nothing landed, run stopped: %s [%s]", error, what)
            if self.failures:
                raise CollectionFailed([*self.failures, error], self.attempted) from error
            raise

    def land(self, response: ApiResponse) -> PutResult:
        envelope = Envelope(response, self.interval, self.mode, self.run_id)
        result = self.writer.write(envelope)
        self.collection.results.append(result)
        log.info(
            "%s %s: %s %s (%d bytes)",
            response.source,
            response.endpoint,
            "wrote" if result.created else "already had",
            result.key,
            len(response.body),
        )
        return result

    def finish(self) -> Collection:
        """The collection, or the failure (the only one, or all of them) to fail the task."""
        if len(self.failures) == 1:
            raise self.failures[0]
        if self.failures:
            raise CollectionFailed(self.failures, self.attempted)
        return self.collection


# --- CoinGecko ----------------------------------------------------------------------------------


def collect_coingecko_prices(
    api: CoinGeckoApi,
    writer: RawZoneWriter,
    *,
    coins: Sequence[str],
    currencies: Sequence[str],
    interval: DataInterval,
    run_id: str,
    mode: Mode = "live",
) -> list[PutResult]:
    """Land one `/simple/price` for the coins and currencies, labelled `mode` by the caller.

    For callers that choose the label themselves (tests, tools); a run uses `collect_coingecko`,
    which picks the endpoints by mode.
    """
    landing = _Landing(writer, interval, mode, run_id)
    response = landing.fetch(
        partial(api.simple_price, coins, currencies),
        f"ids={','.join(coins)} vs_currencies={','.join(currencies)}",
    )
    if response is not None:
        landing.land(response)
    return landing.finish().results


def collect_coingecko(
    api: CoinGeckoApi,
    writer: RawZoneWriter,
    selection: CoinGeckoSelection,
    *,
    interval: DataInterval,
    run_id: str,
    mode: Mode,
    parts: Sequence[str] = COINGECKO_PARTS,
) -> Collection:
    """Live: `/simple/price` and `/coins/markets` pages. History: `/market_chart/range` per pair."""
    plan = plan_coingecko(selection, mode, interval, parts)
    landing = _Landing(writer, interval, mode, run_id)
    landing.collection.skipped = plan.skipped
    for reason in plan.skipped:
        log.info("skipped: %s", reason)
    markets_done = False
    for call in plan.calls:
        response: ApiResponse | None = None
        match call:
            case SimplePrice(ids, currencies):
                response = landing.fetch(
                    partial(api.simple_price, ids, currencies),
                    f"ids={','.join(ids)} vs_currencies={','.join(currencies)}",
                )
            case CoinsMarkets(currency, per_page, page):
                if markets_done:
                    continue
                response = landing.fetch(
                    partial(api.coins_markets, currency, per_page, page),
                    f"vs_currency={currency} per_page={per_page} page={page}",
                )
                # The list ended before the planned pages did: later pages would be empty.
                if response is not None and _shorter_than(response, per_page):
                    markets_done = True
            case MarketChartRange(coin, currency, start, end):
                response = landing.fetch(
                    partial(api.market_chart_range, coin, currency, start, end),
                    f"id={coin} vs_currency={currency}",
                )
        if response is not None:
            landing.land(response)
    return landing.finish()


def _shorter_than(response: ApiResponse, per_page: int) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, list) and len(body) < per_page


def run_coingecko(
    connect: Callable[[float], CoinGeckoApi],
    writer: RawZoneWriter,
    selection: CoinGeckoSelection,
    *,
    interval: DataInterval,
    run_id: str,
    now: datetime,
    rate_limit_per_minute: int,
    concurrent_tasks: int = 1,
    history: bool = False,
    parts: Sequence[str] = COINGECKO_PARTS,
) -> Collection:
    """Decide live or history, pace a backfill within the rate limit, collect.

    `connect(min_interval)` makes the client; a history run spaces its calls so that
    `concurrent_tasks` such runs (the size of the API's Airflow pool) stay within the limit.
    """
    mode = choose_mode(interval, now, history=history)
    spacing = history_spacing(rate_limit_per_minute, concurrent_tasks) if mode == "history" else 0
    _log_start("coingecko", parts, interval, mode, spacing)
    return collect_coingecko(
        connect(spacing), writer, selection, interval=interval, run_id=run_id, mode=mode,
        parts=parts,
    )  # fmt: skip


# --- Smart Citizen ------------------------------------------------------------------------------


def collect_smartcitizen(
    api: SmartCitizenApi,
    writer: RawZoneWriter,
    selection: SmartCitizenSelection,
    *,
    interval: DataInterval,
    run_id: str,
    mode: Mode,
    parts: Sequence[str] = SMARTCITIZEN_PARTS,
) -> Collection:
    """Live: each device object and the world map (if enabled). History: per device, the readings
    of each of its sensors (the sensors read from the device object, which is not landed)."""
    plan = plan_smartcitizen(selection, mode, interval, parts)
    landing = _Landing(writer, interval, mode, run_id)
    landing.collection.skipped = plan.skipped
    for reason in plan.skipped:
        log.info("skipped: %s", reason)
    for call in plan.calls:
        match call:
            case Device(device_id):
                response = landing.fetch(partial(api.device, device_id), f"id={device_id}")
                if response is not None:
                    landing.land(response)
            case WorldMap():
                response = landing.fetch(api.world_map, "world map")
                if response is not None:
                    landing.land(response)
            case DeviceReadings():
                _land_device_readings(api, landing, call)
    return landing.finish()


def _land_device_readings(api: SmartCitizenApi, landing: _Landing, call: DeviceReadings) -> None:
    device = landing.fetch(partial(api.device, call.device_id), f"id={call.device_id} (sensors)")
    if device is None:
        return
    try:
        sensors = device_sensors(device.json())
    except ValueError as exc:
        error = ApiError(device.source, device.endpoint, device.status, f"not a device: {exc}")
        log.error("fetch failed, nothing landed: %s [id=%s]", error, call.device_id)
        landing.failures.append(error)
        return
    if not sensors:
        log.info("smartcitizen device %s lists no sensors (never published?)", call.device_id)
    for sensor in sensors:
        response = landing.fetch(
            partial(api.readings, call.device_id, sensor.id, call.rollup, call.start, call.end),
            f"device_id={call.device_id} sensor_id={sensor.id}",
        )
        if response is not None:
            landing.land(response)


def run_smartcitizen(
    connect: Callable[[float], SmartCitizenApi],
    writer: RawZoneWriter,
    selection: SmartCitizenSelection,
    *,
    interval: DataInterval,
    run_id: str,
    now: datetime,
    rate_limit_per_minute: int,
    concurrent_tasks: int = 1,
    history: bool = False,
    parts: Sequence[str] = SMARTCITIZEN_PARTS,
) -> Collection:
    """As `run_coingecko`, for Smart Citizen."""
    mode = choose_mode(interval, now, history=history)
    spacing = history_spacing(rate_limit_per_minute, concurrent_tasks) if mode == "history" else 0
    _log_start("smartcitizen", parts, interval, mode, spacing)
    return collect_smartcitizen(
        connect(spacing), writer, selection, interval=interval, run_id=run_id, mode=mode,
        parts=parts,
    )  # fmt: skip


def _log_start(
    source: str, parts: Sequence[str], interval: DataInterval, mode: Mode, spacing: float
) -> None:
    log.info(
        "%s %s for [%s, %s): %s%s",
        source,
        "+".join(parts),
        interval.start.isoformat(),
        interval.end.isoformat(),
        mode,
        f", one call every {spacing:.1f} s (rate limit)" if spacing else "",
    )
