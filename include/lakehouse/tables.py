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

ALL_TABLES = (BRONZE_RAW_EVENTS, SILVER_COIN_PRICES)
CHECKPOINTS_PATH = "_checkpoints"
