"""The lake's tables by name: one place that maps `layer.name` to a location in the bucket."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TableRef:
    layer: str
    name: str

    @property
    def qualified_name(self) -> str:
        return f"{self.layer}.{self.name}"

    @property
    def path(self) -> str:
        """Location inside the lake bucket."""
        return f"{self.layer}/{self.name}"


BRONZE_RAW_EVENTS = TableRef("bronze", "raw_events")

SILVER_COIN_PRICES = TableRef("silver", "coin_prices")
SILVER_COIN_MARKETS = TableRef("silver", "coin_markets")
SILVER_SENSOR_READINGS = TableRef("silver", "sensor_readings")
SILVER_DEVICES = TableRef("silver", "devices")
SILVER_QUARANTINE = TableRef("silver", "quarantine")

GOLD_COIN_OHLC = TableRef("gold", "coin_ohlc")
GOLD_SENSOR_HOURLY = TableRef("gold", "sensor_hourly")
GOLD_PRICE_ANOMALIES = TableRef("gold", "price_anomalies")
GOLD_SENSOR_ANOMALIES = TableRef("gold", "sensor_anomalies")

OPS_STREAM_PROGRESS = TableRef("ops", "stream_progress")
"""One row per micro-batch of each streaming query: batch id, input rows, durations, lag."""

SILVER_TABLES = (
    SILVER_COIN_PRICES,
    SILVER_COIN_MARKETS,
    SILVER_SENSOR_READINGS,
    SILVER_DEVICES,
    SILVER_QUARANTINE,
)
GOLD_TABLES = (GOLD_COIN_OHLC, GOLD_SENSOR_HOURLY, GOLD_PRICE_ANOMALIES, GOLD_SENSOR_ANOMALIES)
ALL_TABLES = (BRONZE_RAW_EVENTS, *SILVER_TABLES, *GOLD_TABLES, OPS_STREAM_PROGRESS)

CHECKPOINTS_PATH = "_checkpoints"
LEASES_PATH = "_leases"
CONTROL_PATH = "_control"
