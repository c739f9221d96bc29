"""The key ranges a MERGE is bounded by: exact instants, whatever the driver's time zone."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from lakehouse.spark.sinks import key_ranges


@pytest.fixture
def berlin() -> Iterator[None]:
    """The Python process in a zone whose clocks went back at 2026-10-25 01:00 UTC."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Berlin"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


def test_bounds_in_microseconds_become_utc_instants_to_the_microsecond(berlin: None) -> None:
    # 00:30 and 01:30 UTC read 02:30 in Berlin both: a naive datetime could not tell them apart.
    low = datetime(2026, 10, 25, 0, 30, 0, 1, tzinfo=UTC)
    high = datetime(2026, 10, 25, 1, 30, 59, 999999, tzinfo=UTC)
    micros = {"ts": (to_micros(low), to_micros(high))}
    assert key_ranges(micros) == {"ts": (low, high)}


def test_a_key_with_no_bound_is_left_out() -> None:
    assert key_ranges({"a": (None, None), "b": (0, 60_000_000)}) == {
        "b": (datetime(1970, 1, 1, tzinfo=UTC), datetime(1970, 1, 1, 0, 1, tzinfo=UTC))
    }


def to_micros(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
