"""Deterministic market values: every number is a pure function of coin, currency and minute.

Tests and the simulator share these functions, so a test can predict any value the lakehouse holds,
and the simulator's live endpoints (`/simple/price`, `/coins/markets`) and history endpoint
(`/market_chart/range`) agree for every minute.

Prices follow a seeded random walk in log space that can be evaluated at any minute in O(log n):
knots every `BRIDGE_MINUTES` take seeded levels, and between two knots a Brownian bridge is built
by midpoint displacement, each midpoint's displacement a seeded normal draw. So minute-to-minute
moves look like a random walk, while prices stay within a realistic band over the years.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from statistics import NormalDist
from typing import Any

SEED = "lakehouse-simulator-1"
MINUTES_PER_DAY = 24 * 60
BRIDGE_MINUTES = 2**14
"""Knots of the walk about every 11 days; between them, a Brownian bridge."""


@dataclass(frozen=True)
class Coin:
    symbol: str
    name: str
    base_usd: float
    circulating_supply: float
    total_supply: float | None
    max_supply: float | None
    sigma: float
    """Standard deviation of the log price per minute."""
    image_id: int
    ath_usd: float
    ath_date: str
    atl_usd: float
    atl_date: str


COINS: dict[str, Coin] = {
    "bitcoin": Coin("btc", "Bitcoin", 65_000.0, 19_700_000.0, 21e6, 21e6, 0.0007, 1,
                    73_738.0, "2024-03-14T07:10:36.635Z", 67.81, "2013-07-06T00:00:00.000Z"),
    "ethereum": Coin("eth", "Ethereum", 3_200.0, 120_000_000.0, 120_000_000.0, None, 0.0009,
                     279, 4_878.26, "2021-11-10T14:24:19.604Z", 0.432979,
                     "2015-10-20T00:00:00.000Z"),
    "tether": Coin("usdt", "Tether", 1.0, 110_000_000_000.0, 110_000_000_000.0, None, 0.00002,
                   325, 1.32, "2018-07-24T00:00:00.000Z", 0.572521, "2015-03-02T00:00:00.000Z"),
    "binancecoin": Coin("bnb", "BNB", 580.0, 147_000_000.0, 147_000_000.0, 200_000_000.0, 0.001,
                        825, 686.31, "2021-05-10T07:24:17.097Z", 0.0398177,
                        "2017-10-19T00:00:00.000Z"),
    "solana": Coin("sol", "Solana", 150.0, 460_000_000.0, 580_000_000.0, None, 0.0013, 4128,
                   259.96, "2021-11-06T21:54:35.825Z", 0.500801, "2020-05-11T19:35:23.449Z"),
    "ripple": Coin("xrp", "XRP", 0.52, 55_000_000_000.0, 99_988_000_000.0, 100_000_000_000.0,
                   0.0011, 44, 3.40, "2018-01-07T00:00:00.000Z", 0.00268621,
                   "2014-05-22T00:00:00.000Z"),
    "dogecoin": Coin("doge", "Dogecoin", 0.12, 144_000_000_000.0, 144_000_000_000.0, None,
                     0.0015, 5, 0.731578, "2021-05-08T05:08:23.458Z", 0.0000869,
                     "2015-05-06T00:00:00.000Z"),
    "cardano": Coin("ada", "Cardano", 0.45, 35_000_000_000.0, 45_000_000_000.0,
                    45_000_000_000.0, 0.0012, 975, 3.09, "2021-09-02T06:00:10.474Z",
                    0.01925275, "2020-03-13T02:22:55.044Z"),
    "tron": Coin("trx", "TRON", 0.12, 87_000_000_000.0, 87_000_000_000.0, None, 0.0009, 1094,
                 0.231673, "2018-01-05T00:00:00.000Z", 0.00180434, "2017-11-12T00:00:00.000Z"),
    "avalanche-2": Coin("avax", "Avalanche", 35.0, 390_000_000.0, 440_000_000.0, 720_000_000.0,
                        0.0014, 12559, 144.96, "2021-11-21T14:18:56.538Z", 2.8,
                        "2020-12-31T13:15:21.540Z"),
    "chainlink": Coin("link", "Chainlink", 14.0, 590_000_000.0, 1_000_000_000.0,
                      1_000_000_000.0, 0.0013, 877, 52.7, "2021-05-10T00:13:57.214Z",
                      0.148183, "2017-11-29T00:00:00.000Z"),
    "polkadot": Coin("dot", "Polkadot", 7.0, 1_400_000_000.0, 1_500_000_000.0, None, 0.0013,
                     12171, 54.98, "2021-11-04T14:10:09.301Z", 2.7, "2020-08-20T05:48:11.359Z"),
    "litecoin": Coin("ltc", "Litecoin", 80.0, 74_000_000.0, 84_000_000.0, 84_000_000.0, 0.0011,
                     2, 410.26, "2021-05-10T03:13:07.904Z", 1.15, "2015-01-14T00:00:00.000Z"),
    "bitcoin-cash": Coin("bch", "Bitcoin Cash", 450.0, 19_700_000.0, 21_000_000.0, 21_000_000.0,
                         0.0012, 780, 3785.82, "2017-12-20T00:00:00.000Z", 76.93,
                         "2018-12-16T00:00:00.000Z"),
    "stellar": Coin("xlm", "Stellar", 0.11, 29_000_000_000.0, 50_001_000_000.0,
                    50_001_000_000.0, 0.0011, 100, 0.875563, "2018-01-03T00:00:00.000Z",
                    0.00047612, "2015-03-05T00:00:00.000Z"),
    "uniswap": Coin("uni", "Uniswap", 9.0, 600_000_000.0, 1_000_000_000.0, 1_000_000_000.0,
                    0.0015, 12504, 44.92, "2021-05-03T05:25:04.822Z", 1.03,
                    "2020-09-17T01:20:38.214Z"),
    "monero": Coin("xmr", "Monero", 160.0, 18_400_000.0, None, None, 0.0011, 69, 542.33,
                   "2018-01-09T00:00:00.000Z", 0.216177, "2015-01-14T00:00:00.000Z"),
    "cosmos": Coin("atom", "Cosmos Hub", 8.0, 390_000_000.0, 390_000_000.0, None, 0.0014, 1481,
                   44.45, "2022-01-17T00:34:41.497Z", 1.16, "2020-03-13T02:27:44.591Z"),
    "near": Coin("near", "NEAR Protocol", 6.0, 1_100_000_000.0, 1_200_000_000.0, None, 0.0016,
                 10365, 20.44, "2022-01-16T22:09:45.873Z", 0.526762, "2020-11-04T16:09:15.137Z"),
}  # fmt: skip
PLATFORMS: dict[str, dict[str, str]] = {
    "tether": {"ethereum": "0xdac17f958d2ee523a2206206994597c13d831ec7"},
    "chainlink": {"ethereum": "0x514910771af9ca656af840dff83e8264ecf986ca"},
    "uniswap": {"ethereum": "0x1f9840a85d5af5bf1d1762f925bdaddc4201f984"},
}
"""Token contracts by platform, as `/coins/list?include_platform=true` shows them (native coins:
`{}`); a few real addresses, not the full lists."""
COIN_BASE_USD = {coin_id: coin.base_usd for coin_id, coin in COINS.items()}
CIRCULATING_SUPPLY = {coin_id: coin.circulating_supply for coin_id, coin in COINS.items()}
CURRENCY_PER_USD = {
    "usd": 1.0, "eur": 0.92, "gbp": 0.79, "jpy": 151.0, "chf": 0.88, "aud": 1.52, "cad": 1.36,
    "cny": 7.23, "inr": 83.3, "krw": 1340.0, "brl": 5.0,
}  # fmt: skip
"""Fiat currencies at fixed rates per US dollar."""
CRYPTO_CURRENCIES = {
    "btc": "bitcoin", "eth": "ethereum", "ltc": "litecoin", "bch": "bitcoin-cash",
    "bnb": "binancecoin", "xrp": "ripple", "xlm": "stellar", "link": "chainlink",
    "dot": "polkadot", "sol": "solana",
}  # fmt: skip
"""Crypto currencies that CoinGecko also quotes in, by the coin id they stand for: a coin's price
in `eth` is its dollar price over ethereum's, at the same minute. Note `eth` is a currency and
`ethereum` a coin id, not a currency (the real API answers `{"bitcoin":{}}` to
`vs_currencies=ethereum`)."""
VS_CURRENCIES = (*CURRENCY_PER_USD, *CRYPTO_CURRENCIES)
"""Every `vs_currency` the simulated API knows, in the order `/simple/supported_vs_currencies`
lists them (a realistic subset of the real list: fiat and crypto)."""

_NORMAL = NormalDist()


def _unit(*parts: object) -> float:
    """A stable pseudo-random number in [0, 1) for the given parts."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _normal(*parts: object) -> float:
    """A stable standard normal draw for the given parts."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return _NORMAL.inv_cdf((int.from_bytes(digest, "big") + 0.5) / 2**64)


def _knot(coin: str, knot: int, seed: str) -> float:
    sigma = COINS[coin].sigma * math.sqrt(BRIDGE_MINUTES) / 2
    return sigma * _normal(seed, "knot", coin, knot)


@lru_cache(maxsize=65_536)
def log_walk(coin: str, minute: int, seed: str = SEED) -> float:
    """The log of the price relative to the coin's base, at the start of `minute`."""
    sigma = COINS[coin].sigma
    knot, offset = divmod(minute, BRIDGE_MINUTES)
    lo, hi = 0, BRIDGE_MINUTES
    v_lo, v_hi = _knot(coin, knot, seed), _knot(coin, knot + 1, seed)
    while offset != lo:
        mid = (lo + hi) // 2
        v_mid = (v_lo + v_hi) / 2 + sigma * math.sqrt(hi - lo) / 2 * _normal(
            seed, "walk", coin, knot * BRIDGE_MINUTES + mid
        )
        if offset < mid:
            hi, v_hi = mid, v_mid
        else:
            lo, v_lo = mid, v_mid
    return v_lo


def per_usd(currency: str, minute: int) -> float:
    """Units of `currency` that one US dollar buys during `minute` (unrounded)."""
    quoted = CRYPTO_CURRENCIES.get(currency)
    if quoted is None:
        return CURRENCY_PER_USD[currency]
    return 1 / (COINS[quoted].base_usd * math.exp(log_walk(quoted, minute)))


def price(coin: str, currency: str, minute: int) -> float:
    """Price of `coin` in `currency` during the minute starting at unix time `minute * 60`."""
    base = COINS[coin].base_usd * per_usd(currency, minute)
    return round(base * math.exp(log_walk(coin, minute)), 8)


def market_cap(coin: str, currency: str, minute: int) -> float:
    return round(price(coin, currency, minute) * CIRCULATING_SUPPLY[coin], 2)


def volume_24h(coin: str, currency: str, minute: int) -> float:
    share = 0.02 + 0.03 * _unit("volume", coin, currency, minute)
    return round(market_cap(coin, currency, minute) * share, 2)


def change_24h_pct(coin: str, currency: str, minute: int) -> float:
    before = price(coin, currency, minute - MINUTES_PER_DAY)
    return round((price(coin, currency, minute) - before) / before * 100, 8)


def iso_millis(epoch_seconds: float) -> str:
    """`2024-03-25T08:45:00.000Z`, the timestamp form of `/coins/markets`."""
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@lru_cache(maxsize=4_096)
def high_low_24h(coin: str, currency: str, minute: int) -> tuple[float, float]:
    """Highest and lowest price over the last day, sampled every 15 minutes and now."""
    samples = [price(coin, currency, minute - step) for step in range(0, MINUTES_PER_DAY, 15)]
    return max(samples), min(samples)


def market_row(coin: str, currency: str, minute: int, rank: int | None) -> dict[str, Any]:
    """One `/coins/markets` object, with the keys and nullable fields of the real API."""
    info = COINS[coin]
    fx = per_usd(currency, minute)
    now = price(coin, currency, minute)
    before = price(coin, currency, minute - MINUTES_PER_DAY)
    cap = market_cap(coin, currency, minute)
    cap_before = market_cap(coin, currency, minute - MINUTES_PER_DAY)
    high, low = high_low_24h(coin, currency, minute)
    ath = max(round(info.ath_usd * fx, 8), high)
    atl = min(round(info.atl_usd * fx, 8), low)
    diluted = info.max_supply or info.total_supply
    roi = (
        {"times": round(now / (0.3 * fx) - 1, 6), "currency": "btc",
         "percentage": round((now / (0.3 * fx) - 1) * 100, 4)}
        if coin == "ethereum" else None
    )  # fmt: skip
    return {
        "id": coin,
        "symbol": info.symbol,
        "name": info.name,
        "image": f"https://assets.coingecko.com/coins/images/{info.image_id}/large/{coin}.png"
        "?1696501400",
        "current_price": now,
        "market_cap": cap,
        "market_cap_rank": rank,
        "fully_diluted_valuation": round(now * diluted, 2) if diluted else None,
        "total_volume": volume_24h(coin, currency, minute),
        "high_24h": high,
        "low_24h": low,
        "price_change_24h": round(now - before, 8),
        "price_change_percentage_24h": round((now - before) / before * 100, 5),
        "market_cap_change_24h": round(cap - cap_before, 2),
        "market_cap_change_percentage_24h": round((cap - cap_before) / cap_before * 100, 5),
        "circulating_supply": info.circulating_supply,
        "total_supply": info.total_supply,
        "max_supply": info.max_supply,
        "ath": ath,
        "ath_change_percentage": round((now - ath) / ath * 100, 5),
        "ath_date": info.ath_date,
        "atl": atl,
        "atl_change_percentage": round((now - atl) / atl * 100, 5),
        "atl_date": info.atl_date,
        "roi": roi,
        "last_updated": iso_millis(minute * 60),
    }


def ranked_coins(currency: str, minute: int) -> list[str]:
    """Every simulated coin, by market cap at `minute`, largest first (ties by id)."""
    return sorted(COINS, key=lambda coin: (-market_cap(coin, currency, minute), coin))
