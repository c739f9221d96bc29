"""Scheduled OPTIMIZE and VACUUM: a due round runs one table per micro-batch, in order."""

from __future__ import annotations

from typing import Any

import pytest

from lakehouse import tables
from lakehouse.spark import maintenance, sinks
from lakehouse.spark.maintenance import Maintenance
from lakehouse.spark.options import StreamOptions


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_due_round_runs_one_table_after_each_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    ran: list[tuple[str, str]] = []
    monkeypatch.setattr(maintenance.time, "monotonic", clock)
    monkeypatch.setattr(sinks, "optimize", lambda _spark, loc: ran.append(("OPTIMIZE", loc)))
    monkeypatch.setattr(
        sinks, "vacuum", lambda _spark, loc, hours: ran.append((f"VACUUM {hours:g}", loc))
    )
    specs = (tables.SILVER_COIN_PRICES, tables.GOLD_COIN_OHLC, tables.BRONZE_RAW_EVENTS)
    options = StreamOptions(
        lake_uri="s3a://lake", optimize_minutes=1, vacuum_minutes=2, vacuum_retain_hours=48
    )
    upkeep = Maintenance(specs, options)
    spark: Any = None

    upkeep.run_if_due(spark)
    assert ran == []  # nothing is due before the first interval

    clock.now += 60
    for _ in range(3):
        upkeep.run_if_due(spark)
    assert ran == [("OPTIMIZE", options.table(spec)) for spec in specs]

    ran.clear()
    clock.now += 60  # both due: the OPTIMIZE round, then the VACUUM round, a table a batch
    upkeep.run_if_due(spark)
    assert ran == [("OPTIMIZE", options.table(specs[0]))]
    for _ in range(10):
        upkeep.run_if_due(spark)
    assert ran == [("OPTIMIZE", options.table(spec)) for spec in specs] + [
        ("VACUUM 48", options.table(spec)) for spec in specs
    ]


def test_a_round_due_again_before_it_ended_is_not_queued_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    monkeypatch.setattr(maintenance.time, "monotonic", clock)
    monkeypatch.setattr(sinks, "optimize", lambda _spark, _loc: None)
    options = StreamOptions(lake_uri="s3a://lake", optimize_minutes=1, vacuum_minutes=0)
    upkeep_specs = (tables.SILVER_COIN_PRICES, tables.GOLD_COIN_OHLC)
    upkeep = Maintenance(upkeep_specs, options)
    prices, bars = (("OPTIMIZE", options.table(s)) for s in upkeep_specs)
    clock.now += 60
    upkeep.run_if_due(None)  # type: ignore[arg-type]
    assert list(upkeep.pending) == [bars]
    clock.now += 60  # due again: prices is queued behind bars, bars is not queued twice
    upkeep.run_if_due(None)  # type: ignore[arg-type]
    assert list(upkeep.pending) == [prices]
