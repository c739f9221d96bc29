"""A readings body for another device or sensor than was asked is landed as it came (the stream
quarantines it) and named in the task log."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from memory_s3 import MemoryS3

from lakehouse.raw_zone import ApiResponse, DataInterval, RawZoneWriter
from lakehouse.sources.smartcitizen.collect import collect_smartcitizen
from lakehouse.sources.smartcitizen.planner import SmartCitizenSelection

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
PAST = DataInterval(NOW - timedelta(hours=3), NOW - timedelta(hours=3) + timedelta(minutes=1))


class AnswersForAnotherDevice:
    def _answer(self, endpoint: str, params: dict[str, str], body: object) -> ApiResponse:
        data = json.dumps(body).encode()
        return ApiResponse("smartcitizen", endpoint, "http://sc", params, 200, data, NOW)

    def device(self, device_id: int) -> ApiResponse:
        body = {"id": device_id, "data": {"sensors": [{"id": 7, "default_key": "t"}]}}
        return self._answer("device", {"id": str(device_id)}, body)

    def world_map(self) -> ApiResponse:
        raise AssertionError("not asked for")

    def readings(
        self, device_id: int, sensor_id: int, rollup: str, start: datetime, end: datetime
    ) -> ApiResponse:
        body = {"device_id": 10682, "sensor_id": sensor_id, "rollup": rollup, "readings": []}
        params = {"device_id": str(device_id), "sensor_id": str(sensor_id), "rollup": rollup}
        return self._answer("readings", params, body)


def test_readings_for_another_device_are_landed_and_named(
    caplog: pytest.LogCaptureFixture,
) -> None:
    s3 = MemoryS3()
    with caplog.at_level(logging.WARNING):
        collect_smartcitizen(
            AnswersForAnotherDevice(), RawZoneWriter(s3, "lake"),
            SmartCitizenSelection((1616,), False),
            interval=PAST, run_id="r", mode="history", parts=("devices",), now=NOW,
        )  # fmt: skip

    assert [e["payload"]["device_id"] for e in s3.envelopes("raw/smartcitizen/readings/")] == [
        10682
    ]
    assert "asked device 1616 sensor 7, answered device 10682 sensor 7" in caplog.text
