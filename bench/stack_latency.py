"""Benchmark on a running stack (`make demo`): freshness, scheduling delay, memory of every part.

Targets (DESIGN.md and issue 11): raw object landed -> silver row visible p95 <= 10 s; gold
p95 <= 60 s; collection task p95 <= 3 s; scheduling delay p95 <= 5 s; the stack <= 6 GiB.

Freshness is measured with probes, each a real collector envelope (a /simple/price response for a
minute of the year 2000, so it never collides with collected data) landed through the raw-zone
writer. A probe is timed from its object's LastModified in MinIO to the first read (delta-rs,
which `lakehouse query` reads with, at the table's newest commit) that returns its row: in
silver.coin_prices, then its 1m bar in gold.coin_ohlc. Probes land every few seconds at uneven
moments, so they meet every phase of the stream's micro-batches, and all of them are watched at
once (`ProbeWatch`).

The figures count only after a warm-up (10 minutes of the stream driver and of the scheduler, 2 in
a quick run; the bench waits for what is missing): the first micro-batches and scheduler loops of
a fresh start measure the start, and a driver that Airflow is still starting (after the floor
paused it, say) would hold every probe until it runs. Scheduling delay is, per scheduled run of
every collection DAG, the time from the end of its data interval (`run_after`) to its first task's
start, from Airflow's REST API, over the runs due after the warm-up (a full run waits after its
probes until there are 30).
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import pyarrow as pa
import pyarrow.compute as pc
import requests
from deltalake import DeltaTable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from figures import Figure, run_alone, spread

from lakehouse import tables
from lakehouse.config import LakeSettings, Settings, read_env_file
from lakehouse.landed_log import LandedLog
from lakehouse.query import delta_storage_options, table_uri
from lakehouse.raw_zone import (
    ApiResponse,
    DataInterval,
    Envelope,
    RawZoneWriter,
    s3_client,
)
from lakehouse.runtime.airflow_stack import api_token
from lakehouse.runtime.processes import http_ok
from lakehouse.runtime.stack import LocalStack, family_rss
from lakehouse.sources.registry import sources

SECTION = "stack"
WARM_UP = timedelta(minutes=10)
QUICK_WARM_UP = timedelta(minutes=2)
RECENT = timedelta(minutes=45)
"""Scheduling delay counts scheduled runs due this recently (and after the warm-up): older ones
include the runs Airflow started late after a stop of the scheduler or of the stack."""
MIN_RUNS = 30
"""Scheduling delay needs at least this many scheduled runs due after the warm-up."""
RUNS_WAIT = timedelta(minutes=20)
"""How long a full run waits for them after its probes."""
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
PROBE_EVERY = (4.0, 9.0)
"""Seconds between two probes, drawn uniformly: uneven against the 5 s trigger."""
PROBE_TIMEOUT = 240.0
GIB = 2**30


@dataclass
class Probe:
    minute: datetime
    key: str
    landed: datetime
    silver: float | None = None
    gold: float | None = None


def probe_envelope(minute: datetime, number: int, run_tag: int) -> Envelope:
    """A collector's envelope of a /simple/price answer for `minute` (bitcoin in usd)."""
    body = {"bitcoin": {"usd": 1.0 + number, "last_updated_at": int(minute.timestamp())}}
    response = ApiResponse(
        "coingecko", "simple_price", "bench://probe", {"probe": str(run_tag)}, 200,
        json.dumps(body).encode(), datetime.now(UTC),
    )  # fmt: skip
    return Envelope(response, DataInterval(minute, minute + timedelta(minutes=1)), "live", "bench")


def last_modified(s3: Any, bucket: str, key: str) -> datetime:
    """The object's LastModified as ListObjectsV2 gives it (milliseconds, unlike HEAD's header)."""
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)["Contents"][0]
    modified: datetime = listed["LastModified"]
    return modified.astimezone(UTC)


class NewestRows:
    """One table as delta-rs reads it, followed from commit to commit: a poll reads the log's new
    commits only (`update_incremental`) and scans the table only when one has appeared.

    The probes' observer shares two cores with the stack it measures: opening the lake for DuckDB
    at every poll cost about 0.26 s of CPU in this process, and more in MinIO: some 40% of a
    core at a poll every 0.25 s (plus its own 0.4 s), taken from the stream's driver. A row
    becomes visible only with a new commit, so skipping the scan between commits changes no
    figure but the load.
    """

    def __init__(self, uri: str, options: Mapping[str, str]) -> None:
        self.uri = uri
        self.options = dict(options)
        self.table: DeltaTable | None = None
        self.version = -1

    def changed(self) -> bool:
        """Whether a commit was made since the last call (the table's first one included)."""
        if self.table is None:
            if not DeltaTable.is_deltatable(self.uri, storage_options=self.options):
                return False
            self.table = DeltaTable(self.uri, storage_options=self.options)
        else:
            self.table.update_incremental()
        seen, self.version = self.version, self.table.version()
        return self.version != seen

    def values(self, column: str, where: pc.Expression | None = None) -> set[Any]:
        """`column`'s distinct values in the rows matching `where`, at the newest version."""
        assert self.table is not None, "changed() first"
        rows = self.table.to_pyarrow_dataset().to_table(columns=[column], filter=where)
        return set(rows.column(column).to_pylist())


def _bitcoin_usd(column: str, minutes: list[datetime]) -> pc.Expression:
    wanted = pa.array(minutes, pa.timestamp("us", tz="UTC"))
    return (
        (pc.field("coin_id") == "bitcoin")
        & (pc.field("vs_currency") == "usd")
        & pc.field(column).isin(wanted)
    )


@dataclass
class ProbeWatch:
    """The probe minutes that silver.coin_prices, and gold.coin_ohlc's 1m bars, return."""

    silver: NewestRows
    gold: NewestRows

    @classmethod
    def on(cls, lake: LakeSettings) -> ProbeWatch:
        options = delta_storage_options(lake)
        silver, gold = (
            NewestRows(table_uri(lake.uri(""), spec), options)
            for spec in (tables.SILVER_COIN_PRICES, tables.GOLD_COIN_OHLC)
        )
        return cls(silver, gold)

    def visible(self, probes: list[Probe]) -> tuple[set[datetime], set[datetime]]:
        """Minutes seen in silver and in gold by this poll (only tables with a new commit)."""
        minutes = [p.minute for p in probes]
        silver = (
            self.silver.values("price_ts", _bitcoin_usd("price_ts", minutes))
            if self.silver.changed()
            else set()
        )
        gold = (
            self.gold.values(
                "bar_start", _bitcoin_usd("bar_start", minutes) & (pc.field("bar") == "1m")
            )
            if self.gold.changed()
            else set()
        )
        return _utc(silver), _utc(gold)


def _utc(instants: set[datetime]) -> set[datetime]:
    return {instant.astimezone(UTC) for instant in instants}


def freshness(settings: Settings, count: int, seed: int) -> list[Probe]:
    """Land `count` probes at uneven moments; watch them until each is in silver and gold."""
    lake = settings.lake
    s3 = s3_client(lake)
    writer = RawZoneWriter(s3, lake.bucket, landed=LandedLog(s3, lake.bucket))  # as collectors
    watch = ProbeWatch.on(lake)
    rng = random.Random(seed)
    run_tag = int(time.time())
    probes: list[Probe] = []
    next_landing = time.monotonic()
    started = time.monotonic()
    while True:
        if len(probes) < count and time.monotonic() >= next_landing:
            minute = EPOCH + timedelta(minutes=run_tag % 500_000 + len(probes))
            envelope = probe_envelope(minute, len(probes), run_tag)
            key = writer.write(envelope).key
            probes.append(Probe(minute, key, last_modified(s3, lake.bucket, key)))
            next_landing = time.monotonic() + rng.uniform(*PROBE_EVERY)
        waiting = [p for p in probes if p.silver is None or p.gold is None]
        if len(probes) == count and not waiting:
            return probes
        if time.monotonic() - started > PROBE_TIMEOUT + count * PROBE_EVERY[1]:
            return probes
        if waiting:
            in_silver, in_gold = watch.visible(waiting)
            now = datetime.now(UTC)
            for probe in waiting:
                if probe.silver is None and probe.minute in in_silver:
                    probe.silver = (now - probe.landed).total_seconds()
                    print(
                        f"  probe {probes.index(probe) + 1:2d}: silver after {probe.silver:5.1f} s"
                    )
                if probe.gold is None and probe.minute in in_gold:
                    probe.gold = (now - probe.landed).total_seconds()
        time.sleep(0.25)


def _runs(base: str, token: str, dag_id: str, since: datetime) -> list[dict[str, Any]]:
    response = requests.get(
        f"{base}/api/v2/dags/{dag_id}/dagRuns/~/taskInstances",
        params={"run_after_gte": since.isoformat(), "limit": "1000"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    response.raise_for_status()
    instances: list[dict[str, Any]] = response.json()["task_instances"]
    return instances


def scheduling(settings: Settings, since: datetime) -> tuple[list[float], list[float]]:
    """Per scheduled run of each collection DAG due since `since`: interval end -> first task
    start; and the durations of their tasks."""
    token = api_token(settings, read_env_file(settings.credentials_file))
    base = f"http://127.0.0.1:{settings.ports.airflow}"
    first_start: dict[tuple[str, str], datetime] = {}
    due: dict[tuple[str, str], datetime] = {}
    durations = []
    for source in sources().values():
        for ti in _runs(base, token, source.dag_id, since):
            if not str(ti.get("dag_run_id", "")).startswith("scheduled__"):
                continue
            if ti.get("duration") is not None and ti.get("state") == "success":
                durations.append(float(ti["duration"]))
            if not ti.get("start_date") or not ti.get("run_after"):
                continue
            run = (source.dag_id, ti["dag_run_id"])
            started = datetime.fromisoformat(ti["start_date"])
            due[run] = datetime.fromisoformat(ti["run_after"])
            first_start[run] = min(first_start.get(run, started), started)
    delays = [(first_start[run] - due[run]).total_seconds() for run in first_start]
    return delays, durations


def stream_driver() -> psutil.Process | None:
    """The stream job's driver JVM (spark-submit of jobs/lakehouse_stream.py)."""
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if "java" in cmdline and "lakehouse_stream.py" in cmdline:
            return proc
    return None


def memory(stack: LocalStack) -> dict[str, int]:
    """Resident memory per part; the stream driver (it runs under the scheduler) on its own."""
    parts = {part.name: part.rss_bytes for part in stack.status() if part.rss_bytes}
    driver = stream_driver()
    if driver is not None:
        driver_rss = family_rss(driver)
        parts["spark-driver (lakehouse_stream)"] = driver_rss
        if "airflow-scheduler" in parts:
            parts["airflow-scheduler"] -= driver_rss
    return parts


def _started(proc: psutil.Process | None) -> datetime:
    return datetime.fromtimestamp(proc.create_time(), UTC) if proc else datetime.now(UTC)


def stack_is_up(settings: Settings) -> bool:
    return http_ok(f"http://127.0.0.1:{settings.ports.airflow}/api/v2/monitor/health", timeout=3)


def measure(quick: bool = False, env: Mapping[str, str] | None = None) -> list[Figure]:
    """The stack's figures; none when no stack is running (it says so)."""
    settings = Settings.from_env(env)
    if not stack_is_up(settings):
        print("skipped: needs the running stack (make demo)")
        return []
    stack = LocalStack(settings)
    scheduler = _started(stack.processes.process("airflow-scheduler"))
    warm_up = QUICK_WARM_UP if quick else WARM_UP
    warm = max(scheduler, _started(stream_driver())) + warm_up
    if datetime.now(UTC) < warm:
        wait = (warm - datetime.now(UTC)).total_seconds()
        minutes = warm_up.total_seconds() / 60
        print(f"warming up: {wait:.0f} s until the driver and the scheduler ran {minutes:g} min")
        time.sleep(wait)
    figures: list[Figure] = []
    probes = freshness(settings, 10 if quick else 30, seed=int(time.time()))
    silver = [p.silver for p in probes if p.silver is not None]
    gold = [p.gold for p in probes if p.gold is not None]
    figures += spread(SECTION, "landed -> silver visible", silver, {95: 10.0})
    figures += spread(SECTION, "landed -> gold visible", gold, {95: 60.0})
    # Runs due after the warm-up, the stream running all along: a quick run takes what there is,
    # past the scheduler's first two minutes; a full one waits for MIN_RUNS.
    since = max(datetime.now(UTC) - RECENT, scheduler + warm_up)
    delays, durations = scheduling(settings, since)
    deadline = time.monotonic() + RUNS_WAIT.total_seconds()
    while not quick and len(delays) < MIN_RUNS and time.monotonic() < deadline:
        print(f"  {len(delays)} scheduled runs since the warm-up: waiting for {MIN_RUNS}")
        time.sleep(60)
        delays, durations = scheduling(settings, since)
    figures += spread(SECTION, "scheduling delay, interval end -> first task start", delays,
                      {95: 5.0})  # fmt: skip
    figures += spread(SECTION, "collection task duration", durations, {95: 3.0})
    missing = len(probes) - len(silver)
    if missing:
        print(f"  {missing} of {len(probes)} probes never reached silver within the wait")
    figures.append(Figure(SECTION, "probes missing in silver", missing, "", "0", missing == 0))
    parts = memory(stack)
    for name, rss in sorted(parts.items()):
        figures.append(Figure(SECTION, f"memory: {name}", rss / GIB, "GiB"))
    total = sum(parts.values()) / GIB
    figures.append(Figure(SECTION, "memory: the stack", total, "GiB", "<= 6 GiB", total <= 6.0))
    return figures


if __name__ == "__main__":
    sys.exit(run_alone(measure, __doc__, "10 probes after a 2-minute warm-up"))
