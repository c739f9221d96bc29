"""Fault handling shared by the simulated APIs: injecting a fault into an answer, and its controls.

Every API route builds its answer through `answer`, so a fault kind behaves the same on every API
and only the error bodies differ (each API passes its own `ErrorBodies`). The fault kinds and how
one is chosen per request are in `faults`.

The controls live under /_simulator (the real APIs have no such path):
`GET /_simulator/faults` shows the fault state; `POST /_simulator/faults` with
`{"queue": ["429:30", "500"], "probabilities": {"slow": 0.1}, "seed": 7, "reset": true}` changes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from lakehouse.simulator.faults import HEADER, QUERY, Fault, FaultInjector, drift
from lakehouse.simulator.rate_limit import RateLimiter
from lakehouse.simulator.wire import json_response, json_text

ADMIN_PREFIX = "/_simulator"
HTML_ERROR_PAGE = (
    '<!DOCTYPE html>\n<html lang="en-US"><head><title>Just a moment...</title></head>\n'
    "<body><h1>429 Too Many Requests</h1><p>You are being rate limited.</p></body></html>\n"
)

Built = tuple[Any, int] | Response
"""What a route builds: a JSON body and its status (faults may alter it), or a final response."""


@dataclass(frozen=True)
class ErrorBodies:
    """An API's own bodies for the errors a fault stands in for, so its clients parse them, and
    the name of its rate limiter (`app.state.limiters`), which counts per key or else per IP."""

    rate_limited: Any
    internal_error: Any
    api: str = ""
    key_names: tuple[str, ...] = ()
    """Headers or query parameters that carry the API key the limit is counted against."""


def injector_of(request: Request) -> FaultInjector:
    """The app's injector: routers are shared by every app, the injector is each app's own."""
    injector: FaultInjector = request.app.state.faults
    return injector


def clock_of(request: Request) -> Callable[[], datetime]:
    """The app's clock; called when the body is built, after any `slow` delay, as a server would."""
    clock: Callable[[], datetime] = request.app.state.clock
    return clock


def rate_limited(errors: ErrorBodies, retry_after: int) -> Response:
    response = json_response(errors.rate_limited, 429)
    response.headers["Retry-After"] = str(retry_after)
    return response


def _over_limit(request: Request, errors: ErrorBodies) -> Response | None:
    """The 429 of a call beyond the API's per-minute limit (see `rate_limit`), else None."""
    limiters: dict[str, RateLimiter] = getattr(request.app.state, "limiters", {})
    limiter = limiters.get(errors.api)
    if limiter is None:
        return None
    keys = (request.headers.get(n) or request.query_params.get(n) for n in errors.key_names)
    caller = next((f"key:{key}" for key in keys if key), None)
    if caller is None:
        caller = f"ip:{request.client.host if request.client else ''}"
    wait = limiter.admit(caller, clock_of(request)().timestamp())
    return None if wait is None else rate_limited(errors, wait)


def _fault_response(errors: ErrorBodies, fault: Fault, injector: FaultInjector) -> Response | None:
    """The response that replaces the answer, for the faults that replace it."""
    if fault.kind == "429":
        return rate_limited(errors, injector.retry_after_of(fault))
    if fault.kind == "500":
        return json_response(errors.internal_error, 500)
    if fault.kind == "html":
        return Response(HTML_ERROR_PAGE, 200, media_type="text/html")
    return None


async def answer(request: Request, errors: ErrorBodies, build: Callable[[], Built]) -> Response:
    """Builds the answer of one API request: a 429 beyond the API's limit, else the answer with
    the fault chosen for it (if any)."""
    refused = _over_limit(request, errors)
    if refused is not None:
        return refused
    injector = injector_of(request)
    requested = request.headers.get(HEADER) or request.query_params.get(QUERY)
    try:
        fault = injector.choose(requested)
    except ValueError as exc:
        return json_response({"error": f"simulator: {exc}"}, 400)
    if fault is not None:
        failed = _fault_response(errors, fault, injector)
        if failed is not None:
            return failed
        if fault.kind == "slow":
            await asyncio.sleep(injector.delay_of(fault))
    built = build()
    if isinstance(built, Response):
        return built
    body, status = built
    if fault is not None and status == 200:
        if fault.kind == "drift":
            body = drift(body, fault.arg)
        elif fault.kind == "malformed":
            text = json_text(body)
            return Response(text[: max(1, len(text) // 2)], 200, media_type="application/json")
    return json_response(body, status)


router = APIRouter(prefix=ADMIN_PREFIX)


@router.get("/faults")
def fault_state(request: Request) -> Response:
    return json_response(injector_of(request).state())


@router.post("/faults")
async def set_faults(request: Request) -> Response:
    injector = injector_of(request)
    try:
        change = await request.json()
        if not isinstance(change, dict):
            raise ValueError("send a JSON object")
        if change.get("reset"):
            injector.reset()
        if "probabilities" in change or "seed" in change:
            injector.configure(change.get("probabilities", injector.probabilities),
                               change.get("seed"))  # fmt: skip
        injector.queue(change.get("queue", []))
    except ValueError as exc:
        return json_response({"error": str(exc)}, 400)
    return json_response(injector.state())
