"""CoinGecko API v3: the client protocol, and its HTTP implementation for the demo and pro plans.

Endpoints and what the raw zone records of each request (`params`; the key is only ever a header):

- `simple_price`: GET /simple/price, `ids`, `vs_currencies` and every `include_*` flag.
- `coins_markets`: GET /coins/markets, `vs_currency`, `order=market_cap_desc`, `per_page`, `page`
  (one response, hence one raw object, per page).
- `market_chart_range`: GET /coins/{id}/market_chart/range, `id` (recorded although it travels in
  the path), `vs_currency`, `from`, `to`. The API takes `from`/`to` as ISO dates or UNIX
  timestamps; we send UNIX seconds (a history block's bounds) and it answers `[epoch_ms, value]`
  points at its automatic granularity (5-minutely within the last day, hourly beyond, daily above
  90 days: see `lakehouse.sources.coingecko.history`), which is why a backfill asks for whole
  blocks rather than for each minute.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

import requests

from lakehouse.sources.coingecko.history import HistoryTerms
from lakehouse.sources.http import MAX_RETRY_AFTER_S, ApiResponse, JsonGetter
from lakehouse.sources.limiter import CallLimiter

SOURCE = "coingecko"
KEY_HEADERS = {"demo": "x-cg-demo-api-key", "pro": "x-cg-pro-api-key"}
MAX_PER_PAGE = 250
"""`/coins/markets` serves at most 250 coins per page."""
MAX_TOP_N = 1000
_ID = re.compile(r"[a-z0-9][a-z0-9-]*")


def validate_ids(kind: str, values: Sequence[str]) -> tuple[str, ...]:
    """Lower-case ids without spaces: the API silently drops items after `, ` in a list."""
    if isinstance(values, str):
        raise ValueError(f"{kind}: give a list of ids, not the string {values!r}")
    if not values:
        raise ValueError(f"{kind}: at least one id is needed")
    bad = [value for value in values if not isinstance(value, str) or not _ID.fullmatch(value)]
    if bad:
        raise ValueError(
            f"{kind}: {bad!r} are not valid ids (lower-case letters, digits and '-', no spaces)"
        )
    return tuple(values)


def validate_top_n(value: object) -> int:
    """How many coins `/coins/markets` lands: a whole number from 1 to MAX_TOP_N."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TOP_N:
        raise ValueError(f"top_n: must be a whole number from 1 to {MAX_TOP_N}, got {value!r}")
    return value


def market_pages(top_n: int) -> list[tuple[int, int]]:
    """(per_page, page) requests covering the top `top_n` coins by market cap, as the API pages.

    One page when it fits; else full pages of 250 (the last page may hold more than needed: the
    payload is landed untouched and silver keeps what it keeps).
    """
    top_n = validate_top_n(top_n)
    per_page = min(top_n, MAX_PER_PAGE)
    pages = -(-top_n // per_page)
    return [(per_page, page) for page in range(1, pages + 1)]


class CoinGeckoApi(Protocol):
    """What the collectors need of CoinGecko; the HTTP client and test doubles both provide it.

    `history` says how much history the API serves this client (see `coingecko.history`)."""

    @property
    def history(self) -> HistoryTerms: ...

    def simple_price(self, ids: Sequence[str], vs_currencies: Sequence[str]) -> ApiResponse: ...

    def coins_markets(self, vs_currency: str, per_page: int, page: int) -> ApiResponse: ...

    def market_chart_range(
        self, coin_id: str, vs_currency: str, start: datetime, end: datetime
    ) -> ApiResponse: ...

    def coins_list(self) -> ApiResponse: ...

    def supported_vs_currencies(self) -> ApiResponse: ...


class CoinGeckoHttpClient:
    """Talks to the real API (or anything at `base_url` that answers like it)."""

    def __init__(
        self,
        base_url: str,
        api_key: str = "",
        plan: str = "demo",
        timeout: float = 10.0,
        session: requests.Session | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        limiter: CallLimiter | None = None,
        max_retry_after: float = MAX_RETRY_AFTER_S,
        sleep: Callable[[float], None] = time.sleep,
        history_days: int | None = None,
    ) -> None:
        if plan not in KEY_HEADERS:
            raise ValueError(f"CoinGecko plan must be one of {sorted(KEY_HEADERS)}, got {plan!r}")
        self.history = HistoryTerms.of(plan, history_days)
        self._http = JsonGetter(
            SOURCE,
            base_url,
            headers={KEY_HEADERS[plan]: api_key} if api_key else {},
            secrets=(api_key,),
            timeout=timeout,
            session=session,
            clock=clock,
            max_retry_after=max_retry_after,
            limiter=limiter,
            sleep=sleep,
        )

    def simple_price(self, ids: Sequence[str], vs_currencies: Sequence[str]) -> ApiResponse:
        params = {
            "ids": ",".join(validate_ids("ids", ids)),
            "vs_currencies": ",".join(validate_ids("vs_currencies", vs_currencies)),
            "include_market_cap": "true",
            "include_24hr_vol": "true",
            "include_24hr_change": "true",
            "include_last_updated_at": "true",
        }
        return self._http.get("simple_price", "/simple/price", params)

    def coins_markets(self, vs_currency: str, per_page: int, page: int) -> ApiResponse:
        (currency,) = validate_ids("vs_currency", [vs_currency])
        if not 1 <= per_page <= MAX_PER_PAGE or page < 1:
            raise ValueError(f"coins_markets: per_page 1..{MAX_PER_PAGE} and page >= 1 needed")
        params = {
            "vs_currency": currency,
            "order": "market_cap_desc",
            "per_page": str(per_page),
            "page": str(page),
        }
        return self._http.get("coins_markets", "/coins/markets", params)

    def coins_list(self) -> ApiResponse:
        """Every coin id CoinGecko knows (GET /coins/list); used to check a run's coins."""
        return self._http.get("coins_list", "/coins/list", {})

    def supported_vs_currencies(self) -> ApiResponse:
        """Every currency /simple/price quotes (GET /simple/supported_vs_currencies)."""
        return self._http.get("supported_vs_currencies", "/simple/supported_vs_currencies", {})

    def market_chart_range(
        self, coin_id: str, vs_currency: str, start: datetime, end: datetime
    ) -> ApiResponse:
        (coin,) = validate_ids("id", [coin_id])
        (currency,) = validate_ids("vs_currency", [vs_currency])
        params = {
            "vs_currency": currency,
            "from": str(_unix_seconds(start)),
            "to": str(_unix_seconds(end)),
        }
        return self._http.get(
            "market_chart_range", f"/coins/{coin}/market_chart/range", params, {"id": coin}
        )


def _unix_seconds(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("market_chart_range needs timezone-aware bounds")
    return int(moment.timestamp())
