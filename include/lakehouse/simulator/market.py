"""Deterministic market values: every number is a pure function of coin, currency and minute.

Tests and the simulator share these functions, so a test can predict any value the lakehouse holds.
"""

from __future__ import annotations

import hashlib
import math

COIN_BASE_USD = {
    "bitcoin": 65_000.0,
    "ethereum": 3_200.0,
    "solana": 150.0,
    "tether": 1.0,
    "cardano": 0.45,
    "dogecoin": 0.12,
}
CURRENCY_PER_USD = {"usd": 1.0, "eur": 0.92, "gbp": 0.79, "jpy": 151.0, "chf": 0.88}
CIRCULATING_SUPPLY = {
    "bitcoin": 19_700_000.0,
    "ethereum": 120_000_000.0,
    "solana": 460_000_000.0,
    "tether": 110_000_000_000.0,
    "cardano": 35_000_000_000.0,
    "dogecoin": 144_000_000_000.0,
}
MINUTES_PER_DAY = 24 * 60


def _unit(*parts: object) -> float:
    """A stable pseudo-random number in [0, 1) for the given parts."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def price(coin: str, currency: str, minute: int) -> float:
    """Price of `coin` in `currency` during the minute starting at unix time `minute * 60`."""
    base = COIN_BASE_USD[coin] * CURRENCY_PER_USD[currency]
    daily_cycle = 0.03 * math.sin(2 * math.pi * minute / MINUTES_PER_DAY)
    noise = 0.01 * (_unit("price", coin, currency, minute) - 0.5)
    return round(base * (1 + daily_cycle + noise), 8)


def market_cap(coin: str, currency: str, minute: int) -> float:
    return round(price(coin, currency, minute) * CIRCULATING_SUPPLY[coin], 2)


def volume_24h(coin: str, currency: str, minute: int) -> float:
    share = 0.02 + 0.03 * _unit("volume", coin, currency, minute)
    return round(market_cap(coin, currency, minute) * share, 2)


def change_24h_pct(coin: str, currency: str, minute: int) -> float:
    before = price(coin, currency, minute - MINUTES_PER_DAY)
    return round((price(coin, currency, minute) - before) / before * 100, 8)
