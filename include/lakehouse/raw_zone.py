"""The raw zone: immutable one-line JSON envelopes, one object per API response.

Keys carry the data interval and a hash of the request and payload, so a retry that fetched the same
bytes lands on the same key, and the write is a conditional PUT that then does nothing. An object
the lake cannot take now is kept in the spool (`lakehouse.spool`) and lands, unchanged, later.
Each object a writer creates is numbered in the landed log (`lakehouse.landed_log`), which says
in which order objects landed, as keys cannot.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from lakehouse.config import LakeSettings
from lakehouse.landed_log import LandedLog
from lakehouse.raw_zone_claims import BlockClaims
from lakehouse.s3_objects import S3Objects, put_if_absent
from lakehouse.spool import Drained, Spool, lake_unavailable

log = logging.getLogger(__name__)

RAW_PREFIX = "raw"
Mode = Literal["live", "history"]


@dataclass(frozen=True)
class ApiResponse:
    """One successful API response, as it came; `url` and `params` carry no secret."""

    source: str
    endpoint: str
    url: str
    params: dict[str, str]
    status: int
    body: bytes = field(repr=False)
    fetched_at: datetime

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class DataInterval:
    """The Airflow data interval [start, end) a fetch belongs to, in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("data interval bounds must be timezone-aware")
        if self.end < self.start:
            raise ValueError(f"data interval ends before it starts: {self.start} > {self.end}")


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Envelope:
    """The raw-zone record of one response, per the contract in DESIGN.md."""

    response: ApiResponse
    interval: DataInterval
    mode: Mode
    run_id: str

    def payload(self) -> Any:
        return self.response.json()

    def payload_text(self) -> str:
        """The body as the API sent it, only with whitespace between tokens removed."""
        return minify_json(self.response.body.decode("utf-8"))

    def content_hash(self) -> str:
        """Short hash of what was asked and what came back; not of when, so retries agree."""
        digest = hashlib.sha256()
        digest.update(self.response.endpoint.encode())
        digest.update(json.dumps(self.response.params, sort_keys=True).encode())
        digest.update(self.response.body)
        return digest.hexdigest()[:16]

    def to_json_line(self) -> str:
        record = {
            "source": self.response.source,
            "endpoint": self.response.endpoint,
            "request": {"url": self.response.url, "params": self.response.params},
            "interval_start": iso_utc(self.interval.start),
            "interval_end": iso_utc(self.interval.end),
            "fetched_at": iso_utc(self.response.fetched_at),
            "http_status": self.response.status,
            "mode": self.mode,
            "run_id": self.run_id,
        }
        head = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
        return f'{head[:-1]},"payload":{self.payload_text()}}}\n'


def minify_json(text: str) -> str:
    """Drop whitespace outside strings: every number, key and escape stays as it was written."""
    out: list[str] = []
    in_string = escaped = False
    for char in text:
        if in_string:
            out.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
            out.append(char)
        elif char not in " \t\r\n":
            out.append(char)
    return "".join(out)


def object_key(envelope: Envelope) -> str:
    """raw/<source>/<endpoint>/date=YYYY-MM-DD/hour=HH/<interval start>_<hash>.json"""
    start = envelope.interval.start.astimezone(UTC)
    return (
        f"{RAW_PREFIX}/{envelope.response.source}/{envelope.response.endpoint}/"
        f"date={start:%Y-%m-%d}/hour={start:%H}/"
        f"{start:%Y%m%dT%H%M%SZ}_{envelope.content_hash()}.json"
    )


@dataclass(frozen=True)
class PutResult:
    key: str
    created: bool
    spooled: bool = False
    """Kept in the spool: the lake was unavailable; a later run lands it under `key`."""


class RawZoneWriter:
    """Writes envelopes with one conditional PUT each: an existing key is left as it is.

    With a spool, an object the lake cannot take is kept there instead of being lost: when the
    lake is unavailable the write returns `spooled`; when the PUT failed for another reason (access
    denied, no such bucket) the object is kept and the error raised, naming the misconfiguration.

    With a landed log, every object whose PUT this writer's call created (and only those: a key
    that was already there was logged by its creator) is appended to it. The object has landed by
    then, so a failed append fails nothing: the reconciliation (`lakehouse.landed_log.reconcile`)
    logs what no writer did. Without one (tests, benchmarks) the reconciliation logs everything.
    """

    def __init__(
        self,
        s3: S3Objects,
        bucket: str,
        spool: Spool | None = None,
        landed: LandedLog | None = None,
    ) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.spool = spool
        self.landed = landed
        self.claims = BlockClaims(s3, bucket)
        """Who fetches which block of history (`lakehouse.raw_zone_claims`)."""

    def write(self, envelope: Envelope) -> PutResult:
        key = object_key(envelope)
        body = envelope.to_json_line().encode()
        try:
            created = self._put(key, body)
        except Exception as exc:
            if self.spool is None:
                raise
            self.spool.keep(key, body)
            if not lake_unavailable(exc):
                raise
            log.warning("the lake is unavailable (%s): kept %s in %s", exc, key, self.spool.root)
            return PutResult(key=key, created=False, spooled=True)
        return PutResult(key=key, created=created)

    def land_spooled(self) -> Drained:
        """Land what earlier runs kept in the spool (nothing without a spool)."""
        if self.spool is None:
            return Drained()
        drained = self.spool.drain(self._put)
        if drained.landed:
            log.info(
                "landed %d spooled objects: %s", len(drained.landed), ", ".join(drained.landed)
            )
        return drained

    def _put(self, key: str, body: bytes) -> bool:
        created = put_if_absent(self.s3, self.bucket, key, body)
        if created and self.landed is not None:
            try:
                self.landed.append(key)
            except (BotoCoreError, ClientError) as exc:
                log.warning("landed %s but could not log it (%s): reconciliation will", key, exc)
        return created


def s3_client(lake: LakeSettings) -> Any:
    """A boto3 S3 client for the lake (outside Airflow; inside, the `lake_s3` Connection's)."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=lake.endpoint_url or None,
        aws_access_key_id=lake.access_key or None,
        aws_secret_access_key=lake.secret_key or None,
        region_name=lake.region,
    )
