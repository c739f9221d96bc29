"""Control objects of the stream job in the lake: its lease and its stop request.

Importable without pyspark: the CLI (`lakehouse stream stop|start|status`) and the Airflow DAG use
it through a `LakeStore` (a local folder or an S3 bucket via boto3); the driver reads and writes
the same objects through Hadoop's FileSystem API (`lakehouse.spark.lease`).

Objects (keys inside the lake bucket or folder):

- `_leases/<job>.json`: who writes the lake now. JSON with `owner` (host:pid:random), `host`,
  `pid`, `acquired_at`, `renewed_at`, `expires_at` (unix seconds) and `ttl_seconds`. A driver
  takes it before its first write, renews it every third of the TTL, and deletes it when it ends;
  a driver killed with SIGKILL leaves it behind, and it counts as free once `expires_at` passed.
- `_control/<job>/stop`: a stop request (JSON: who asked, when). The running driver finishes its
  current micro-batches, stops, releases the lease and exits 0. The request stays: a driver that
  starts while it exists exits 0 at once without writing (`--once` runs ignore it), and the
  Airflow DAG waits before spark-submit until it is gone. `lakehouse stream start` deletes it.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from dataclasses import asdict, dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any, NoReturn, Protocol

from lakehouse.config import LakeSettings
from lakehouse.s3_objects import get_if_present

JOB_NAME = "lakehouse_stream"
LEASES_PREFIX = "_leases"
CONTROL_PREFIX = "_control"


class ExitCode(IntEnum):
    """How the stream job ends (its process exit status), for Airflow and for tests."""

    OK = 0  # done (--once) or stopped on request
    FAILED = 1
    LEASE_HELD = 3  # another live driver holds the lease: refused to start, wrote nothing
    LEASE_LOST = 4  # the lease passed to another driver (or might have): stopped committing


def exit_at_once(code: int) -> NoReturn:
    """End the driver now, as a kill would (no `finally`, no lease release, no Spark shutdown of
    its own), with the log written out first."""
    for handler in logging.getLogger().handlers:
        handler.flush()
    os._exit(code)


def lease_key(job: str = JOB_NAME) -> str:
    return f"{LEASES_PREFIX}/{job}.json"


def stop_key(job: str = JOB_NAME) -> str:
    return f"{CONTROL_PREFIX}/{job}/stop"


def new_owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Lease:
    owner: str
    host: str
    pid: int
    acquired_at: float
    renewed_at: float
    expires_at: float
    ttl_seconds: float

    def is_live(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) < self.expires_at

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Lease | None:
        """The lease in `text`, or None when it is not a lease (an unreadable lease is free)."""
        try:
            data = json.loads(text)
            return cls(
                owner=str(data["owner"]),
                host=str(data.get("host", "")),
                pid=int(data.get("pid", 0)),
                acquired_at=float(data["acquired_at"]),
                renewed_at=float(data["renewed_at"]),
                expires_at=float(data["expires_at"]),
                ttl_seconds=float(data["ttl_seconds"]),
            )
        except (ValueError, KeyError, TypeError):
            return None

    @classmethod
    def new(cls, owner: str, ttl_seconds: float, acquired_at: float | None = None) -> Lease:
        now = time.time()
        return cls(
            owner=owner,
            host=owner.split(":", 1)[0],
            pid=os.getpid(),
            acquired_at=now if acquired_at is None else acquired_at,
            renewed_at=now,
            expires_at=now + ttl_seconds,
            ttl_seconds=ttl_seconds,
        )

    def describe(self, now: float | None = None) -> str:
        now = time.time() if now is None else now
        state = (
            f"live, expires in {self.expires_at - now:.0f} s"
            if self.is_live(now)
            else f"expired {now - self.expires_at:.0f} s ago"
        )
        return f"{self.owner} (pid {self.pid} on {self.host}; {state})"


class LakeStore(Protocol):
    """Small objects in the lake by key: a local folder or an S3 bucket."""

    def read(self, key: str) -> bytes | None: ...

    def write(self, key: str, data: bytes) -> None: ...

    def delete(self, key: str) -> None: ...


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def read(self, key: str) -> bytes | None:
        path = self.root / key
        return path.read_bytes() if path.exists() else None

    def write(self, key: str, data: bytes) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)

    def delete(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)


class S3Store:
    """Through a boto3 S3 client (or anything with its get/put/delete_object)."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def read(self, key: str) -> bytes | None:
        return get_if_present(self.client, self.bucket, key)

    def write(self, key: str, data: bytes) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=key, Body=data, ContentType="application/json"
        )

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)


def read_lease(store: LakeStore, job: str = JOB_NAME) -> Lease | None:
    data = store.read(lease_key(job))
    return None if data is None else Lease.from_json(data)


def request_stop(store: LakeStore, job: str = JOB_NAME, by: str | None = None) -> None:
    body = {"requested_at": time.time(), "by": by or new_owner_id()}
    store.write(stop_key(job), json.dumps(body).encode())


def clear_stop(store: LakeStore, job: str = JOB_NAME) -> bool:
    """Delete the stop request; True if there was one."""
    existed = store.read(stop_key(job)) is not None
    store.delete(stop_key(job))
    return existed


def stop_requested(store: LakeStore, job: str = JOB_NAME) -> bool:
    return store.read(stop_key(job)) is not None


def wait_for_release(
    store: LakeStore, timeout: float, job: str = JOB_NAME, poll: float = 1.0
) -> bool:
    """Wait until no live lease is held; True if that happened within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        lease = read_lease(store, job)
        if lease is None or not lease.is_live():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)


# ---- `lakehouse stream ...` -------------------------------------------------------------------

STATUS_SQL = """
select query_name, batch_id, batch_started_at, input_rows,
       duration_ms['triggerExecution'] as trigger_ms, lag_seconds
from ops.stream_progress
qualify row_number() over (partition by query_name order by recorded_at desc, batch_id desc) = 1
order by query_name
"""


def store_for(lake: LakeSettings, local_root: str | None) -> LakeStore:
    """A local lake folder (`--lake`), or the configured bucket through boto3."""
    if local_root:
        return LocalStore(Path(local_root))
    from lakehouse.raw_zone import s3_client

    return S3Store(s3_client(lake), lake.bucket)


def run_cli(lake: LakeSettings, action: str, local_root: str | None, wait: float = 0.0) -> int:
    """`lakehouse stream stop|start|status`; the exit code of the command."""
    store = store_for(lake, local_root)
    where = local_root or lake.uri("")
    if action == "stop":
        request_stop(store)
        lease = read_lease(store)
        print(f"stop requested in {where.rstrip('/')}/{stop_key()}")
        if lease is None or not lease.is_live():
            print("no driver is running; the job will not start until `lakehouse stream start`")
            return 0
        print(f"the driver {lease.describe()} stops after its current micro-batches")
        if wait > 0:
            if not wait_for_release(store, wait):
                print(f"error: the driver still holds the lease after {wait:.0f} s")
                return 1
            print("the driver stopped and released its lease")
        return 0
    if action == "start":
        had = clear_stop(store)
        print(
            "stop request removed: Airflow's lakehouse_stream starts the driver again"
            if had
            else "no stop request was present"
        )
        return 0
    if action == "status":
        return _print_status(lake, store, local_root)
    raise ValueError(f"unknown action {action!r}")


def _print_status(lake: LakeSettings, store: LakeStore, local_root: str | None) -> int:
    lease = read_lease(store)
    print(f"lease:          {lease.describe() if lease else 'none (no driver running)'}")
    print(f"stop requested: {'yes' if stop_requested(store) else 'no'}")
    from lakehouse.query import QueryError, delta_storage_options, format_rows, open_lake, run_query
    from lakehouse.tables import OPS_STREAM_PROGRESS

    root = local_root.rstrip("/") if local_root else lake.uri("").rstrip("/")
    options = {} if local_root else delta_storage_options(lake)
    try:
        columns, rows = run_query(STATUS_SQL, open_lake(root, options, [OPS_STREAM_PROGRESS]))
    except QueryError:
        print("progress:       none recorded yet")
        return 0
    print("last micro-batch per query (ops.stream_progress):")
    print(format_rows(columns, rows))
    return 0
