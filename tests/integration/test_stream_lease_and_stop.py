"""One writer and a graceful stop, with the job under spark-submit on a local lake folder.

- A live lease of another driver: the job refuses to start (exit 3) and writes nothing.
- `lakehouse stream stop`: the running driver finishes its micro-batches, releases its lease and
  exits 0; while the stop request is there, a new driver exits 0 at once without taking the
  lease; `lakehouse stream start` removes the request.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import stream_runner
from rawgen import Generator

from lakehouse.cli import main as lakehouse
from lakehouse.query import QueryError, open_lake, run_query
from lakehouse.spark.control import Lease, LocalStore, lease_key, read_lease, stop_requested
from lakehouse.tables import GOLD_REFRESH, MEDALLION

pytestmark = pytest.mark.integration


def wait_for_rows(
    proc: subprocess.Popen[bytes], lake: Path, table: str, rows: int, timeout: float = 240
) -> bool:
    """True once `table` holds `rows` rows; False if the job ended or time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            _, ((count,),) = run_query(f"select count(*) from {table}", open_lake(str(lake)))
        except QueryError:
            count = None  # not created yet
        if count == rows:
            return True
        time.sleep(1)
    return False


def test_one_writer_and_a_graceful_stop(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lake = tmp_path / "lake"
    generator = Generator()
    for minute in range(3):
        for obj in generator.minute(minute):
            obj.land(lake)
    store = LocalStore(lake)

    other = Lease.new("other-host:4242:cafe", ttl_seconds=600)
    store.write(lease_key(), other.to_json().encode())
    refused = stream_runner.run(lake, "--trigger-seconds", "1", timeout=300)
    assert refused.returncode == 3, refused.stderr[-3000:]
    assert "another driver holds the lease" in refused.stdout + refused.stderr
    assert "other-host:4242:cafe" in refused.stdout + refused.stderr
    assert not (lake / "bronze").exists()
    store.delete(lease_key())

    log = tmp_path / "run.log"
    proc = stream_runner.start(
        lake, log, "--trigger-seconds", "1", "--poll-seconds", "1", "--lease-ttl-seconds", "10"
    )
    try:
        assert stream_runner.wait_for_log(proc, log, "tables ready"), stream_runner.tail(log)
        expected = len(generator.expected.coin_prices)
        assert wait_for_rows(proc, lake, "silver.coin_prices", expected), stream_runner.tail(log)
        lease = read_lease(store)
        assert lease is not None and lease.is_live() and lease.owner != other.owner
        assert lakehouse(["stream", "stop", "--lake", str(lake), "--wait", "180"]) == 0
        assert proc.wait(timeout=60) == 0, stream_runner.tail(log)
    finally:
        if proc.poll() is None:
            proc.kill()
    out = capsys.readouterr().out
    assert "stops after its current micro-batches" in out
    assert "released its lease" in out
    assert read_lease(store) is None
    text = log.read_text()
    assert "stop requested: stopping after the current micro-batches" in text

    conn = open_lake(str(lake))
    _, ((prices,),) = run_query("select count(*) from silver.coin_prices", conn)
    assert prices == len(generator.expected.coin_prices)
    _, progress = run_query("select distinct query_name from ops.stream_progress order by 1", conn)
    assert progress == [(GOLD_REFRESH,), (MEDALLION,)]  # a stop ends with a gold refresh

    started = time.monotonic()
    again = stream_runner.run(lake, "--trigger-seconds", "1", timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "a stop request is present" in again.stdout + again.stderr
    assert read_lease(store) is None
    assert time.monotonic() - started < 120
    assert stop_requested(store)
    assert lakehouse(["stream", "start", "--lake", str(lake)]) == 0
    assert not stop_requested(store)
