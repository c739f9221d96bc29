"""CoinGecko API v3 (crypto prices): settings, client, planner and collector in one folder.

`SOURCE` is what the registry lists; the collect DAG, the hook, the CLI and the runtime read it.
"""

from __future__ import annotations

from typing import Any

from lakehouse.sources.base import Connection, Source, SourceSettings
from lakehouse.sources.coingecko.catalog import check_with_catalog
from lakehouse.sources.coingecko.client import MAX_TOP_N, CoinGeckoApi, CoinGeckoHttpClient
from lakehouse.sources.coingecko.collect import collect_coingecko
from lakehouse.sources.coingecko.history import HistoryTerms
from lakehouse.sources.coingecko.planner import PARTS, CoinGeckoSelection, live_calls
from lakehouse.sources.coingecko.settings import PLAN_URLS, RATE_LIMITS, CoinGeckoSettings
from lakehouse.sources.limiter import CallLimiter

ID_LIST: dict[str, Any] = {
    "type": "array",
    "minItems": 1,
    "items": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$"},
}


def _params(settings: SourceSettings) -> dict[str, dict[str, Any]]:
    defaults = settings.default_params()
    return {
        "coins": {
            "default": defaults["coins"],
            "description": "CoinGecko coin ids: lower case, no spaces",
            **ID_LIST,
        },
        "currencies": {
            "default": defaults["currencies"],
            "description": "vs_currencies: lower case",
            **ID_LIST,
        },
        "top_n": {
            "default": defaults["top_n"],
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_TOP_N,
            "description": "/coins/markets: how many coins, by market cap",
        },
        **{
            f"{part}_every_minutes": {
                "default": defaults[f"{part}_every_minutes"],
                "type": "integer",
                "minimum": 1,
                "description": f"live runs collect {endpoint} only when the interval starts on a "
                "multiple of this many minutes (to fit the plan's monthly credits)",
            }
            for part, endpoint in (("prices", "/simple/price"), ("markets", "/coins/markets"))
        },
    }


def _plan(conn: Connection) -> str:
    plan = str(conn.extra.get("plan", "demo"))
    if plan not in PLAN_URLS:
        raise ValueError(f"connection coingecko_api: plan must be 'demo' or 'pro', got {plan!r}")
    return plan


def _client(conn: Connection, limiter: CallLimiter) -> CoinGeckoApi:
    plan = _plan(conn)
    days = conn.extra.get("history_days")  # overrides the plan's history window
    return CoinGeckoHttpClient(
        base_url=conn.host or PLAN_URLS[plan],
        api_key=conn.password,
        plan=plan,
        limiter=limiter,
        history_days=None if days is None else HistoryTerms.of(plan, days).days,
    )


def _settings(settings: SourceSettings) -> CoinGeckoSettings:
    if not isinstance(settings, CoinGeckoSettings):
        raise TypeError(f"coingecko needs CoinGeckoSettings, got {type(settings).__name__}")
    return settings


SOURCE: Source[CoinGeckoSelection, CoinGeckoApi] = Source(
    name="coingecko",
    title="CoinGecko",
    conn_id="coingecko_api",
    pool="coingecko_api",
    default_pool_slots=2,
    parts=PARTS,
    simulator_path="/api/v3",
    settings_from_env=CoinGeckoSettings.from_env,
    params=_params,
    selection=CoinGeckoSelection.from_params,
    client=_client,
    default_rate_limit=lambda conn: RATE_LIMITS[_plan(conn)],
    collect=collect_coingecko,
    check=check_with_catalog,
    tags=("coingecko",),
    live_calls=lambda settings: live_calls(_settings(settings)),
    monthly_credits=lambda settings: _settings(settings).monthly_credits,
    live_endpoints={"prices": "simple_price", "markets": "coins_markets"},
    heals=("prices",),  # /coins/markets has no history: a missed page is counted, not healed
)
