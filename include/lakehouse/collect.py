"""One collection run of any source: fetch from its API and land each response in the raw zone.

The same functions run inside the Airflow tasks and behind `lakehouse collect`; the callers decide
where the client and the writer come from (an Airflow Connection, the environment, a test).

A run fetches its planned requests one after the other and lands each good response at once (one
PUT). A failed request lands nothing and is logged in one line (source, endpoint, status, params);
the others still land, then the run raises, so the task fails and Airflow retries it. A retry that
gets the same bytes writes the same keys, which the conditional PUT turns into no-ops. A 429 that
is not worth waiting for, or an API that does not answer even after retries, stops the run at
once: more calls would only fail the same way, and hold the pool slot longer. A response the lake
cannot take now is kept in the writer's spool, and every run then lands what the spool holds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from lakehouse.raw_zone import DataInterval, Envelope, Mode, PutResult, RawZoneWriter
from lakehouse.raw_zone_claims import Block, claim_key
from lakehouse.sources.base import Collection, Source
from lakehouse.sources.http import ApiError, ApiResponse
from lakehouse.sources.limiter import CallLimiter, Unlimited
from lakehouse.sources.planning import choose_mode

log = logging.getLogger(__name__)

Selection = TypeVar("Selection")
Client = TypeVar("Client")


class HistoryUnavailable(ValueError):
    """The API's plan cannot serve the history a run asks for: every retry would fail the same
    way, so the task fails at once (the Airflow adapter raises AirflowFailException)."""


class CollectionFailed(RuntimeError):
    """Several requests of one run failed; each was logged, the others landed."""

    def __init__(self, failures: Sequence[ApiError], attempted: int) -> None:
        self.failures = list(failures)
        super().__init__(f"{len(failures)} of {attempted} requests failed; first: {failures[0]}")


class Landing:
    """Lands responses as they come and remembers failures, for one run."""

    def __init__(
        self,
        writer: RawZoneWriter,
        interval: DataInterval,
        mode: Mode,
        run_id: str,
        skipped: Sequence[str] = (),
    ) -> None:
        self.writer = writer
        self.interval = interval
        self.mode = mode
        self.run_id = run_id
        self.collection = Collection(mode, skipped=tuple(skipped))
        self.failures: list[ApiError] = []
        self.attempted = 0
        for reason in skipped:
            log.info("skipped: %s", reason)

    def fetch(self, call: Callable[[], ApiResponse], what: str) -> ApiResponse | None:
        """The response, or None after logging the failure; an error that `stops_run` raises."""
        self.attempted += 1
        try:
            return call()
        except ApiError as error:
            if not error.stops_run:
                log.error("fetch failed, nothing landed: %s [%s]", error, what)
                self.failures.append(error)
                return None
            log.error("fetch failed, nothing landed, run stopped: %s [%s]", error, what)
            if self.failures:
                raise CollectionFailed([*self.failures, error], self.attempted) from error
            raise

    def fail(self, error: ApiError, what: str) -> None:
        """A response that came but cannot be used (it is not what was asked for)."""
        log.error("fetch failed, nothing landed: %s [%s]", error, what)
        self.failures.append(error)

    def land(self, response: ApiResponse, interval: DataInterval | None = None) -> PutResult:
        """One raw object for `response`, under the run's interval or (history) its block's."""
        envelope = Envelope(response, interval or self.interval, self.mode, self.run_id)
        result = self.writer.write(envelope)
        self.collection.results.append(result)
        log.info(
            "%s %s: %s %s (%d bytes)",
            response.source,
            response.endpoint,
            "spooled" if result.spooled else "wrote" if result.created else "already had",
            result.key,
            len(response.body),
        )
        return result

    def fetch_and_land(
        self,
        call: Callable[[], ApiResponse],
        what: str,
        interval: DataInterval | None = None,
    ) -> ApiResponse | None:
        response = self.fetch(call, what)
        if response is not None:
            self.land(response, interval)
        return response

    def land_block(self, block: Block, body: Callable[[DataInterval], bool], what: str) -> None:
        """Run `body` (fetch and land the whole `block`, True when all of it landed) once for all
        the runs inside the block (see `lakehouse.raw_zone_claims`). A run whose block another
        run's object covers lands nothing and logs that object. An open block is fetched by each
        run that needs it, without a claim."""
        interval = DataInterval(block.start, block.end)
        if not block.closed:
            body(interval)
            return
        claims, key = self.writer.claims, claim_key(block)
        holder = claims.take(key, self.run_id, datetime.now(UTC))
        if holder is not None:
            covering = list(holder.keys) or [f"{key} (being fetched by run {holder.run_id})"]
            log.info("covered by %s [%s]", ", ".join(covering), what)
            self.collection.covered.extend(covering)
            return
        landed_before = len(self.collection.results)
        try:
            complete = body(interval)
        except BaseException:
            claims.release(key)
            raise
        keys = tuple(result.key for result in self.collection.results[landed_before:])
        if not complete:
            claims.release(key)  # the next run of the block fetches it again
            return
        claims.landed(key, self.run_id, datetime.now(UTC), keys or ("(nothing to land)",))

    def finish(self) -> Collection:
        """The collection, or the failure (the only one, or all of them) to fail the task."""
        if len(self.failures) == 1:
            raise self.failures[0]
        if self.failures:
            raise CollectionFailed(self.failures, self.attempted)
        return self.collection


def run_collection(
    source: Source[Selection, Client],
    connect: Callable[[CallLimiter], Client],
    writer: RawZoneWriter,
    selection: Selection,
    *,
    interval: DataInterval,
    run_id: str,
    now: datetime,
    limiter: CallLimiter | None = None,
    history: bool = False,
    parts: Sequence[str] | None = None,
    cache_dir: Path | None = None,
) -> Collection:
    """Decide live or history, collect through the source's shared call limiter.

    `connect(limiter)` makes the client. A history run sees the limiter `for_history`: it leaves
    the slots reserved for live calls free, so a backfill never starves the live minutes. Before
    any call, the source's `check` (if any) refuses a selection the API does not know, with its
    lists cached in `cache_dir`.
    """
    parts = source.parts if parts is None else parts
    mode = choose_mode(interval, now, history=history)
    shared: CallLimiter = limiter or Unlimited()
    log.info(
        "%s %s for [%s, %s): %s",
        source.name,
        "+".join(parts),
        interval.start.isoformat(),
        interval.end.isoformat(),
        mode,
    )
    client = connect(shared.for_history() if mode == "history" else shared)
    try:
        if source.check is not None:
            source.check(client, selection, cache_dir)
        return source.collect(
            client, writer, selection, interval=interval, run_id=run_id, mode=mode, parts=parts,
            now=now,
        )  # fmt: skip
    finally:
        # What earlier runs fetched while the lake was unavailable, after this run's own minute
        # is safe: a lake that refuses it for good fails the task, but loses nothing.
        writer.land_spooled()
