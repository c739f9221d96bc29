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
"""Requests per minute per plan (https://www.coingecko.com/en/api/pricing: Demo 30/min; paid plans
from 250/min, Basic, to 500/min, Analyst and Lite, and more)."""
MONTHLY_CREDITS = {"demo": 10_000, "pro": 500_000}
"""Calls a month per plan (same page: Demo 10,000; Basic 100,000, Analyst 500,000, Lite 2,000,000):
`pro` stands for Analyst, matching its 500/min; set COINGECKO_MONTHLY_CREDITS for another plan."""


@dataclass(frozen=True)
class CoinGeckoSettings:
    """CoinGecko API v3: the plan (`demo`, `pro`) picks the key header; the URL may be a stub.

    Environment: COINGECKO_BASE_URL (default: the plan's public URL), COINGECKO_API_KEY,
    COINGECKO_API_PLAN (`demo` or `pro`), COINGECKO_COINS and COINGECKO_CURRENCIES (comma lists of
    lower-case ids), COINGECKO_MARKETS_TOP_N (how many coins `/coins/markets` lands, by market cap)
    COINGECKO_RATE_LIMIT_PER_MINUTE (default by plan; the shared call limiter keeps live and
    backfill calls together within it), COINGECKO_MONTHLY_CREDITS (the plan's calls a month, default
    by plan; 0: no monthly cap) and the live cadences COINGECKO_PRICES_EVERY_MINUTES and
    COINGECKO_MARKETS_EVERY_MINUTES (default 1: every run; N: only runs whose interval starts on a
    multiple of N minutes collect that part), to fit the credits without changing the schedule.
    """

    base_url: str = DEMO_URL
    api_key: str = field(default="", repr=False)
    plan: str = "demo"
    coins: tuple[str, ...] = ("bitcoin", "ethereum", "solana")
    currencies: tuple[str, ...] = ("usd", "eur")
    markets_top_n: int = 100
    rate_limit_per_minute: int = RATE_LIMITS["demo"]
    monthly_credits: int | None = MONTHLY_CREDITS["demo"]
    prices_every_minutes: int = 1
    markets_every_minutes: int = 1

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
            monthly_credits=_credits(env, MONTHLY_CREDITS[plan]),
            prices_every_minutes=_cadence(env, "COINGECKO_PRICES_EVERY_MINUTES"),
            markets_every_minutes=_cadence(env, "COINGECKO_MARKETS_EVERY_MINUTES"),
        )

    def connection(self) -> Connection:
        extra = {"plan": self.plan, "rate_limit_per_minute": self.rate_limit_per_minute}
        return Connection(host=self.base_url, password=self.api_key, extra=extra)

    def default_params(self) -> dict[str, Any]:
        return {
            "coins": list(self.coins),
            "currencies": list(self.currencies),
            "top_n": self.markets_top_n,
            "prices_every_minutes": self.prices_every_minutes,
            "markets_every_minutes": self.markets_every_minutes,
        }


def _credits(env: Mapping[str, str], default: int) -> int | None:
    credits = env_int(env, "COINGECKO_MONTHLY_CREDITS", default)
    if credits < 0:
        raise ValueError(f"COINGECKO_MONTHLY_CREDITS must not be negative, got {credits}")
    return credits or None  # 0: no monthly cap (e.g. an Enterprise contract)


def _cadence(env: Mapping[str, str], name: str) -> int:
    every = env_int(env, name, 1)
    if every < 1:
        raise ValueError(f"{name} must be a whole number of minutes, at least 1, got {every}")
    return every
