"""A minimal third source, defined outside the lakehouse package: proof that a source is one
folder (here one module) plus one registry entry (`LAKEHOUSE_EXTRA_SOURCES=echo_source:SOURCE`).

Its "API" answers locally with the words it is asked for, so the test needs no server.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lakehouse.collect import Landing
from lakehouse.raw_zone import ApiResponse, DataInterval, Mode, RawZoneWriter
from lakehouse.sources.base import Collection, Connection, Source, SourceSettings
from lakehouse.sources.planning import check_parts

PARTS = ("words",)


@dataclass(frozen=True)
class EchoSettings:
    words: tuple[str, ...] = ("hello", "world")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> EchoSettings:
        raw = env.get("ECHO_WORDS")
        return cls(tuple(raw.split(","))) if raw else cls()

    def connection(self) -> Connection:
        return Connection(host="echo://local")

    def default_params(self) -> dict[str, Any]:
        return {"words": list(self.words)}


class EchoClient:
    def __init__(self, host: str) -> None:
        self.host = host

    def echo(self, word: str) -> ApiResponse:
        return ApiResponse(
            source="echo",
            endpoint="echo",
            url=f"{self.host}/echo",
            params={"word": word},
            status=200,
            body=json.dumps({"echo": word}).encode(),
            fetched_at=datetime.now(UTC),
        )


def selection(params: Mapping[str, Any]) -> tuple[str, ...]:
    words = params.get("words")
    if not isinstance(words, list) or not words or not all(isinstance(w, str) for w in words):
        raise ValueError(f"words: give a list of words, got {words!r}")
    return tuple(words)


def collect(
    client: EchoClient,
    writer: RawZoneWriter,
    words: tuple[str, ...],
    *,
    interval: DataInterval,
    run_id: str,
    mode: Mode,
    parts: Sequence[str],
    now: datetime | None = None,
) -> Collection:
    check_parts(parts, PARTS)
    landing = Landing(writer, interval, mode, run_id)
    for word in words:
        landing.fetch_and_land(lambda word=word: client.echo(word), f"word={word}")
    return landing.finish()


def params(settings: SourceSettings) -> dict[str, dict[str, Any]]:
    return {
        "words": {
            "default": settings.default_params()["words"],
            "type": "array",
            "minItems": 1,
            "items": {"type": "string"},
            "description": "words to echo",
        }
    }


SOURCE: Source[tuple[str, ...], EchoClient] = Source(
    name="echo",
    title="Echo",
    conn_id="echo_api",
    pool="echo_api",
    default_pool_slots=1,
    parts=PARTS,
    simulator_path="/echo",
    settings_from_env=EchoSettings.from_env,
    params=params,
    selection=selection,
    client=lambda conn, _limiter: EchoClient(conn.host),
    default_rate_limit=lambda _conn: 60,
    collect=collect,
    tags=("echo",),
)
