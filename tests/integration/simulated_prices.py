"""Raw /simple/price objects as the collectors land them, answered by the API simulator."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from lakehouse.raw_zone import ApiResponse, DataInterval, Envelope
from lakehouse.simulator.app import create_app


def simple_price_envelope(
    t0: datetime,
    minute: int,
    coins: Sequence[str],
    currencies: Sequence[str],
    include: Sequence[str] = ("last_updated_at",),
) -> Envelope:
    """The live envelope of the minute before `t0 + minute`, fetched 3 s into that minute;
    `include` names the answer's optional fields (`include_<name>=true`)."""
    fetched_at = t0 + timedelta(minutes=minute, seconds=3)
    params = {
        "ids": ",".join(coins),
        "vs_currencies": ",".join(currencies),
        **{f"include_{name}": "true" for name in include},
    }
    client = TestClient(create_app(clock=lambda: fetched_at))
    body = client.get("/api/v3/simple/price", params=params).content
    response = ApiResponse(
        "coingecko", "simple_price", "http://sim/api/v3/simple/price", params, 200, body, fetched_at
    )
    start = t0 + timedelta(minutes=minute - 1)
    return Envelope(response, DataInterval(start, start + timedelta(minutes=1)), "live", "t")
