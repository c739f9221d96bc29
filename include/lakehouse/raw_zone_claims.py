"""Blocks of history, and the claims that make one run fetch each block once.

An API serves history at its own grain (CoinGecko: 5-minutely for the last day, hourly beyond), so
a backfill fetches the whole *block* the API answers at that grain (the UTC hour, the UTC day) once
per series, and lands it as one raw object whose envelope interval is the block. Airflow runs a
backfill's minute runs up to three at a time, so the runs of one block must agree who fetches it.

The claim of a block is a small JSON object outside `raw/` (the stream reads every `.json` under
`raw/`): `_claims/<source>/<endpoint>/date=YYYY-MM-DD/<block start>_<block end>_<series>.json`.

- Take: a conditional PUT (`If-None-Match: *`, atomic in S3/MinIO) of `{"state": "fetching"}`
  with the run id. The one run whose PUT succeeds fetches; a 412 means another run holds it.
- Landed: the holder overwrites its claim with `{"state": "landed", "keys": [...]}` after the raw
  object is written (the raw write stays one conditional PUT: the claim never replaces it).
- Covered: a run that finds the claim `landed`, or `fetching` by another run less than
  `STALE_AFTER` ago, lands nothing and logs the object (or run) that covers it.
- A failed fetch deletes its claim, so the next run of the block tries again (and fails loudly if
  the API is still down). A claim left `fetching` by a killed worker is taken over once stale.
  Two runs taking over the same stale claim both fetch: the worst case is one extra call, and equal
  bytes still land on one key.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lakehouse.s3_objects import S3Objects, get_if_present, put_if_absent

CLAIMS_PREFIX = "_claims"
STALE_AFTER = timedelta(minutes=10)
"""A `fetching` claim older than this was left by a run that died: another run takes it over.
Longer than a block's fetch with retries (seconds) and Airflow's retry delay of a collect task."""


@dataclass(frozen=True)
class Block:
    """The stretch of history one request serves whole, for one series (e.g. a coin/currency).

    `closed`: the block ended before the run started, so the API's answer for it is final and
    every run inside it can share one object. An open block (its end is still to come) is fetched
    up to now by each run that needs it, without a claim.
    """

    source: str
    endpoint: str
    series: str
    start: datetime
    end: datetime
    closed: bool = True

    def contains(self, start: datetime, end: datetime) -> bool:
        return self.start <= start and end <= self.end


@dataclass(frozen=True)
class Claim:
    """Who holds a block: the run, since when, and the raw keys once landed."""

    run_id: str
    claimed_at: datetime
    keys: tuple[str, ...] = ()

    @property
    def landed(self) -> bool:
        return bool(self.keys)

    def to_json(self) -> bytes:
        record = {
            "state": "landed" if self.landed else "fetching",
            "run_id": self.run_id,
            "claimed_at": self.claimed_at.astimezone(UTC).isoformat(),
            "keys": list(self.keys),
        }
        return json.dumps(record, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, body: bytes) -> Claim:
        record = json.loads(body)
        return cls(
            run_id=str(record["run_id"]),
            claimed_at=datetime.fromisoformat(record["claimed_at"]),
            keys=tuple(record.get("keys") or ()),
        )


def floor_to(moment: datetime, step: timedelta) -> datetime:
    """The start of the UTC-aligned step (minute, hour, day) that holds `moment`."""
    seconds = int(moment.astimezone(UTC).timestamp())
    return datetime.fromtimestamp(seconds - seconds % int(step.total_seconds()), UTC)


def blocks_of(
    source: str,
    endpoint: str,
    series: str,
    span: tuple[datetime, datetime],
    now: datetime,
    size_at: Callable[[datetime], timedelta],
    settle: timedelta,
) -> Iterator[Block]:
    """The UTC-aligned blocks (of `size_at(start)`) that hold `span`, in order.

    A block is closed once it ended `settle` before now (the API's last points are final by
    then); an open block ends at the current minute (or at the span's end, if later).
    """
    start, end = span
    while start < end:
        size = size_at(start)
        block_start = floor_to(start, size)
        block_end = block_start + size
        closed = block_end + settle <= now
        stop = (
            block_end if closed else min(max(floor_to(now, timedelta(minutes=1)), end), block_end)
        )
        yield Block(source, endpoint, series, block_start, stop, closed)
        start = block_end


def claim_key(block: Block) -> str:
    start, end = block.start.astimezone(UTC), block.end.astimezone(UTC)
    return (
        f"{CLAIMS_PREFIX}/{block.source}/{block.endpoint}/date={start:%Y-%m-%d}/"
        f"{start:%Y%m%dT%H%M%SZ}_{end:%Y%m%dT%H%M%SZ}_{block.series}.json"
    )


class BlockClaims:
    """Takes, completes and releases the claims of blocks in the lake bucket (see module doc)."""

    def __init__(self, s3: S3Objects, bucket: str, stale_after: timedelta = STALE_AFTER) -> None:
        self._s3 = s3
        self._bucket = bucket
        self.stale_after = stale_after

    def read(self, key: str) -> Claim | None:
        body = get_if_present(self._s3, self._bucket, key)
        return None if body is None else Claim.from_json(body)

    def take(self, key: str, run_id: str, now: datetime) -> Claim | None:
        """None when this run now holds the block; else the claim that covers this run."""
        held = self._put_if_absent(key, Claim(run_id, now))
        if held is None:
            return None
        if held.run_id == run_id and not held.landed:
            return None  # a retry of the run that holds the block
        if not held.landed and now - held.claimed_at > self.stale_after:
            self._put(key, Claim(run_id, now))  # its run died; see the module doc
            return None
        return held

    def landed(self, key: str, run_id: str, now: datetime, keys: tuple[str, ...]) -> None:
        self._put(key, Claim(run_id, now, keys))

    def release(self, key: str) -> None:
        self._s3.delete_object(Bucket=self._bucket, Key=key)

    def _put_if_absent(self, key: str, claim: Claim) -> Claim | None:
        """None when written; else the claim already there (read back)."""
        if put_if_absent(self._s3, self._bucket, key, claim.to_json()):
            return None
        held = self.read(key)  # None: released in between, so try again
        return held if held is not None else self._put_if_absent(key, claim)

    def _put(self, key: str, claim: Claim) -> None:
        self._s3.put_object(
            Bucket=self._bucket, Key=key, Body=claim.to_json(), ContentType="application/json"
        )
