"""What every source is: the one description that the DAG factory, the hook, the CLI and the
local runtime read, so that adding a source means one folder and one registry line.

A source names its Airflow Connection and pool, the parts of its collect DAG (one task each), its
trigger-form Params, and three functions: Params -> a validated selection, a Connection -> a client,
and (client, selection, run) -> the responses landed. Nothing here imports pyspark or airflow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from lakehouse.raw_zone import DataInterval, Mode, PutResult, RawZoneWriter
from lakehouse.sources.budget import PartCalls, monthly_calls, peak_calls_per_minute
from lakehouse.sources.limiter import CallLimiter, SlidingWindowLimiter, limit_file

Selection = TypeVar("Selection")
Client = TypeVar("Client")
Selection_contra = TypeVar("Selection_contra", contravariant=True)
Client_contra = TypeVar("Client_contra", contravariant=True)


@dataclass(frozen=True)
class Connection:
    """The fields of an Airflow Connection (type http) that a source reads.

    Inside Airflow they come from the source's Connection; outside, from the source's settings
    (the environment), so the CLI and the tasks build their clients the same way.
    """

    host: str = ""
    password: str = field(default="", repr=False)
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_airflow(self) -> dict[str, Any]:
        """The JSON form of `AIRFLOW_CONN_<ID>`."""
        conn: dict[str, Any] = {"conn_type": "http", "host": self.host, "extra": dict(self.extra)}
        if self.password:
            conn["password"] = self.password
        return conn


class SourceSettings(Protocol):
    """A source's settings from the environment: its Connection and its runs' default Params."""

    def connection(self) -> Connection: ...

    def default_params(self) -> dict[str, Any]: ...


@dataclass
class Collection:
    """What a run landed, and the parts it had nothing to fetch for (shown as skipped)."""

    mode: Mode
    results: list[PutResult] = field(default_factory=list)
    skipped: tuple[str, ...] = ()
    covered: list[str] = field(default_factory=list)
    """History: the objects (or claims) of other runs that already hold this run's blocks."""

    @property
    def keys(self) -> list[str]:
        return [result.key for result in self.results]


class Collector(Protocol[Selection_contra, Client_contra]):
    """Fetches a run's planned requests with `client` and lands each response with `writer`;
    `now` decides which history the API serves, and at which grain."""

    def __call__(
        self,
        client: Client_contra,
        writer: RawZoneWriter,
        selection: Selection_contra,
        /,
        *,
        interval: DataInterval,
        run_id: str,
        mode: Mode,
        parts: Sequence[str],
        now: datetime,
    ) -> Collection: ...


@dataclass(frozen=True)
class Source(Generic[Selection, Client]):
    """One API the lakehouse collects from; see the module docstring."""

    name: str
    """Raw-zone prefix `raw/<name>/`, CLI `lakehouse collect <name>`, DAG id `collect_<name>`."""
    title: str
    conn_id: str
    pool: str
    default_pool_slots: int
    parts: tuple[str, ...]
    """The collect DAG's tasks, in order; each collects one part of the API."""
    simulator_path: str
    """Where the offline simulator serves this API, e.g. `/api/v3`."""
    settings_from_env: Callable[[Mapping[str, str]], SourceSettings]
    params: Callable[[SourceSettings], dict[str, dict[str, Any]]]
    """The trigger form: Param name -> JSON schema with `default` and `description`."""
    selection: Callable[[Mapping[str, Any]], Selection]
    """Validates a run's Params; raises ValueError naming the bad value."""
    client: Callable[[Connection, CallLimiter], Client]
    """A client for the Connection that takes a slot of the limiter before every request."""
    default_rate_limit: Callable[[Connection], int]
    collect: Collector[Selection, Client]
    check: Callable[[Client, Selection, Path | None], None] | None = None
    """Checks a run's selection against the API's own lists, cached in the given directory;
    raises InvalidSelection naming what the API does not know."""
    tags: tuple[str, ...] = ()
    live_calls: Callable[[SourceSettings], tuple[PartCalls, ...]] = lambda _settings: ()
    """The call budget, 1 of 2: each part's live calls per run and cadence at these settings."""
    monthly_credits: Callable[[SourceSettings], int | None] = lambda _settings: None
    """The call budget, 2 of 2: the plan's calls a month; None when the API has no monthly cap."""
    live_endpoints: Mapping[str, str] = field(default_factory=dict)
    """Each part's raw-zone endpoint of its live objects (`lakehouse.healing` counts them)."""
    heals: tuple[str, ...] = ()
    """The parts whose missed minutes history can fill; the API keeps no history of the others."""

    @property
    def dag_id(self) -> str:
        return f"collect_{self.name}"

    def pool_slots_variable(self) -> str:
        return f"LAKEHOUSE_{self.name.upper()}_POOL_SLOTS"

    def monthly_calls(self, settings: SourceSettings) -> int:
        """What the live schedule costs in a 30-day month (`lakehouse.sources.budget`)."""
        return monthly_calls(self.live_calls(settings))

    def live_reserve(self, settings: SourceSettings, rate_limit: int) -> int:
        """Slots of each minute of the shared limiter that backfills leave to live calls."""
        return min(peak_calls_per_minute(self.live_calls(settings)), rate_limit - 1)

    def call_limiter(
        self, limits_dir: Path, conn: Connection, settings: SourceSettings
    ) -> SlidingWindowLimiter:
        """The limiter every process calling this API shares: the Connection's rate limit, with
        the live calls of a minute reserved from backfills."""
        rate = self.rate_limit_per_minute(conn)
        return SlidingWindowLimiter(
            self.name,
            limit_file(limits_dir, self.name),
            rate,
            reserved=self.live_reserve(settings, rate),
        )

    def rate_limit_per_minute(self, conn: Connection) -> int:
        """The connection extra `rate_limit_per_minute`, else the source's default for it."""
        value = conn.extra.get("rate_limit_per_minute")
        if value is None:
            return self.default_rate_limit(conn)
        if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
            raise ValueError(
                f"connection {self.conn_id}: rate_limit_per_minute must be a whole number, "
                f"got {value!r}"
            )
        if int(value) <= 0:
            raise ValueError(f"connection {self.conn_id}: rate_limit_per_minute must be positive")
        return int(value)


class InvalidSelection(ValueError):
    """A run's Params name something the API does not know (an unknown coin id, a currency it
    does not quote): retrying cannot help, so the task fails at once, naming the values."""
