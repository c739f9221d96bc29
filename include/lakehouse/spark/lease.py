"""The one-writer lease, held by the driver through Hadoop's FileSystem API (s3a or local).

Semantics
---------
- Acquire: read `_leases/<job>.json`. Absent: create it with put-if-absent. Held by another owner
  and not expired: wait up to `wait_seconds` for it to expire or be released, then refuse
  (`LeaseHeld`, the driver exits 3 without writing). Expired or ours: replace it, on S3 only if
  it is still the object we read (compare-and-swap on its ETag).
- Expiry is judged on the lake's clock, never the reader's: a lease is expired when the lake's
  current time (the modification time of a probe object the reader writes) is more than the TTL
  (plus one second, S3's timestamp resolution) past the lease object's own modification time.
  Hosts with skewed clocks therefore agree on who holds it.
- Renew: a daemon thread rewrites it every third of the TTL, again only if it is still ours. If
  someone else's lease is found, or renewing has failed for more than half the TTL (the store is
  unreachable), the lease counts as lost: the driver stops its queries and exits 4, before the
  lease could expire and another driver start writing.
- Lapse: during an outage a single s3a call can block for minutes in its retries, so neither the
  renewal thread nor the driver loop would notice. A second daemon thread looks only at this
  process's monotonic clock: once the sure hold (below) has run out without a renewal, the lease
  counts as lost too. The driver then has a short grace to stop, and otherwise exits 4 at once
  (`jobs/lakehouse_stream.py`), so that Airflow's next try is already waiting when the lake
  returns instead of queueing behind a driver stuck in retries.
- Fence: every table commit first calls `check_fence`. It refuses (LeaseLost) unless this driver's
  last successful write of the lease began less than the TTL minus a margin ago, on this
  process's monotonic clock (so a driver paused by SIGSTOP, a long GC or a frozen VM refuses as
  soon as it resumes, before its renewal thread has even run), and the lease object in the lake
  still names this driver. Each commit also carries the owner in its `userMetadata`. On s3a the
  same sure hold is handed to the Delta log store (`ConditionalPutLogStore.holdFor`) after each
  renewal, which refuses a commit's PUT once it ran out: a MERGE that passed the Python check and
  was then paused cannot commit when it resumes.
- Release: a clean exit deletes it; SIGKILL leaves it to expire after at most the TTL.

On s3a the writes are S3 conditional writes (`If-None-Match: *` to create, `If-Match: <etag>` to
replace; Hadoop 3.4.2+ `fs.option.create.conditional.overwrite[.etag]`, which AWS S3 and MinIO
honour), so two drivers racing for a free lease cannot both win. On a local or HDFS path the
create is exclusive, but replacing an expired lease is read-compare-write (a narrow race, fine
for tests and a single machine).

What remains: a pause that falls between the log store's check and its PUT (microseconds) could
still let one commit through. It is harmless for exactly-once: it is the same micro-batch (its
offsets were in the checkpoint's offset log) under the same Delta transaction id, so whichever
driver commits it second writes nothing, and the log store never lets it replace a log entry.
The checkpoint's own files (offsets, commits) are Spark's and are not fenced.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from pyspark.sql import SparkSession

from lakehouse.spark import faults
from lakehouse.spark.control import JOB_NAME, Lease, lease_key, new_owner_id, stop_key
from lakehouse.spark.faults import FaultPoint
from lakehouse.spark.packages import LOGSTORE_CLASS

log = logging.getLogger(__name__)
T = TypeVar("T")

CONDITIONAL_CREATE = "fs.option.create.conditional.overwrite"
CONDITIONAL_ETAG = "fs.option.create.conditional.overwrite.etag"


class LeaseHeld(RuntimeError):
    """Another live driver holds the lease."""


class LeaseLost(RuntimeError):
    """This driver no longer holds the lease it had."""


@dataclass(frozen=True)
class Stored:
    data: bytes
    etag: str | None
    modified_ms: int
    """The object's modification time on the lake's clock (S3: LastModified, whole seconds)."""


class HadoopStore:
    """Small objects under a lake root through the session's Hadoop FileSystem."""

    def __init__(self, spark: SparkSession, root_uri: str) -> None:
        jvm: Any = spark._jvm
        self._jvm = jvm
        self._root = root_uri.rstrip("/")
        conf = spark._jsc.hadoopConfiguration()
        self._fs = jvm.org.apache.hadoop.fs.Path(self._root).getFileSystem(conf)
        self.conditional = self._fs.getScheme() in ("s3a",)
        qualified = self._fs.makeQualified(jvm.org.apache.hadoop.fs.Path(self._root))
        self._local_root = (
            Path(str(qualified.toUri().getPath())) if self._fs.getScheme() == "file" else None
        )

    def _path(self, key: str) -> Any:
        return self._jvm.org.apache.hadoop.fs.Path(f"{self._root}/{key}")

    def exists(self, key: str) -> bool:
        return bool(self._fs.exists(self._path(key)))

    def read(self, key: str, attempts: int = 3) -> Stored | None:
        """The object, or None when absent. The lease is rewritten every few seconds, and S3A
        pins a read to the ETag it first saw (a 412 when the object changed in between): a read
        has no side effect, so a failed one is simply tried again."""
        for attempt in range(1, attempts):
            try:
                return self._read_once(key)
            except Exception as exc:
                log.info("reading %s failed, reading again: %s", key, _first_line(exc))
                time.sleep(0.2 * attempt)
        return self._read_once(key)

    def _read_once(self, key: str) -> Stored | None:
        path = self._path(key)
        try:
            status = self._fs.getFileStatus(path)
            stream = self._fs.open(path)
        except Exception as exc:
            if _java_class(exc) == "java.io.FileNotFoundException":
                return None
            raise
        try:
            data = bytes(stream.readAllBytes())
        finally:
            stream.close()
        etag = None
        if self.conditional:
            try:
                etag = status.getEtag()
            except Exception:
                etag = None
        return Stored(data=data, etag=etag, modified_ms=int(status.getModificationTime()))

    def now_ms(self, probe_key: str) -> int:
        """The lake's current time: the modification time of `probe_key`, written just now."""
        self.write(probe_key, b"", if_absent=False, if_etag=None)
        return int(self._fs.getFileStatus(self._path(probe_key)).getModificationTime())

    def write(self, key: str, data: bytes, *, if_absent: bool, if_etag: str | None) -> bool:
        """Write `data`; False when the condition (absent / still that etag) did not hold."""
        if self._local_root is not None:
            return _write_local_file(self._local_root / key, data, if_absent=if_absent)
        builder = self._fs.createFile(self._path(key)).overwrite(not if_absent).recursive()
        if self.conditional:
            if if_absent:
                builder = builder.must(CONDITIONAL_CREATE, True)
            elif if_etag:
                builder = builder.must(CONDITIONAL_ETAG, if_etag)
        try:
            stream = builder.build()
            stream.write(bytearray(data))
            stream.close()
        except Exception as exc:
            if _precondition_failed(exc):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self._fs.delete(self._path(key), False)

    def copy_folder(self, source: str, target: str) -> None:
        """Copy the folder `source` with everything in it to `target`, replacing what is there."""
        fs = self._fs
        if fs.exists(self._path(target)):
            fs.delete(self._path(target), True)
        copied = self._jvm.org.apache.hadoop.fs.FileUtil.copy(
            fs, self._path(source), fs, self._path(target), False, fs.getConf()
        )
        if not copied:
            raise OSError(f"could not copy {self._root}/{source} to {self._root}/{target}")

    def file_names(self, folder: str = "") -> list[str]:
        """The names of the files directly in `folder` (the root when empty); none if absent."""
        path = self._path(folder) if folder else self._jvm.org.apache.hadoop.fs.Path(self._root)
        if not self._fs.exists(path):
            return []
        return [str(s.getPath().getName()) for s in self._fs.listStatus(path) if s.isFile()]


def _write_local_file(path: Path, data: bytes, *, if_absent: bool) -> bool:
    """A local lake's object, replaced whole (Hadoop's local file system truncates, then writes:
    a reader in between would see an empty lease). Hadoop's stale `.crc` beside it is removed,
    so Hadoop reads the new bytes unverified rather than failing their checksum."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_bytes(data)
    try:
        path.with_name(f".{path.name}.crc").unlink(missing_ok=True)
        if if_absent:
            try:
                os.link(tmp, path)  # fails if the path exists: put-if-absent
            except FileExistsError:
                return False
        else:
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return True


def _java_class(exc: Exception) -> str:
    java = getattr(exc, "java_exception", None)
    if java is None:
        return ""
    try:
        return str(java.getClass().getName())
    except Exception:
        return ""


PRECONDITION_FAILURES = (
    "java.nio.file.FileAlreadyExistsException",
    "org.apache.hadoop.fs.FileAlreadyExistsException",
    "org.apache.hadoop.fs.s3a.RemoteFileChangedException",
)


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def _precondition_failed(exc: Exception) -> bool:
    """Whether a write failed because its condition (absent / that ETag) did not hold.

    S3A reports a 412 on a conditional create as FileAlreadyExistsException and on a stale ETag
    as RemoteFileChangedException; any other failure (403, a timeout) is not a lost race.
    """
    return _java_class(exc) in PRECONDITION_FAILURES


class StreamLease:
    """The driver's lease: acquire once, renew in the background, fence commits, release."""

    def __init__(
        self,
        store: HadoopStore,
        ttl_seconds: float,
        job: str = JOB_NAME,
        owner: str | None = None,
        on_lost: Callable[[str], None] | None = None,
        on_hold: Callable[[float], None] | None = None,
    ) -> None:
        self.store = store
        self.ttl = ttl_seconds
        self.key = lease_key(job)
        self.clock_key = f"{self.key}.clock"
        self.owner = owner or new_owner_id()
        self._on_lost = on_lost
        self._on_hold = on_hold
        self._lease: Lease | None = None
        self._valid_until = 0.0  # monotonic
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost_reason: str | None = None

    @property
    def margin(self) -> float:
        """How much earlier than the lake this driver considers its lease gone (see check_fence)."""
        return max(2.0, self.ttl / 5)

    # -- acquire / release ----------------------------------------------------------------------

    def acquire(self, wait_seconds: float = 0.0, poll: float = 1.0) -> Lease:
        """Take the lease, waiting up to `wait_seconds` for its holder, or for an unreachable
        lake to come back (a store outage then costs a wait, not a failed start)."""
        deadline = time.monotonic() + wait_seconds
        while True:
            held = while_unreachable(self._try_acquire, deadline)
            if held is None:
                assert self._lease is not None
                log.info("lease %s taken by %s", self.key, self.owner)
                return self._lease
            if time.monotonic() >= deadline:
                raise LeaseHeld(
                    f"another driver holds the lease {self.key}: {held.describe()}; "
                    "refusing to start (it expires unless renewed; "
                    "`lakehouse stream status` shows it)"
                )
            time.sleep(poll)

    def _live_other(self, stored: Stored | None) -> Lease | None:
        """The lease in `stored` if another owner holds it and it has not expired on the lake."""
        current = Lease.from_json(stored.data) if stored is not None else None
        if stored is None or current is None or current.owner == self.owner:
            return None
        age = (self.store.now_ms(self.clock_key) - stored.modified_ms) / 1000
        return current if age <= current.ttl_seconds + 1.0 else None

    def _try_acquire(self) -> Lease | None:
        """None when acquired, else the live lease of the other owner."""
        began = time.monotonic()
        stored = self.store.read(self.key)
        held = self._live_other(stored)
        if held is not None:
            return held
        mine = Lease.new(self.owner, self.ttl)
        ok = self.store.write(
            self.key,
            mine.to_json().encode(),
            if_absent=stored is None,
            if_etag=None if stored is None else stored.etag,
        )
        if not ok:
            # Someone else won the race; report their lease (or retry if it vanished).
            again = self.store.read(self.key)
            other = Lease.from_json(again.data) if again is not None else None
            return other if other is not None else Lease.new("unknown", 1.0)
        if not self.store.conditional:
            # Read-compare-write on a local path: make sure a racing driver did not write last.
            confirmed = self.store.read(self.key)
            current = Lease.from_json(confirmed.data) if confirmed is not None else None
            if current is None or current.owner != self.owner:
                return current if current is not None else Lease.new("unknown", 1.0)
        self._lease = mine
        self._held_since(began)
        return None

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.ttl)
        try:
            stored = self.store.read(self.key)
            current = Lease.from_json(stored.data) if stored is not None else None
            if current is not None and current.owner == self.owner:
                self.store.delete(self.key)
                log.info("lease %s released", self.key)
        except Exception:
            log.exception("could not release the lease %s (it will expire)", self.key)

    # -- renew ----------------------------------------------------------------------------------

    def _read_mine(self) -> Stored:
        """The lease object, if it still names this driver; else LeaseLost naming who has it."""
        stored = self.store.read(self.key)
        current = Lease.from_json(stored.data) if stored is not None else None
        if stored is None or current is None or current.owner != self.owner:
            other = current.describe() if current is not None else "nobody"
            raise LeaseLost(f"the lease {self.key} is now held by {other}")
        return stored

    def renew(self) -> None:
        if self._lease is None:
            raise LeaseLost("the lease was never acquired")
        began = time.monotonic()
        stored = self._read_mine()
        faults.reached(FaultPoint.LEASE_RENEWAL)
        if self.lost_reason is not None:
            # Declared lost while the read waited: a late rewrite would only keep the next driver
            # waiting for a lease that this one will never use again.
            raise LeaseLost(self.lost_reason)
        renewed = replace(self._lease, renewed_at=time.time(), expires_at=time.time() + self.ttl)
        if not self.store.write(
            self.key, renewed.to_json().encode(), if_absent=False, if_etag=stored.etag
        ):
            raise LeaseLost(f"the lease {self.key} changed under us")
        self._lease = renewed
        self._held_since(began)

    def _held_since(self, began: float) -> None:
        """The lease was (re)written by a request sent after `began`: it surely holds until..."""
        self._valid_until = began + self.ttl - self.margin
        if self._on_hold is not None:
            self._on_hold(self._valid_until - time.monotonic())

    def check_fence(self) -> None:
        """LeaseLost unless this driver surely still holds the lease; run before each commit."""
        if self.lost_reason is not None:
            raise LeaseLost(self.lost_reason)
        late = time.monotonic() - self._valid_until
        try:
            if late > 0:
                raise LeaseLost(
                    f"the lease {self.key} was last renewed over {self.ttl - self.margin:.0f} s "
                    f"ago (this driver was paused or cut off {late:.0f} s too long): not committing"
                )
            self._read_mine()
        except LeaseLost as exc:
            self._lost(str(exc))
            raise

    def start_renewing(self) -> None:
        self._thread = threading.Thread(target=self._renew_loop, name="lease-renewal", daemon=True)
        self._thread.start()
        threading.Thread(target=self._watch_lapse, name="lease-lapse", daemon=True).start()

    def _watch_lapse(self) -> None:
        """Declare the lease lost once its sure hold ran out, even while every call blocks."""
        while not self._stop.wait(1.0):
            if self.lost_reason is not None:
                return
            late = time.monotonic() - self._valid_until
            if late > 0:
                self._lost(
                    f"the lease {self.key} was not renewed within {self.ttl - self.margin:.0f} s "
                    f"(the lake unreachable or this driver paused, {late:.0f} s past its hold)"
                )
                return

    def _renew_loop(self) -> None:
        interval = max(0.2, self.ttl / 3)
        last_ok = time.monotonic()
        while not self._stop.wait(interval):
            try:
                self.renew()
                last_ok = time.monotonic()
            except LeaseLost as exc:
                self._lost(str(exc))
                return
            except Exception as exc:
                if time.monotonic() - last_ok > self.ttl / 2:
                    self._lost(f"could not renew the lease for {self.ttl / 2:.0f} s: {exc}")
                    return
                log.warning("lease renewal failed (will retry): %s", exc)

    def set_on_lost(self, callback: Callable[[str], None]) -> None:
        """Called by the renewal thread when the lease is lost, before the driver loop sees it."""
        self._on_lost = callback

    def _lost(self, reason: str) -> None:
        if self.lost_reason is not None:
            return  # the renewal and lapse threads and a commit's fence may all find it
        self.lost_reason = reason
        if self._on_hold is not None:
            self._on_hold(0.0)
        log.error("lease lost: %s", reason)
        if self._on_lost is not None:
            self._on_lost(reason)


def hold_log_store_commits(spark: SparkSession) -> Callable[[float], None]:
    """The lease's `on_hold` for an s3a lake: lets the Delta log store commit that much longer."""
    log_store: Any = spark._jvm
    for name in LOGSTORE_CLASS.split("."):
        log_store = getattr(log_store, name)

    def hold_for(seconds: float) -> None:
        log_store.holdFor(max(0, int(seconds * 1000)))

    return hold_for


def stop_marker_present(store: HadoopStore, job: str = JOB_NAME, wait_seconds: float = 0.0) -> bool:
    """Whether `lakehouse stream stop` left a request; waits up to `wait_seconds` for the lake."""
    return while_unreachable(lambda: store.exists(stop_key(job)), time.monotonic() + wait_seconds)


def while_unreachable(call: Callable[[], T], deadline: float, pause: float = 5.0) -> T:
    """`call()`, retried while it fails until the monotonic `deadline`: an outage of the lake
    (MinIO restarting, a network cut) costs the starting driver a wait, not a failed try."""
    while True:
        try:
            return call()
        except Exception as exc:
            if time.monotonic() >= deadline:
                raise
            log.warning("the lake is unreachable, waiting for it: %s", _first_line(exc))
            time.sleep(pause)
