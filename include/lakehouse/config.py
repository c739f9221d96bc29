"""Typed settings, read once at an entry point (the CLI, a Spark job's main) and passed down.

Library functions never read the environment themselves: they take these values as arguments, so
that the same code runs under Airflow, from the CLI and in tests with different values.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
"""The project checkout: dags/, jobs/ and plugins/ live beside include/."""

COINGECKO_DEMO_URL = "https://api.coingecko.com/api/v3"
COINGECKO_PRO_URL = "https://pro-api.coingecko.com/api/v3"
COINGECKO_RATE_LIMITS = {"demo": 30, "pro": 500}
"""Requests per minute per plan (2025 docs: about 30/min demo; paid plans 500/min and more)."""
SMARTCITIZEN_URL = "https://api.smartcitizen.me/v0"
SMARTCITIZEN_RATE_LIMIT = 120
"""Requests per minute: the API allows about 150/min per IP; keep some for everyone else."""


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a KEY=VALUE file such as the generated credentials file; # starts a comment."""
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip()
    return values


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


@dataclass(frozen=True)
class CoinGeckoSettings:
    """CoinGecko API v3: the plan (`demo`, `pro`) picks the key header; the URL may be a stub.

    Environment (outside Airflow; inside, the `coingecko_api` Connection holds URL, key and plan):
    COINGECKO_BASE_URL (default: the plan's public URL), COINGECKO_API_KEY, COINGECKO_API_PLAN
    (`demo` or `pro`), COINGECKO_COINS and COINGECKO_CURRENCIES (comma lists of lower-case ids),
    COINGECKO_MARKETS_TOP_N (how many coins `/coins/markets` lands, by market cap) and
    COINGECKO_RATE_LIMIT_PER_MINUTE (default by plan; backfills pace their calls to it).
    """

    base_url: str = COINGECKO_DEMO_URL
    api_key: str = field(default="", repr=False)
    plan: str = "demo"
    coins: tuple[str, ...] = ("bitcoin", "ethereum", "solana")
    currencies: tuple[str, ...] = ("usd", "eur")
    markets_top_n: int = 100
    rate_limit_per_minute: int = COINGECKO_RATE_LIMITS["demo"]

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CoinGeckoSettings:
        """Only environment variables, no file: cheap enough for a DAG file's Param defaults."""
        plan = env.get("COINGECKO_API_PLAN", "demo")
        if plan not in ("demo", "pro"):
            raise ValueError(f"COINGECKO_API_PLAN must be 'demo' or 'pro', got {plan!r}")
        return cls(
            base_url=env.get(
                "COINGECKO_BASE_URL", COINGECKO_PRO_URL if plan == "pro" else COINGECKO_DEMO_URL
            ),
            api_key=env.get("COINGECKO_API_KEY", ""),
            plan=plan,
            coins=_csv(env.get("COINGECKO_COINS"), cls.coins),
            currencies=_csv(env.get("COINGECKO_CURRENCIES"), cls.currencies),
            markets_top_n=_int(env, "COINGECKO_MARKETS_TOP_N", cls.markets_top_n),
            rate_limit_per_minute=_int(
                env, "COINGECKO_RATE_LIMIT_PER_MINUTE", COINGECKO_RATE_LIMITS[plan]
            ),
        )


@dataclass(frozen=True)
class SmartCitizenSettings:
    """Smart Citizen API v0 (public reads, no key).

    Environment (outside Airflow; inside, the `smartcitizen_api` Connection holds the URL):
    SMARTCITIZEN_BASE_URL (default https://api.smartcitizen.me/v0), SMARTCITIZEN_DEVICES (comma
    list of device ids), SMARTCITIZEN_WORLD_MAP (`true`/`false`: also land the world map every
    minute) and SMARTCITIZEN_RATE_LIMIT_PER_MINUTE (backfills pace their calls to it).
    """

    base_url: str = SMARTCITIZEN_URL
    devices: tuple[int, ...] = (1616, 13006, 15602)
    """One device of each API shape (2015, 2020, 2023+); the simulator serves all three."""
    world_map: bool = False
    rate_limit_per_minute: int = SMARTCITIZEN_RATE_LIMIT

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SmartCitizenSettings:
        """Only environment variables, no file: cheap enough for a DAG file's Param defaults."""
        raw_devices = _csv(env.get("SMARTCITIZEN_DEVICES"), ())
        try:
            devices = tuple(int(item) for item in raw_devices) or cls.devices
        except ValueError as exc:
            raise ValueError(
                f"SMARTCITIZEN_DEVICES must be a comma list of device ids, got "
                f"{env.get('SMARTCITIZEN_DEVICES')!r}"
            ) from exc
        return cls(
            base_url=env.get("SMARTCITIZEN_BASE_URL", SMARTCITIZEN_URL),
            devices=devices,
            world_map=_bool(env, "SMARTCITIZEN_WORLD_MAP", cls.world_map),
            rate_limit_per_minute=_int(
                env, "SMARTCITIZEN_RATE_LIMIT_PER_MINUTE", cls.rate_limit_per_minute
            ),
        )


@dataclass(frozen=True)
class SimulatorSettings:
    """Faults the API simulator injects by itself (it also takes them per request).

    LAKEHOUSE_SIMULATOR_FAULTS: `kind=probability` pairs, e.g. `429=0.05,500=0.02,slow=0.01`
    (kinds: 429, 500, slow, malformed, html, drift); LAKEHOUSE_SIMULATOR_FAULT_SEED makes the
    sequence of faults repeatable; LAKEHOUSE_SIMULATOR_RETRY_AFTER (seconds a 429 asks to wait) and
    LAKEHOUSE_SIMULATOR_SLOW_SECONDS (how long a slow response takes).
    """

    faults: str = ""
    fault_seed: int = 0
    retry_after: int = 2
    slow_seconds: float = 15.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SimulatorSettings:
        slow = env.get("LAKEHOUSE_SIMULATOR_SLOW_SECONDS", str(cls.slow_seconds))
        try:
            slow_seconds = float(slow)
        except ValueError as exc:
            raise ValueError(
                f"LAKEHOUSE_SIMULATOR_SLOW_SECONDS must be a number, got {slow!r}"
            ) from exc
        return cls(
            faults=env.get("LAKEHOUSE_SIMULATOR_FAULTS", ""),
            fault_seed=_int(env, "LAKEHOUSE_SIMULATOR_FAULT_SEED", cls.fault_seed),
            retry_after=_int(env, "LAKEHOUSE_SIMULATOR_RETRY_AFTER", cls.retry_after),
            slow_seconds=slow_seconds,
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
    airflow_worker_logs: int = 8793
    airflow_triggerer_logs: int = 8794


@dataclass(frozen=True)
class Settings:
    """Everything an entry point needs: the environment, over the generated credentials file."""

    home: Path
    lake: LakeSettings
    coingecko: CoinGeckoSettings
    ports: Ports
    pool_slots: dict[str, int] = field(default_factory=dict)
    """Airflow pool per API, sized so that concurrent tasks stay within its rate limit."""
    smartcitizen: SmartCitizenSettings = field(default_factory=SmartCitizenSettings)
    simulator: SimulatorSettings = field(default_factory=SimulatorSettings)

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
            return _int(env, f"LAKEHOUSE_{name.upper()}_PORT", default)

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
        coingecko = CoinGeckoSettings.from_env(env)
        pool_slots = {
            "coingecko_api": _int(env, "LAKEHOUSE_COINGECKO_POOL_SLOTS", 2),
            "smartcitizen_api": _int(env, "LAKEHOUSE_SMARTCITIZEN_POOL_SLOTS", 4),
        }
        return cls(
            home=home,
            lake=lake,
            coingecko=coingecko,
            ports=ports,
            pool_slots=pool_slots,
            smartcitizen=SmartCitizenSettings.from_env(env),
            simulator=SimulatorSettings.from_env(env),
        )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, str(default))
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from exc


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if raw.strip().lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be true or false, got {raw!r}")


def _csv(raw: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    if not raw:
        return default
    return tuple(item.strip() for item in raw.split(",") if item.strip())
