"""Deterministic raw-zone envelopes of every endpoint, and the silver rows they must become.

A test (or the file-count benchmark) lands `Generator.minute(m)` objects into a lake folder in any
order; `Generator.expected` then holds exactly the distinct source records: per silver key the
value of the newest fetch, the quarantine reasons with their counts, and the number of raw objects.

Per minute m after T0: a live /simple/price (2 coins x 2 currencies), a live /coins/markets, two
live devices (2020 and 2023+ shapes); every 5th minute a world_map; every 4th minute history for
the 4 minutes before (a /market_chart/range of bitcoin/usd and a 1m /readings of one sensor) with
revised values, fetched later, so the backfill wins for the same instants; every 3rd minute one
object that must be quarantined (not JSON, truncated, unknown endpoint, negative price, timestamp
in the future, sensor value outside its physical range).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
COINS = ("bitcoin", "ethereum")
CURRENCIES = ("usd", "eur")
BASE = {"bitcoin": 90_000.0, "ethereum": 3_000.0}
FX = {"usd": 1.0, "eur": 0.9}
DEVICES = {13006: "2020", 15602: "2023+"}
SENSORS = {
    55: ("ºC", "t", "Air Temperature", "SHT31 - Temperature"),
    56: ("%", "h", "Relative Humidity", "SHT31 - Humidity"),
    87: ("ug/m3", "pm_avg_2.5", "PM 2.5", "PMS5003_AVG-PM2.5"),
}
BAD_KINDS = (
    "not_json",
    "truncated",
    "unknown_endpoint",
    "negative_price",
    "future_timestamp",
    "out_of_range",
)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def minute_start(m: int) -> datetime:
    return T0 + timedelta(minutes=m)


def price(coin: str, currency: str, m: int) -> float:
    wave = 1 + 0.01 * math.sin(m / 7) + 0.002 * math.cos(m * 1.3)
    return round(BASE[coin] * FX[currency] * wave, 2)


def sensor_value(device: int, sensor: int, m: int) -> float:
    base = {55: 20.0, 56: 55.0, 87: 12.0}[sensor]
    return round(base + 3 * math.sin((m + device % 17) / 11), 2)


def reading_second(device: int, m: int) -> int:
    return 5 + (device * 7 + m * 13) % 50


@dataclass(frozen=True)
class RawObject:
    key: str
    text: str

    def land(self, lake: Path) -> None:
        path = lake / self.key
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(self.text, encoding="utf-8")
        tmp.replace(path)  # atomic, like a single S3 PUT

    def put(self, s3: Any, bucket: str) -> None:
        """Land it in a bucket, as the collectors do (one PUT)."""
        s3.put_object(
            Bucket=bucket, Key=self.key, Body=self.text.encode(), ContentType="application/json"
        )


@dataclass
class Expected:
    coin_prices: dict[tuple[str, str, int], tuple[float, datetime]] = field(default_factory=dict)
    coin_markets: dict[tuple[str, str, int], tuple[float, datetime]] = field(default_factory=dict)
    sensor_readings: dict[tuple[int, int, int], tuple[float, datetime]] = field(
        default_factory=dict
    )
    devices: set[int] = field(default_factory=set)
    quarantine: Counter[str] = field(default_factory=Counter)
    objects: int = 0

    @staticmethod
    def _newest(
        table: dict[Any, tuple[float, datetime]], key: Any, value: float, at: datetime
    ) -> None:
        if key not in table or table[key][1] < at:
            table[key] = (value, at)

    def values(self, table: str) -> dict[Any, float]:
        return {key: value for key, (value, _) in getattr(self, table).items()}


class Generator:
    def __init__(self) -> None:
        self.expected = Expected()

    def minute(self, m: int) -> list[RawObject]:
        objects = [self._simple_price(m), self._coins_markets(m)]
        objects += [self._device(device, m) for device in DEVICES]
        if m % 5 == 0:
            objects.append(self._world_map(m))
        if m % 4 == 3 and m >= 3:
            objects += [self._market_chart(m), self._readings(m)]
        if m % 3 == 2:
            objects.append(self._bad(m))
        self.expected.objects += len(objects)
        return objects

    # -- envelopes ------------------------------------------------------------------------------

    def _envelope(
        self,
        source: str,
        endpoint: str,
        params: dict[str, str],
        m: int,
        fetched: datetime,
        payload: Any,
        mode: str = "live",
    ) -> RawObject:
        start = minute_start(m)
        head = {
            "source": source,
            "endpoint": endpoint,
            "request": {"url": f"https://api.example/{endpoint}", "params": params},
            "interval_start": iso(start),
            "interval_end": iso(start + timedelta(minutes=1)),
            "fetched_at": iso(fetched),
            "http_status": 200,
            "mode": mode,
            "run_id": f"scheduled__{iso(start)}",
        }
        body = json.dumps(payload, separators=(",", ":"))
        text = json.dumps(head, separators=(",", ":"))[:-1] + f',"payload":{body}}}\n'
        return RawObject(self._key(source, endpoint, start, text), text)

    @staticmethod
    def _key(source: str, endpoint: str, start: datetime, text: str) -> str:
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        return (
            f"raw/{source}/{endpoint}/date={start:%Y-%m-%d}/hour={start:%H}/"
            f"{start:%Y%m%dT%H%M%SZ}_{digest}.json"
        )

    def _simple_price(self, m: int) -> RawObject:
        start = minute_start(m)
        fetched = start + timedelta(seconds=3)
        payload: dict[str, Any] = {}
        for coin in COINS:
            quote: dict[str, Any] = {}
            for cur in CURRENCIES:
                value = price(coin, cur, m)
                quote |= {cur: value, f"{cur}_market_cap": value * 1e6, f"{cur}_24h_vol": 1e9}
                quote[f"{cur}_24h_change"] = round(math.sin(m), 4)
                self.expected._newest(
                    self.expected.coin_prices, (coin, cur, int(start.timestamp())), value, fetched
                )
            quote["last_updated_at"] = int(start.timestamp())
            payload[coin] = quote
        params = {"ids": ",".join(COINS), "vs_currencies": ",".join(CURRENCIES)}
        return self._envelope("coingecko", "simple_price", params, m, fetched, payload)

    def _coins_markets(self, m: int) -> RawObject:
        start = minute_start(m)
        fetched = start + timedelta(seconds=4)
        updated = start + timedelta(seconds=1, milliseconds=250)
        items = []
        for rank, coin in enumerate(COINS, start=1):
            value = price(coin, "usd", m)
            items.append(
                {
                    "id": coin,
                    "symbol": coin[:3],
                    "name": coin.title(),
                    "current_price": value,
                    "market_cap": value * 1e6,
                    "market_cap_rank": rank,
                    "total_volume": 1e9,
                    "high_24h": value * 1.01,
                    "low_24h": value * 0.99,
                    "roi": None,
                    "last_updated": iso(updated),
                }
            )
            key = (coin, "usd", int(updated.timestamp() * 1000))
            self.expected._newest(self.expected.coin_markets, key, value, fetched)
        params = {"vs_currency": "usd", "per_page": "2", "page": "1"}
        return self._envelope("coingecko", "coins_markets", params, m, fetched, items)

    def _device(self, device: int, m: int) -> RawObject:
        start = minute_start(m)
        fetched = start + timedelta(seconds=58)
        reading_at = start + timedelta(seconds=reading_second(device, m))
        shape = DEVICES[device]
        sensors = []
        for sensor, (unit, key, measurement, name) in SENSORS.items():
            value = sensor_value(device, sensor, m)
            self.expected._newest(
                self.expected.sensor_readings,
                (device, sensor, int(start.timestamp())),
                value,
                fetched,
            )
            if shape == "2023+":
                sensors.append(
                    {
                        "id": sensor,
                        "name": name,
                        "unit": unit,
                        "default_key": key,
                        "measurement": {"id": sensor, "name": measurement, "unit": None},
                        "value": value,
                        "prev_value": value,
                        "last_reading_at": iso(reading_at),
                        "tags": [],
                    }
                )
            else:
                sensors.append(
                    {"id": sensor, "name": name, "unit": unit, "measurement_id": sensor,
                     "value": value, "raw_value": value}
                )  # fmt: skip
        location = {"latitude": 41.39, "longitude": 2.17, "city": "Barcelona",
                    "country_code": "ES", "exposure": "outdoor"}  # fmt: skip
        body: dict[str, Any] = {
            "id": device,
            "name": f"kit {device}",
            "state": "has_published",
            "system_tags": ["online", "outdoor"],
            "last_reading_at": iso(reading_at),
        }
        if shape == "2023+":
            body |= {"location": location, "hardware": {"name": "SCK 2.1", "version": "2.1"},
                     "data": {"sensors": sensors}}  # fmt: skip
        else:
            body |= {"hardware_info": {"hw_ver": "2.1"}, "kit": {"name": "SCK 2.1"},
                     "data": {"recorded_at": iso(reading_at), "location": location,
                              "sensors": sensors}}  # fmt: skip
        self.expected.devices.add(device)
        return self._envelope("smartcitizen", "device", {"id": str(device)}, m, fetched, body)

    def _world_map(self, m: int) -> RawObject:
        start = minute_start(m)
        fetched = start + timedelta(seconds=30)
        entries = [
            {"id": device, "name": f"kit {device}", "state": "has_published",
             "system_tags": ["online"], "last_reading_at": iso(start),
             "location": {"city": "Barcelona", "latitude": 41.39, "longitude": 2.17}}
            for device in (*DEVICES, 1616)
        ]  # fmt: skip
        self.expected.devices.update((*DEVICES, 1616))
        return self._envelope("smartcitizen", "world_map", {}, m, fetched, entries)

    def _market_chart(self, m: int) -> RawObject:
        fetched = minute_start(m) + timedelta(seconds=40)
        prices, caps, volumes = [], [], []
        for past in range(m - 3, m + 1):
            start = minute_start(past)
            value = round(price("bitcoin", "usd", past) * 1.001, 2)  # the revised figure
            ms = int(start.timestamp() * 1000)
            prices.append([ms, value])
            caps.append([ms, value * 1e6])
            volumes.append([ms, 2e9])
            self.expected._newest(
                self.expected.coin_prices,
                ("bitcoin", "usd", int(start.timestamp())),
                value,
                fetched,
            )
        params = {
            "id": "bitcoin",
            "vs_currency": "usd",
            "from": str(int(minute_start(m - 3).timestamp())),
            "to": str(int(minute_start(m + 1).timestamp())),
        }
        payload = {"prices": prices, "market_caps": caps, "total_volumes": volumes}
        return self._envelope(
            "coingecko", "market_chart_range", params, m, fetched, payload, mode="history"
        )

    def _readings(self, m: int) -> RawObject:
        device, sensor = 13006, 55
        fetched = minute_start(m) + timedelta(seconds=59, milliseconds=500)
        points = []
        for past in range(m, m - 4, -1):  # newest first, as the API
            start = minute_start(past)
            value = round(sensor_value(device, sensor, past) + 0.5, 2)
            at = start + timedelta(seconds=reading_second(device, past))
            points.append([at.strftime("%Y-%m-%dT%H:%M:%SZ"), value])
            self.expected._newest(
                self.expected.sensor_readings,
                (device, sensor, int(start.timestamp())),
                value,
                fetched,
            )
        params = {"device_id": str(device), "sensor_id": str(sensor), "rollup": "1m"}
        payload = {"device_id": device, "sensor_id": sensor, "rollup": "1m", "readings": points}
        return self._envelope(
            "smartcitizen", "readings", params, m, fetched, payload, mode="history"
        )

    def _bad(self, m: int) -> RawObject:
        kind = BAD_KINDS[(m // 3) % len(BAD_KINDS)]
        start = minute_start(m)
        fetched = start + timedelta(seconds=10)
        self.expected.quarantine[kind] += 1
        if kind == "not_json":
            text = "<html>rate limited</html>\n"
            return RawObject(self._key("coingecko", "simple_price", start, text), text)
        if kind == "truncated":
            text = '{"source":"coingecko","endpoint":"simple_price","payload":{"bitc\n'
            return RawObject(self._key("coingecko", "simple_price", start, text), text)
        if kind == "unknown_endpoint":
            return self._envelope("coingecko", "ping", {}, m, fetched, {"gecko_says": "hi"})
        if kind == "negative_price":
            payload = {"badcoin": {"usd": -5.0, "last_updated_at": int(start.timestamp())}}
            return self._envelope("coingecko", "simple_price", {}, m, fetched, payload)
        if kind == "future_timestamp":
            item = {"id": "bitcoin", "current_price": 1.0,
                    "last_updated": iso(fetched + timedelta(days=1))}  # fmt: skip
            return self._envelope(
                "coingecko", "coins_markets", {"vs_currency": "usd"}, m, fetched, [item]
            )
        body = {
            "id": 99,
            "name": "broken kit",
            "last_reading_at": iso(start),
            "data": {
                "recorded_at": iso(start),
                "sensors": [{"id": 55, "unit": "ºC", "value": 500.0, "name": "T"}],
            },
        }
        self.expected.devices.add(99)
        return self._envelope("smartcitizen", "device", {"id": "99"}, m, fetched, body)
