"""The stream job's control objects and CLI, and the driver's batch gate (no Spark needed)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError

from lakehouse.cli import main as lakehouse
from lakehouse.spark.control import (
    Lease,
    LocalStore,
    S3Store,
    clear_stop,
    lease_key,
    read_lease,
    request_stop,
    stop_key,
    stop_requested,
    wait_for_release,
)
from lakehouse.spark.driver import between_batches
from lakehouse.spark.gate import BatchGate, StopRequested
from lakehouse.spark.progress import BatchStats, ProgressRecorder
from lakehouse.spark.transforms import newer_than


def test_a_lease_round_trips_and_expires() -> None:
    lease = Lease.new("host:1:abcd", ttl_seconds=30)
    assert Lease.from_json(lease.to_json()) == lease
    assert lease.is_live() and not lease.is_live(now=lease.expires_at + 0.1)
    assert "live, expires in" in lease.describe()
    assert "expired" in lease.describe(now=lease.expires_at + 5)
    assert Lease.from_json("not json") is None
    assert Lease.from_json(json.dumps({"owner": "x"})) is None


def test_stop_request_and_lease_in_a_local_lake(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    assert not stop_requested(store) and read_lease(store) is None
    request_stop(store, by="me")
    assert stop_requested(store)
    assert json.loads((tmp_path / stop_key()).read_text())["by"] == "me"
    assert clear_stop(store) and not clear_stop(store)
    store.write(lease_key(), Lease.new("h:1:x", ttl_seconds=0.3).to_json().encode())
    assert not wait_for_release(store, timeout=0.0, poll=0.05)
    assert wait_for_release(store, timeout=5.0, poll=0.05)


def test_cli_stop_start_and_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lake = str(tmp_path)
    assert lakehouse(["stream", "status", "--lake", lake]) == 0
    assert "none (no driver running)" in capsys.readouterr().out

    LocalStore(tmp_path).write(lease_key(), Lease.new("h:7:x", ttl_seconds=60).to_json().encode())
    assert lakehouse(["stream", "stop", "--lake", lake]) == 0
    out = capsys.readouterr().out
    assert "stops after its current micro-batches" in out and "h:7:x" in out
    assert lakehouse(["stream", "stop", "--lake", lake, "--wait", "0.5"]) == 1  # still held

    assert lakehouse(["stream", "status", "--lake", lake]) == 0
    out = capsys.readouterr().out
    assert "stop requested: yes" in out and "progress:       none recorded yet" in out
    assert lakehouse(["stream", "start", "--lake", lake]) == 0
    assert "stop request removed" in capsys.readouterr().out
    assert not stop_requested(LocalStore(tmp_path))


class FakeS3:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def get_object(self, Bucket: str, Key: str) -> dict[str, object]:
        if Key not in self.objects:  # as boto3 answers a missing key
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": "missing"}}, "GetObject")
        data = self.objects[Key]

        class Body:
            def read(self) -> bytes:
                return data

        return {"Body": Body()}

    def put_object(self, Bucket: str, Key: str, Body: bytes, **_: object) -> None:
        self.objects[Key] = Body

    def delete_object(self, Bucket: str, Key: str) -> None:
        self.objects.pop(Key, None)


def test_the_s3_store_is_what_the_dag_sensor_reads() -> None:
    store = S3Store(FakeS3(), "lake")
    assert not stop_requested(store)
    request_stop(store)
    assert stop_requested(store)
    clear_stop(store)
    assert not stop_requested(store)


def test_the_gate_refuses_new_batches_once_stopping() -> None:
    gate = BatchGate()
    gate.enter("q")
    assert gate.running("q")
    gate.stopping.set()
    gate.leave("q")
    assert not gate.running("q")
    with pytest.raises(StopRequested):
        gate.enter("q")


@pytest.mark.parametrize(
    ("running", "trigger_active", "between"),
    [
        (True, True, False),  # inside the batch's function
        (False, True, False),  # function done, Spark still committing and reporting the batch
        (False, False, True),  # batch in the commit log and reported, or none ran yet
    ],
)
def test_a_graceful_stop_waits_until_spark_has_finished_the_batch(
    running: bool, trigger_active: bool, between: bool
) -> None:
    query = SimpleNamespace(status={"isTriggerActive": trigger_active})
    assert between_batches(query, running) is between  # type: ignore[arg-type]


def test_progress_rows_carry_the_batch_stats() -> None:
    stats = BatchStats()
    recorder = ProgressRecorder(stats)
    stats.record("q", 3, "silver.t", 5, None, seconds=1.25)

    progress = SimpleNamespace(
        name="q", id="id", runId="run", batchId=3, timestamp="2026-01-01T00:00:00.000Z",
        numInputRows=7, inputRowsPerSecond=float("nan"), processedRowsPerSecond=2.0,
        durationMs={"triggerExecution": 1500},
    )  # fmt: skip

    recorder.onQueryProgress(SimpleNamespace(progress=progress))
    (row,) = recorder.rows()
    assert row[0:4] == ("q", "id", "run", 3)
    assert row[5:8] == (7, None, 2.0)
    assert row[8] == {"triggerExecution": 1500, "write silver.t": 1250}
    assert row[9] == {"silver.t": 5}
    assert recorder.rows() == []


def test_newer_than_orders_lexicographically_and_nulls_first() -> None:
    clause = newer_than("s", "t", ["a", "b"])
    assert clause.startswith("((")
    assert "s.a <=> t.a" in clause and "s.b > t.b" in clause


def test_table_properties_keep_the_log_at_least_as_long_as_removed_files() -> None:
    from lakehouse.spark.options import StreamOptions
    from lakehouse.spark.table_setup import table_properties

    props = table_properties(
        StreamOptions("lake", "cp", vacuum_retain_hours=72, log_retention_hours=24)
    )
    assert props["delta.deletedFileRetentionDuration"] == "interval 4320 minutes"
    assert props["delta.logRetentionDuration"] == "interval 4320 minutes"
    # Off unless asked for: the scheduled OPTIMIZE compacts (see sinks.AUTO_COMPACT).
    assert props["delta.autoOptimize.autoCompact"] == "false"
    asked = table_properties(StreamOptions("lake", "cp", compact_min_files=50))
    assert asked["delta.autoOptimize.autoCompact"] == "true"
