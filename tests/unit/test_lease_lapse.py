"""The lease's lapse watch: a driver whose lake calls block (an outage under s3a's retries) still
learns, on its own clock, that its lease ran out, and never rewrites it afterwards."""

from __future__ import annotations

import threading
import time
from typing import Any

from lakehouse.spark.lease import Stored, StreamLease


class StallingStore:
    """A lake in memory whose calls block while `stalled` is set, as s3a's do in an outage."""

    conditional = True

    def __init__(self) -> None:
        self.objects: dict[str, Stored] = {}
        self.stalled = threading.Event()
        self.resumed = threading.Event()
        self.writes_after_stall: list[str] = []
        self._version = 0

    def _wait_if_stalled(self) -> bool:
        if not self.stalled.is_set():
            return False
        self.resumed.wait()
        return True

    def read(self, key: str, attempts: int = 3) -> Stored | None:
        self._wait_if_stalled()
        return self.objects.get(key)

    def now_ms(self, probe_key: str) -> int:
        self._wait_if_stalled()
        return int(time.time() * 1000)

    def exists(self, key: str) -> bool:
        return self.read(key) is not None

    def write(self, key: str, data: bytes, *, if_absent: bool, if_etag: str | None) -> bool:
        if self._wait_if_stalled():
            self.writes_after_stall.append(key)
        current = self.objects.get(key)
        if (if_absent and current is not None) or (if_etag and current and current.etag != if_etag):
            return False
        self._version += 1
        self.objects[key] = Stored(data, str(self._version), int(time.time() * 1000))
        return True

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)


def test_a_lease_whose_renewals_block_is_declared_lost_on_time_and_never_rewritten() -> None:
    store = StallingStore()
    reasons: list[str] = []
    store_any: Any = store
    lease = StreamLease(store_any, ttl_seconds=3.0, owner="host-a:1:aaaa", on_lost=reasons.append)
    lease.acquire()
    taken = time.monotonic()
    store.stalled.set()  # the lake goes away: the next renewal blocks inside its read
    lease.start_renewing()

    deadline = taken + 10
    while lease.lost_reason is None and time.monotonic() < deadline:
        time.sleep(0.05)
    lost_after = time.monotonic() - taken

    assert lease.lost_reason is not None, "the lapse went unnoticed while the renewal blocked"
    assert "not renewed within" in lease.lost_reason
    # Within its sure hold (TTL minus the margin) plus the watch's one-second tick, well before
    # the lake could hand the lease to another driver (TTL + 1 s on the lake's clock).
    assert lease.ttl - lease.margin <= lost_after <= lease.ttl - lease.margin + 1.5
    assert reasons == [lease.lost_reason]  # the callback runs once

    store.resumed.set()  # the lake returns: the blocked renewal completes its read...
    time.sleep(lease.ttl / 3 + 0.5)
    assert store.writes_after_stall == []  # ...and rewrites nothing
    assert reasons == [lease.lost_reason]
