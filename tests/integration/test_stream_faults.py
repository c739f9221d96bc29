"""Exactly once on the real lake: the driver dies at its fault points and at random, on MinIO.

The lake is a bucket of the test's MinIO, read and written through s3a, with the checkpoints and
the lease in it. A lander thread keeps putting the generator's raw objects (every endpoint, bad
ones included) into the raw zone the whole time, and a watcher thread records the ETag of every
`_delta_log` commit it sees. The driver then dies again and again:

- at each named fault point (`lakehouse.spark.faults`): after a table's commit, after all of a
  batch's commits and before Spark's checkpoint commit, inside a lease renewal; the driver's log
  must name the point, so each counts only if it was really hit;
- by SIGKILL of its whole process group at seeded random moments, in start-up or mid-batch.

A lease TTL of 10 s keeps the restarts short. A last driver then runs until it has caught up and
is stopped the way users stop it. The expected records come from the generator's own list of what
it landed, never from the tables: bronze holds each raw object once, silver the distinct source
records, the quarantine each bad record once, gold agrees with silver; no log entry was ever
rewritten; each table's commits carry the same few Delta transaction app ids across all
restarts, and the lease owners in the commits' userMetadata never interleave.

`LAKEHOUSE_FAULTS=full` (`make test-faults`) runs 20 kills, each point 3 times; otherwise (CI)
5 kills, each point once. It prints one table of what was injected and what was found.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import stream_runner
from fault_table import FULL_FAULTS, RecordFault
from lake_checks import assert_lake_matches
from rawgen import Generator

from lakehouse import tables
from lakehouse.config import LakeSettings
from lakehouse.landed_log import LandedLog
from lakehouse.query import delta_storage_options, open_lake, run_query
from lakehouse.spark.control import ExitCode, S3Store, read_lease, request_stop
from lakehouse.spark.faults import EXIT_FAULT, FAULT_ENV, FaultPoint
from lakehouse.spark.migration import MIGRATED
from lakehouse.spark.options import RawSource, StreamOptions
from lakehouse.spark.queries import MEDALLION_QUERIES
from lakehouse.tables import BRONZE_TO_SILVER, DRIVER, MEDALLION, RAW_TO_BRONZE

pytestmark = [pytest.mark.integration, pytest.mark.faults]

SEED = 20261204
PER_POINT = 3 if FULL_FAULTS else 1
KILLS = 20 if FULL_FAULTS else len(FaultPoint) * PER_POINT + 1
"""Driver deaths per run: each fault point PER_POINT times, the rest SIGKILLs at random moments
(the short run in `make test`: one; each death costs a driver start and its catch-up)."""
LEASE_TTL = 10
LANDING_SECONDS = 8.0
"""A minute of raw objects (every endpoint, 5-8 objects) lands this often."""
COMMIT = re.compile(r"_delta_log/\d{20}\.json$")


@dataclass
class Lake:
    """A bucket of the test's MinIO as the lake, and what the test's threads saw in it."""

    settings: LakeSettings
    s3: Any
    generator: Generator = field(default_factory=Generator)
    lock: threading.Lock = field(default_factory=threading.Lock)
    landed_minutes: int = 0
    etags: dict[str, str] = field(default_factory=dict)
    rewritten: list[str] = field(default_factory=list)
    raw_source: RawSource = "files"
    """How the stream finds the raw objects (`--raw-source`)."""

    @property
    def uri(self) -> str:
        return f"s3a://{self.settings.bucket}"

    @property
    def query_name(self) -> str:
        return MEDALLION_QUERIES[self.raw_source]

    def job_args(self, *extra: str) -> list[str]:
        return [
            "--s3-endpoint", str(self.settings.endpoint_url), "--raw-source", self.raw_source,
            "--trigger-seconds", "1", "--poll-seconds", "1", "--max-files-per-trigger", "100",
            "--lease-ttl-seconds", str(LEASE_TTL), "--lease-wait-seconds", "90",
            *extra,
        ]  # fmt: skip

    def job_env(self, **extra: str) -> dict[str, str]:
        keys = {
            "AWS_ACCESS_KEY_ID": str(self.settings.access_key),
            "AWS_SECRET_ACCESS_KEY": str(self.settings.secret_key),
        }
        return keys | extra

    def land_minute(self, rng: random.Random) -> None:
        with self.lock:
            objects = self.generator.minute(self.landed_minutes)
            self.landed_minutes += 1
        rng.shuffle(objects)  # arrival order is not fetch order
        landed = LandedLog(self.s3, self.settings.bucket)
        for obj in objects:
            obj.put(self.s3, self.settings.bucket)
            landed.append(obj.key)  # as a collector logs what it landed

    def expected_prices(self) -> set[tuple[str, str, int]]:
        with self.lock:
            return set(self.generator.expected.coin_prices)

    def watch_log_entries(self) -> None:
        """Record each commit's ETag; a commit seen again with another ETag was rewritten."""
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.settings.bucket)
        for page in pages:
            for item in page.get("Contents", []):
                key, etag = item["Key"], item["ETag"]
                if not COMMIT.search(key):
                    continue
                seen = self.etags.setdefault(key, etag)
                if seen != etag and key not in self.rewritten:
                    self.rewritten.append(key)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        conn = open_lake(f"s3://{self.settings.bucket}", delta_storage_options(self.settings))
        return run_query(sql, conn)[1]

    def silver_prices(self) -> set[tuple[str, str, int]]:
        try:
            rows = self.query(
                "select coin_id, vs_currency, epoch(price_ts)::bigint from silver.coin_prices"
            )
        except Exception:
            return set()  # not created yet
        return {(str(c), str(v), int(t)) for c, v, t in rows}


@pytest.fixture
def lake(minio: Any) -> Iterator[Lake]:
    settings = replace(minio.lake, bucket=f"faults-{uuid.uuid4().hex[:8]}")
    s3 = minio.client()
    s3.create_bucket(Bucket=settings.bucket)
    yield Lake(settings, s3)


@dataclass
class Cycle:
    kind: str
    hit: bool
    fresh_seconds: float | None
    """From the driver taking the lease to silver holding every price landed before it."""


def run_cycle(lake: Lake, kind: str, log: Path, rng: random.Random) -> Cycle:
    """Start a driver and make it die as `kind` says; how long it took to be fresh again."""
    armed = {} if kind == "random" else {FAULT_ENV: f"{kind}:{rng.randint(1, 3)}"}
    wanted = lake.expected_prices()
    proc = stream_runner.start(lake.uri, log, *lake.job_args(), extra_env=lake.job_env(**armed))
    kill_at = time.monotonic() + rng.uniform(15.0, 45.0) if kind == "random" else None
    deadline = time.monotonic() + 300
    taken: float | None = None
    fresh: float | None = None
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if kill_at is not None and time.monotonic() >= kill_at:
                break
            if taken is None and " taken by " in log.read_text(errors="replace"):
                taken = time.monotonic()
            if taken is not None and fresh is None and wanted <= lake.silver_prices():
                fresh = time.monotonic() - taken
            time.sleep(1)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        code = proc.wait(timeout=60)
    text = log.read_text(errors="replace")
    if kind == "random":
        assert code == -signal.SIGKILL, f"{kind}: the driver ended by itself\n{text[-4000:]}"
        return Cycle(kind, hit=True, fresh_seconds=fresh)
    assert code == EXIT_FAULT, f"{kind}: exit {code}, not the fault's\n{text[-4000:]}"
    return Cycle(kind, hit=f"fault point {kind} reached" in text, fresh_seconds=fresh)


def land_continuously(lake: Lake, stop: threading.Event, rng: random.Random) -> None:
    while not stop.wait(LANDING_SECONDS):
        lake.land_minute(rng)
        lake.watch_log_entries()


def drain_and_stop(lake: Lake, log: Path) -> float:
    """Run a driver until silver has every landed price, start a second one on purpose (it must be
    refused), then stop the first as users do; seconds to fresh."""
    wanted = lake.expected_prices()
    proc = stream_runner.start(lake.uri, log, *lake.job_args(), extra_env=lake.job_env())
    started = time.monotonic()
    try:
        deadline = started + 420
        while time.monotonic() < deadline and proc.poll() is None:
            if wanted <= lake.silver_prices() and bronze_caught_up(lake):
                break
            time.sleep(2)
        fresh = time.monotonic() - started
        assert proc.poll() is None, f"the last driver ended\n{stream_runner.tail(log)}"
        second = stream_runner.run(
            lake.uri, *lake.job_args("--lease-wait-seconds", "0"), extra_env=lake.job_env()
        )
        assert second.returncode == ExitCode.LEASE_HELD, second.stderr[-3000:]
        assert "another driver holds the lease" in second.stdout + second.stderr
        request_stop(S3Store(lake.s3, lake.settings.bucket))
        assert proc.wait(timeout=180) == 0, stream_runner.tail(log)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    return fresh


def bronze_caught_up(lake: Lake) -> bool:
    ((objects,),) = lake.query("select count(*) from bronze.raw_events")
    return int(objects) >= lake.generator.expected.objects


def commits(lake: Lake, spec: tables.TableSpec) -> list[list[dict[str, Any]]]:
    """The actions of each commit of a table, in version order."""
    prefix = f"{spec.path}/_delta_log/"
    keys = sorted(key for key in lake.etags if key.startswith(prefix))
    return [
        [
            json.loads(line)
            for line in lake.s3.get_object(Bucket=lake.settings.bucket, Key=key)["Body"]
            .read()
            .decode()
            .splitlines()
            if line.strip()
        ]
        for key in keys
    ]


def assert_one_writer_identity(lake: Lake) -> None:
    """Per table: the same txn app ids across restarts; lease owners never interleave."""
    options = StreamOptions(lake_uri=lake.uri)
    writes = [(spec, lake.query_name) for spec in tables.written_by(MEDALLION)]
    writes += [(spec, DRIVER) for spec in tables.written_by(DRIVER) if spec.layer == "gold"]
    for spec, writer in writes:
        app_ids: set[str] = set()
        owners: list[str] = []
        for actions in commits(lake, spec):
            app_ids |= {a["txn"]["appId"] for a in actions if "txn" in a}
            info = next(a["commitInfo"] for a in actions if "commitInfo" in a)
            if "userMetadata" in info and any("txn" in a for a in actions):
                owners.append(json.loads(info["userMetadata"])["lease_owner"])
        assert app_ids == {options.txn_app_id(writer, spec)}, spec.qualified_name
        runs = [owner for i, owner in enumerate(owners) if i == 0 or owners[i - 1] != owner]
        assert len(runs) == len(set(runs)), f"{spec.qualified_name}: writers interleave {runs}"


@pytest.mark.parametrize(
    ("raw_source", "kills"),
    [("files", KILLS), ("landed", KILLS if FULL_FAULTS else len(FaultPoint) * PER_POINT)],
)
def test_kills_at_fault_points_and_at_random_keep_the_lake_exact(
    lake: Lake, tmp_path: Path, record_fault: RecordFault, raw_source: RawSource, kills: int
) -> None:
    """Either source: Spark's file source, or the landed log (short in CI: each point once)."""
    lake.raw_source = raw_source
    rng = random.Random(SEED)
    plan = [point.value for point in FaultPoint for _ in range(PER_POINT)]
    plan += ["random"] * (kills - len(plan))
    rng.shuffle(plan)
    for _ in range(3):
        lake.land_minute(rng)

    stop = threading.Event()
    lander = threading.Thread(target=land_continuously, args=(lake, stop, random.Random(SEED)))
    lander.start()
    cycles: list[Cycle] = []
    try:
        for i, kind in enumerate(plan):
            cycles.append(run_cycle(lake, kind, tmp_path / f"cycle-{i}-{kind}.log", rng))
    finally:
        stop.set()
        lander.join()
    lake.land_minute(rng)
    drained = drain_and_stop(lake, tmp_path / "drain.log")
    lake.watch_log_entries()

    report(record_fault, lake, cycles, drained)
    assert read_lease(S3Store(lake.s3, lake.settings.bucket)) is None, "the lease was not released"
    hits = Counter(c.kind for c in cycles if c.hit)
    assert all(hits[point.value] >= PER_POINT for point in FaultPoint), hits
    assert lake.rewritten == [], f"log entries rewritten: {lake.rewritten}"
    assert_lake_matches(lake.query, lake.generator.expected, (lake.query_name,))
    assert_one_writer_identity(lake)
    other = "files" if raw_source == "landed" else "landed"
    refused = stream_runner.run(
        lake.uri, *lake.job_args("--raw-source", other, "--once"), extra_env=lake.job_env()
    )  # fmt: skip (--once: past the stop)
    assert refused.returncode != 0, f"--raw-source {other} started over a {raw_source} lake"
    assert f"_checkpoints/{lake.query_name}" in refused.stdout + refused.stderr


def tally(lake: Lake) -> tuple[int, int, int]:
    """Records expected (raw objects, distinct silver keys), how many missing, how many twice."""
    expected = lake.generator.expected
    ((objects, files),) = lake.query(
        "select count(*), count(distinct source_file) from bronze.raw_events"
    )
    total, lost, duplicated = expected.objects, expected.objects - int(files), objects - files
    for table, key in (
        ("coin_prices", "coin_id, vs_currency, epoch(price_ts)::bigint"),
        ("coin_markets", "coin_id, vs_currency, epoch_ms(last_updated)"),
        ("sensor_readings", "device_id, sensor_id, epoch(reading_ts)::bigint"),
    ):
        rows = lake.query(f"select {key}, count(*) from silver.{table} group by all")
        keys = {tuple(row[:-1]) for row in rows}
        wanted = set(expected.values(table))
        total += len(wanted)
        lost += len(wanted - keys)
        duplicated += sum(int(row[-1]) - 1 for row in rows)
    return total, lost, duplicated


def report(record: RecordFault, lake: Lake, cycles: list[Cycle], drained: float) -> None:
    """One row per kind of kill, and one for the last driver's catch-up."""
    expected, lost, duplicated = tally(lake)
    for kind in sorted({c.kind for c in cycles}):
        mine = [c for c in cycles if c.kind == kind]
        fresh = [c.fresh_seconds for c in mine if c.fresh_seconds is not None]
        record(
            f"kill ({lake.raw_source}): {kind}", sum(c.hit for c in mine), expected, lost,
            duplicated,
            max(fresh) if fresh else None,
        )  # fmt: skip
    record(f"kill ({lake.raw_source}): last catch-up", 0, expected, lost, duplicated, drained)


def test_a_paused_driver_commits_nothing_once_another_took_over(
    lake: Lake, tmp_path: Path, record_fault: RecordFault
) -> None:
    """SIGSTOP a driver mid-stream for longer than the TTL, let a second one take over, SIGCONT
    the first: it must not commit again, and must exit as having lost its lease (4)."""
    rng = random.Random(SEED + 1)
    for _ in range(3):
        lake.land_minute(rng)
    log_a, log_b = tmp_path / "paused.log", tmp_path / "successor.log"
    a = stream_runner.start(lake.uri, log_a, *lake.job_args(), extra_env=lake.job_env())
    b: Any = None
    try:
        assert wait_until(lambda: lake.expected_prices() <= lake.silver_prices(), a), (
            stream_runner.tail(log_a)
        )
        lake.land_minute(rng)  # work in flight when the pause hits
        time.sleep(rng.uniform(1.0, 4.0))
        os.killpg(a.pid, signal.SIGSTOP)
        b = stream_runner.start(lake.uri, log_b, *lake.job_args(), extra_env=lake.job_env())
        lake.land_minute(rng)
        assert stream_runner.wait_for_log(b, log_b, " taken by "), stream_runner.tail(log_b)
        taken = time.monotonic()
        assert wait_until(lambda: lake.expected_prices() <= lake.silver_prices(), b), (
            stream_runner.tail(log_b)
        )
        fresh = time.monotonic() - taken
        os.killpg(a.pid, signal.SIGCONT)
        assert a.wait(timeout=120) == ExitCode.LEASE_LOST, stream_runner.tail(log_a)
        assert "lease lost" in log_a.read_text(errors="replace")
        lake.land_minute(rng)
        # A graceful stop ends after the running micro-batch: the minute's objects must all be in.
        assert wait_until(
            lambda: lake.expected_prices() <= lake.silver_prices() and bronze_caught_up(lake), b
        )
        request_stop(S3Store(lake.s3, lake.settings.bucket))
        assert b.wait(timeout=180) == 0, stream_runner.tail(log_b)
    finally:
        for proc in (a, b):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGCONT)
                os.killpg(proc.pid, signal.SIGKILL)
    lake.watch_log_entries()
    record_fault("pause past the TTL", 1, *tally(lake), fresh)
    assert lake.rewritten == []
    assert_one_writer_identity(lake)  # the paused driver's owner never reappears after B's
    assert_lake_matches(lake.query, lake.generator.expected)


def wait_until(
    ready: Callable[[], bool], proc: subprocess.Popen[bytes], timeout: float = 300
) -> bool:
    """True once `ready()`; False if `proc` ended first or time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if ready():
            return True
        time.sleep(2)
    return False


def test_a_driver_killed_in_its_first_checkpoint_write_does_not_block_the_next(
    lake: Lake, tmp_path: Path
) -> None:
    """A kill between Spark's temporary checkpoint object and its rename leaves `.0.<uuid>.tmp`
    in a fresh checkpoint; the next driver must clear it and start, not refuse batch 0."""
    rng = random.Random(SEED + 2)
    lake.land_minute(rng)
    leftovers = [
        f"_checkpoints/{MEDALLION}/offsets/.0.{uuid.uuid4()}.tmp",
        f"_checkpoints/{MEDALLION}/commits/.0.{uuid.uuid4()}.tmp",
        f"_checkpoints/{MEDALLION}/.metadata.{uuid.uuid4()}.tmp",
    ]
    for key in leftovers:
        lake.s3.put_object(Bucket=lake.settings.bucket, Key=key, Body=b'v1\n{"batchWatermarkMs":0')

    result = stream_runner.run(lake.uri, *lake.job_args("--once"), extra_env=lake.job_env())

    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    listed = lake.s3.list_objects_v2(Bucket=lake.settings.bucket, Prefix="_checkpoints/")
    keys = {item["Key"] for item in listed.get("Contents", [])}
    assert keys.isdisjoint(leftovers)
    assert f"_checkpoints/{MEDALLION}/offsets/0" in keys
    assert lake.expected_prices() <= lake.silver_prices()


TWO_HOP_DRIVER = Path(__file__).with_name("two_hop_driver.py")


def test_a_lake_of_the_two_query_versions_moves_onto_one_query_once(lake: Lake) -> None:
    """Bronze ahead of silver, as the two-query versions leave it: the first driver drains it
    into silver and gold and goes on from the raw zone's position, reading no raw object twice."""
    rng = random.Random(SEED + 3)
    for bronze_only in (False, True):
        lake.land_minute(rng)
        extra = ("--once", "--bronze-only") if bronze_only else ("--once",)
        old = stream_runner.run(
            lake.uri, *lake.job_args(*extra), extra_env=lake.job_env(), app=TWO_HOP_DRIVER
        )
        assert old.returncode == 0, (old.stdout + old.stderr)[-4000:]
    ((silvered,),) = lake.query("select count(*) from silver.coin_prices")
    assert 0 < silvered < len(lake.expected_prices())  # bronze is ahead of silver
    lake.land_minute(rng)

    for start in range(2):  # the second start finds the migration done
        if start:
            lake.land_minute(rng)
        new = stream_runner.run(lake.uri, *lake.job_args("--once"), extra_env=lake.job_env())
        output = new.stdout + new.stderr
        assert new.returncode == 0, output[-4000:]
        migrating = "written by the two-query versions: draining them once" in output
        assert migrating == (start == 0), output[-4000:]
        # The drain read every raw object there was: the first start left nothing to MEDALLION.
        wrote = (
            (BRONZE_TO_SILVER, MEDALLION, RAW_TO_BRONZE)
            if start
            else (BRONZE_TO_SILVER, RAW_TO_BRONZE)
        )
        assert_lake_matches(lake.query, lake.generator.expected, wrote)
    listed = lake.s3.list_objects_v2(Bucket=lake.settings.bucket, Prefix="_checkpoints/")
    keys = {item["Key"] for item in listed.get("Contents", [])}
    assert f"_checkpoints/{MIGRATED}" in keys
    assert any(k.startswith(f"_checkpoints/{MEDALLION}/sources/") for k in keys)
