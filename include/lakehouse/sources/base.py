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
from typing import Any, Generic, Protocol, TypeVar

from lakehouse.raw_zone import DataInterval, Mode, PutResult, RawZoneWriter

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
    client: Callable[[Connection, float], Client]
    """A client for the Connection, spacing its calls at least the given seconds apart."""
    default_rate_limit: Callable[[Connection], int]
    collect: Collector[Selection, Client]
    tags: tuple[str, ...] = ()

    @property
    def dag_id(self) -> str:
        return f"collect_{self.name}"

    def pool_slots_variable(self) -> str:
        return f"LAKEHOUSE_{self.name.upper()}_POOL_SLOTS"

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
