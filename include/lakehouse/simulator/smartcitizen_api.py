"""The simulated Smart Citizen API v0, under /v0: the endpoints the collectors use.

Paths, parameters, status codes and error bodies are the real API's (see the 404 sample); device
objects come from `device_objects` and readings from `sensors`, so a device's latest reading and
its `/readings` agree every minute (`rollup`, `from`, `to`, `function` as documented: see
`sensors.readings`). Beyond about 150 calls a minute per IP, a 429 (`rate_limit`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request, Response

from lakehouse.simulator import device_objects, sensors
from lakehouse.simulator.fault_api import Built, ErrorBodies, answer, clock_of
from lakehouse.simulator.wire import iso_time, json_response

PREFIX = "/v0"
API = "smartcitizen"


def _error_body(error_id: str, message: str) -> dict[str, Any]:
    return {"id": error_id, "message": message, "url": None, "errors": None}


ERRORS = ErrorBodies(
    rate_limited=_error_body("too_many_requests", "Rate limit exceeded"),
    internal_error=_error_body("internal_server_error", "Something went wrong"),
    api=API,
)

router = APIRouter(prefix=PREFIX)


def _error(status: int, error_id: str, message: str) -> Response:
    return json_response(_error_body(error_id, message), status)


@router.get("/devices/world_map")
async def world_map(request: Request) -> Response:
    clock = clock_of(request)
    return await answer(request, ERRORS, lambda: (device_objects.world_map(clock()), 200))


@router.get("/devices/{device_id}")
async def device(request: Request, device_id: str) -> Response:
    clock = clock_of(request)

    def build() -> Built:
        known = _device_id(device_id)
        if known is None:
            return _not_found(device_id)
        return device_objects.device_object(known, clock()), 200

    return await answer(request, ERRORS, build)


@router.get("/devices/{device_id}/readings")
async def readings(
    request: Request,
    device_id: str,
    sensor_id: str | None = None,
    sensor_key: str | None = None,
    rollup: str | None = None,
    to: str | None = None,
    function: str = "avg",
) -> Response:
    clock = clock_of(request)
    start_text = request.query_params.get("from")

    def build() -> Built:
        known = _device_id(device_id)
        if known is None:
            return _not_found(device_id)
        if not rollup:
            return _error(
                400, "parameter_missing", "param is missing or the value is empty: rollup"
            )
        sensor = _sensor_of(known, sensor_id, sensor_key)
        if sensor is None:
            return _error(
                400,
                "parameter_missing",
                "param is missing or the value is empty: sensor_id or sensor_key",
            )
        now = clock()
        try:
            end = iso_time(to) if to else now
            begin = iso_time(start_text) if start_text else end - timedelta(days=1)
            body = sensors.readings(known, sensor, rollup, begin, end, now, function=function)
        except ValueError as exc:
            return _error(400, "bad_request", str(exc))
        return body, 200

    return await answer(request, ERRORS, build)


def _sensor_of(device_id: int, sensor_id: str | None, sensor_key: str | None) -> int | None:
    """The sensor asked for: an id wins over a key; an unknown key is -1 (no readings, no error)."""
    if sensor_id and sensor_id.isdigit():
        return int(sensor_id)
    if sensor_key:
        sim = sensors.DEVICES[device_id]
        keys = {sim.sensor(s).default_key: s for s in sim.sensors}
        return keys.get(sensor_key, -1)
    return None


def _not_found(device_id: str) -> Response:
    return _error(
        404,
        "record_not_found",
        f"Couldn't find Device with 'id'={device_id} [WHERE (devices.workflow_state = 'active')]",
    )


def _device_id(text: str) -> int | None:
    if not text.isdigit() or int(text) not in sensors.DEVICES:
        return None
    return int(text)
