"""Typed settings, read once at an entry point (the CLI, a Spark job's main) and passed down.

Library functions never read the environment themselves: they take these values as arguments, so
that the same code runs under Airflow, from the CLI and in tests with different values.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lakehouse.env import env_float, env_int, read_env_file

if TYPE_CHECKING:
    from lakehouse.sources.base import SourceSettings

REPO_ROOT = Path(__file__).resolve().parents[2]
"""The project checkout: dags/, jobs/ and plugins/ live beside include/."""


@dataclass(frozen=True)
class LakeSettings:
    """Where the lake is and how to reach it (MinIO locally, any S3 in production)."""

    bucket: str = "lake"
    endpoint_url: str = "http://127.0.0.1:9000"
    access_key: str = field(default="", repr=False)
    secret_key: str = field(default="", repr=False)
    region: str = "us-east-1"

    def uri(self, path: str, scheme: str = "s3") -> str:
        """`s3://lake/<path>` for delta-rs and boto3, `s3a://lake/<path>` for Spark."""
        return f"{scheme}://{self.bucket}/{path.strip('/')}"


SIMULATOR_PLANS = ("demo", "pro", "enterprise")
SIMULATOR_HISTORIES = ("api", "minutely")


@dataclass(frozen=True)
class SimulatorSettings:
    """How the API simulator behaves; the defaults are the real APIs' behaviour (the demo's).

    Faults it injects by itself (it also takes them per request): LAKEHOUSE_SIMULATOR_FAULTS,
    `kind=probability` pairs, e.g. `429=0.05,500=0.02,slow=0.01` (kinds: 429, 500, slow,
    malformed, html, drift); LAKEHOUSE_SIMULATOR_FAULT_SEED makes the sequence of faults
    repeatable; LAKEHOUSE_SIMULATOR_RETRY_AFTER (seconds an injected 429 asks to wait) and
    LAKEHOUSE_SIMULATOR_SLOW_SECONDS (how long a slow response takes).

    The real APIs' rules (see `lakehouse.simulator.plans` for the docs they follow):
    LAKEHOUSE_SIMULATOR_COINGECKO_PLAN (`demo`, `pro`, `enterprise`): the CoinGecko plan, which sets
    the history window and whether `interval=5m|hourly` is served; a request with a demo key is
    always served as Demo. LAKEHOUSE_SIMULATOR_COINGECKO_RATE_LIMIT and
    LAKEHOUSE_SIMULATOR_SMARTCITIZEN_RATE_LIMIT: calls per rolling minute before a 429 (0: no
    limit; defaults 30, the Demo plan's figure on CoinGecko's pricing page, and 150, Smart
    Citizen's per-IP limit). LAKEHOUSE_SIMULATOR_HISTORY: `api` serves CoinGecko history at the
    API's automatic granularity; `minutely` is an explicit test option that serves one point per
    minute for ranges within a day, which the real API never does.
    """

    faults: str = ""
    fault_seed: int = 0
    retry_after: int = 2
    slow_seconds: float = 15.0
    coingecko_plan: str = "demo"
    coingecko_rate_limit: int = 30
    smartcitizen_rate_limit: int = 150
    history: str = "api"

    def __post_init__(self) -> None:
        if self.coingecko_plan not in SIMULATOR_PLANS:
            raise ValueError(
                f"LAKEHOUSE_SIMULATOR_COINGECKO_PLAN must be one of {', '.join(SIMULATOR_PLANS)}, "
                f"got {self.coingecko_plan!r}"
            )
        if self.history not in SIMULATOR_HISTORIES:
            raise ValueError(
                f"LAKEHOUSE_SIMULATOR_HISTORY must be one of {', '.join(SIMULATOR_HISTORIES)}, "
                f"got {self.history!r}"
            )
        if self.coingecko_rate_limit < 0 or self.smartcitizen_rate_limit < 0:
            raise ValueError("simulator rate limits must be 0 (off) or a positive number of calls")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SimulatorSettings:
        prefix = "LAKEHOUSE_SIMULATOR_"
        return cls(
            faults=env.get(f"{prefix}FAULTS", ""),
            fault_seed=env_int(env, f"{prefix}FAULT_SEED", cls.fault_seed),
            retry_after=env_int(env, f"{prefix}RETRY_AFTER", cls.retry_after),
            slow_seconds=env_float(env, f"{prefix}SLOW_SECONDS", cls.slow_seconds),
            coingecko_plan=env.get(f"{prefix}COINGECKO_PLAN", cls.coingecko_plan).strip().lower(),
            coingecko_rate_limit=env_int(
                env, f"{prefix}COINGECKO_RATE_LIMIT", cls.coingecko_rate_limit
            ),
            smartcitizen_rate_limit=env_int(
                env, f"{prefix}SMARTCITIZEN_RATE_LIMIT", cls.smartcitizen_rate_limit
            ),
            history=env.get(f"{prefix}HISTORY", cls.history).strip().lower(),
        )


@dataclass(frozen=True)
class Ports:
    """Local stack ports; every one can be moved so that two stacks (a demo and a test) coexist."""

    airflow: int = 8080
    minio: int = 9000
    minio_console: int = 9001
    postgres: int = 5433
    simulator: int = 8090
    spark_ui: int = 4040
    scheduler_health: int = 8974
    spark_master: int = 7077
    spark_master_ui: int = 8081
    spark_worker_ui: int = 8082
    """The first worker's UI; worker i (from 0) listens on this port plus i."""
    spark_history: int = 18080
    """The Spark History Server's UI (`lakehouse.runtime.spark_history`)."""


@dataclass(frozen=True)
class Settings:
    """Everything an entry point needs: the environment, over the generated credentials file."""

    home: Path
    lake: LakeSettings
    ports: Ports
    sources: Mapping[str, SourceSettings] = field(default_factory=dict)
    """Each registered source's settings, by source name."""
    pool_slots: Mapping[str, int] = field(default_factory=dict)
    """Airflow pool per API, sized so that concurrent tasks stay within its rate limit."""
    simulator: SimulatorSettings = field(default_factory=SimulatorSettings)
    limits_dir: Path | None = None
    """The shared call limiters' state, one file per source (`lakehouse.sources.limiter`):
    LAKEHOUSE_LIMITS_DIR, default `<home>/limits`. Every process calling an API must see it."""

    spool_dir: Path | None = None
    """Raw objects fetched while the lake was unavailable (`lakehouse.spool`):
    LAKEHOUSE_SPOOL_DIR, default `<home>/spool`. Every collecting process must see it."""
    spool_max_mb: int = 512
    """LAKEHOUSE_SPOOL_MAX_MB: past this, a run that cannot reach the lake fails."""
    spark_workers: int = 0
    """LAKEHOUSE_SPARK_WORKERS: 0 runs the stream in local mode; N > 0 starts a standalone master
    and N workers (`lakehouse.runtime.spark_cluster`) and submits the stream to them."""

    @property
    def limits(self) -> Path:
        return self.limits_dir or self.home / "limits"

    @property
    def spool(self) -> Path:
        return self.spool_dir or self.home / "spool"

    @property
    def credentials_file(self) -> Path:
        return self.home / "credentials.env"

    @property
    def tools_dir(self) -> Path:
        return REPO_ROOT / ".tools"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        home = Path(env.get("LAKEHOUSE_HOME", str(REPO_ROOT / ".lakehouse"))).resolve()
        # Values written by `lakehouse up` (generated secrets) sit below explicit environment.
        env = {**read_env_file(home / "credentials.env"), **env}

        def port(name: str, default: int) -> int:
            return env_int(env, f"LAKEHOUSE_{name.upper()}_PORT", default)

        defaults = Ports()
        ports = Ports(
            **{name: port(name, getattr(defaults, name)) for name in defaults.__dataclass_fields__}
        )
        lake = LakeSettings(
            bucket=env.get("LAKEHOUSE_BUCKET", "lake"),
            endpoint_url=env.get("LAKEHOUSE_S3_ENDPOINT", f"http://127.0.0.1:{ports.minio}"),
            access_key=env.get("LAKEHOUSE_S3_ACCESS_KEY", env.get("MINIO_ROOT_USER", "")),
            secret_key=env.get("LAKEHOUSE_S3_SECRET_KEY", env.get("MINIO_ROOT_PASSWORD", "")),
            region=env.get("LAKEHOUSE_S3_REGION", "us-east-1"),
        )
        # Imported here: the sources import the raw zone, which imports this module.
        from lakehouse.sources.registry import sources

        registered = sources(env).values()
        return cls(
            home=home,
            lake=lake,
            ports=ports,
            sources={source.name: source.settings_from_env(env) for source in registered},
            pool_slots={
                source.pool: env_int(env, source.pool_slots_variable(), source.default_pool_slots)
                for source in registered
            },
            simulator=SimulatorSettings.from_env(env),
            limits_dir=Path(limits) if (limits := env.get("LAKEHOUSE_LIMITS_DIR")) else None,
            spool_dir=Path(spool) if (spool := env.get("LAKEHOUSE_SPOOL_DIR")) else None,
            spool_max_mb=env_int(env, "LAKEHOUSE_SPOOL_MAX_MB", 512),
            spark_workers=_spark_workers(env),
        )


def _spark_workers(env: Mapping[str, str]) -> int:
    workers = env_int(env, "LAKEHOUSE_SPARK_WORKERS", 0)
    if not 0 <= workers <= MAX_SPARK_WORKERS:
        raise ValueError(
            f"LAKEHOUSE_SPARK_WORKERS must be between 0 (local mode) and {MAX_SPARK_WORKERS}, "
            f"got {workers}"
        )
    return workers


MAX_SPARK_WORKERS = 16
