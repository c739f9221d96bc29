"""CoinGecko API v3: the client protocol, and its HTTP implementation for the demo and pro plans."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

import requests

from lakehouse.sources.http import ApiError, ApiResponse, checked_json_body, retrying_session

SOURCE = "coingecko"
KEY_HEADERS = {"demo": "x-cg-demo-api-key", "pro": "x-cg-pro-api-key"}
_ID = re.compile(r"[a-z0-9][a-z0-9-]*")


def validate_ids(kind: str, values: Sequence[str]) -> tuple[str, ...]:
    """Lower-case ids without spaces: the API silently drops items after `, ` in a list."""
    if isinstance(values, str):
        raise ValueError(f"{kind}: give a list of ids, not the string {values!r}")
    if not values:
        raise ValueError(f"{kind}: at least one id is needed")
    bad = [value for value in values if not _ID.fullmatch(value)]
    if bad:
        raise ValueError(
            f"{kind}: {bad!r} are not valid ids (lower-case letters, digits and '-', no spaces)"
        )
    return tuple(values)


class CoinGeckoApi(Protocol):
    """What the collectors need of CoinGecko; the HTTP client and test doubles both provide it."""

    def simple_price(self, ids: Sequence[str], vs_currencies: Sequence[str]) -> ApiResponse: ...


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
    ) -> None:
        if plan not in KEY_HEADERS:
            raise ValueError(f"CoinGecko plan must be one of {sorted(KEY_HEADERS)}, got {plan!r}")
        self._base_url = base_url.rstrip("/")
        self._headers = {"accept": "application/json"}
        if api_key:
            self._headers[KEY_HEADERS[plan]] = api_key
        self._timeout = timeout
        self._session = session or retrying_session()
        self._clock = clock

    def simple_price(self, ids: Sequence[str], vs_currencies: Sequence[str]) -> ApiResponse:
        params = {
            "ids": ",".join(validate_ids("ids", ids)),
            "vs_currencies": ",".join(validate_ids("vs_currencies", vs_currencies)),
            "include_market_cap": "true",
            "include_24hr_vol": "true",
            "include_24hr_change": "true",
            "include_last_updated_at": "true",
        }
        return self._get("simple_price", "/simple/price", params)

    def _get(self, endpoint: str, path: str, params: dict[str, str]) -> ApiResponse:
        url = f"{self._base_url}{path}"
        try:
            response = self._session.get(
                url, params=params, headers=self._headers, timeout=self._timeout
            )
        except requests.RequestException as exc:
            # The exception text can hold the URL but never the headers, so no key leaks.
            raise ApiError(SOURCE, endpoint, None, type(exc).__name__) from exc
        body = checked_json_body(SOURCE, endpoint, response)
        return ApiResponse(
            source=SOURCE,
            endpoint=endpoint,
            url=url,
            params=params,
            status=response.status_code,
            body=body,
            fetched_at=self._clock(),
        )
