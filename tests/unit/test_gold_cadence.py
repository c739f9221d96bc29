"""When the driver refreshes gold: silver changed, the interval passed, and no micro-batch is
running unless twice the interval passed."""

from __future__ import annotations

import time

import pytest

from lakehouse.spark.gold_refresh import GoldRefresh
from lakehouse.spark.options import StreamOptions
from lakehouse.spark.queries import Runtime


@pytest.fixture
def cadence() -> GoldRefresh:
    return GoldRefresh(Runtime(StreamOptions(lake_uri="/lake", gold_every_seconds=20.0)), [])


def waited(refresh: GoldRefresh, seconds: float) -> GoldRefresh:
    refresh.last_started = time.monotonic() - seconds
    return refresh


def test_a_new_driver_refreshes_at_once_whatever_runs(cadence: GoldRefresh) -> None:
    assert cadence.due(batch_running=False)
    assert cadence.due(batch_running=True)  # the first refresh is long overdue


def test_a_refresh_waits_for_the_interval(cadence: GoldRefresh) -> None:
    assert not waited(cadence, 19.0).due(batch_running=False)
    assert waited(cadence, 21.0).due(batch_running=False)


def test_a_running_micro_batch_goes_first_until_twice_the_interval(cadence: GoldRefresh) -> None:
    assert not waited(cadence, 39.0).due(batch_running=True)
    assert waited(cadence, 41.0).due(batch_running=True)


def test_no_refresh_without_a_change_to_silver(cadence: GoldRefresh) -> None:
    cadence.runtime.silver_changed.clear()
    assert not waited(cadence, 600.0).due(batch_running=False)
    cadence.runtime.silver_changed.set()  # a micro-batch changed silver
    assert waited(cadence, 600.0).due(batch_running=False)
