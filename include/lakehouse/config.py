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
    """CoinGecko API v3: the plan (`demo`, `pro`) picks the key header; the URL may be a stub."""

    base_url: str = COINGECKO_DEMO_URL
    api_key: str = field(default="", repr=False)
    plan: str = "demo"
    coins: tuple[str, ...] = ("bitcoin", "ethereum", "solana")
    currencies: tuple[str, ...] = ("usd", "eur")


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
        plan = env.get("COINGECKO_API_PLAN", "demo")
        if plan not in ("demo", "pro"):
            raise ValueError(f"COINGECKO_API_PLAN must be 'demo' or 'pro', got {plan!r}")
        coingecko = CoinGeckoSettings(
            base_url=env.get(
                "COINGECKO_BASE_URL", COINGECKO_PRO_URL if plan == "pro" else COINGECKO_DEMO_URL
            ),
            api_key=env.get("COINGECKO_API_KEY", ""),
            plan=plan,
            coins=_csv(env.get("COINGECKO_COINS"), CoinGeckoSettings.coins),
            currencies=_csv(env.get("COINGECKO_CURRENCIES"), CoinGeckoSettings.currencies),
        )
        pool_slots = {
            "coingecko_api": _int(env, "LAKEHOUSE_COINGECKO_POOL_SLOTS", 2),
            "smartcitizen_api": _int(env, "LAKEHOUSE_SMARTCITIZEN_POOL_SLOTS", 4),
        }
        return cls(home=home, lake=lake, coingecko=coingecko, ports=ports, pool_slots=pool_slots)


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, str(default))
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from exc


def _csv(raw: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    if not raw:
        return default
    return tuple(item.strip() for item in raw.split(",") if item.strip())
