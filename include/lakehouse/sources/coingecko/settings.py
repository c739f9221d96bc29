"""CoinGecko's settings outside Airflow (the CLI, the local runtime's live mode).

Inside Airflow the `coingecko_api` Connection holds the same values: host = base URL, password =
API key, extra `{"plan": "demo" | "pro", "rate_limit_per_minute": N}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lakehouse.env import env_csv, env_int
from lakehouse.sources.base import Connection

DEMO_URL = "https://api.coingecko.com/api/v3"
PRO_URL = "https://pro-api.coingecko.com/api/v3"
PLAN_URLS = {"demo": DEMO_URL, "pro": PRO_URL}
RATE_LIMITS = {"demo": 30, "pro": 500}
"""Requests per minute per plan (2025 docs: about 30/min demo; paid plans 500/min and more)."""


@dataclass(frozen=True)
class CoinGeckoSettings:
    """CoinGecko API v3: the plan (`demo`, `pro`) picks the key header; the URL may be a stub.

    Environment: COINGECKO_BASE_URL (default: the plan's public URL), COINGECKO_API_KEY,
    COINGECKO_API_PLAN (`demo` or `pro`), COINGECKO_COINS and COINGECKO_CURRENCIES (comma lists of
    lower-case ids), COINGECKO_MARKETS_TOP_N (how many coins `/coins/markets` lands, by market cap)
    and COINGECKO_RATE_LIMIT_PER_MINUTE (default by plan; backfills pace their calls to it).
    """

    base_url: str = DEMO_URL
    api_key: str = field(default="", repr=False)
    plan: str = "demo"
    coins: tuple[str, ...] = ("bitcoin", "ethereum", "solana")
    currencies: tuple[str, ...] = ("usd", "eur")
    markets_top_n: int = 100
    rate_limit_per_minute: int = RATE_LIMITS["demo"]

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CoinGeckoSettings:
        """Only environment variables, no file: cheap enough for a DAG file's Param defaults."""
        plan = env.get("COINGECKO_API_PLAN", "demo")
        if plan not in PLAN_URLS:
            raise ValueError(f"COINGECKO_API_PLAN must be 'demo' or 'pro', got {plan!r}")
        return cls(
            base_url=env.get("COINGECKO_BASE_URL", PLAN_URLS[plan]),
            api_key=env.get("COINGECKO_API_KEY", ""),
            plan=plan,
            coins=env_csv(env, "COINGECKO_COINS", cls.coins),
            currencies=env_csv(env, "COINGECKO_CURRENCIES", cls.currencies),
            markets_top_n=env_int(env, "COINGECKO_MARKETS_TOP_N", cls.markets_top_n),
            rate_limit_per_minute=env_int(
                env, "COINGECKO_RATE_LIMIT_PER_MINUTE", RATE_LIMITS[plan]
            ),
        )

    def connection(self) -> Connection:
        extra = {"plan": self.plan, "rate_limit_per_minute": self.rate_limit_per_minute}
        return Connection(host=self.base_url, password=self.api_key, extra=extra)

    def default_params(self) -> dict[str, Any]:
        return {
            "coins": list(self.coins),
            "currencies": list(self.currencies),
            "top_n": self.markets_top_n,
        }
