"""What the simulated APIs share on the wire: compact JSON out, ISO times in.

One writer for every answer, faulted or not, so both APIs encode alike (compact, "ºC" as is, like
the recorded device bodies); one reader for the ISO times both APIs take in their queries.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fastapi import Response


def json_text(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def json_response(body: Any, status: int = 200) -> Response:
    return Response(json_text(body), status, media_type="application/json")


def iso_time(text: str) -> datetime:
    """A request's ISO time; naive means UTC, as both APIs read it."""
    moment = datetime.fromisoformat(text.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
