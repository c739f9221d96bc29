"""CoinGecko's own lists of coin ids and currencies, to refuse a run that names neither.

The trigger form can only check an id's spelling: `bitcoinn` and `usdd` pass it, and the API then
answers HTTP 200 with `{}` or empty quotes (../shared/samples/README.md), so the mistake would
surface only as quarantined pairs. `ethereum` is a coin id, not a currency (`eth` is). The lists
come from `/coins/list` ("Coins List (ID Map)") and `/simple/supported_vs_currencies`
("Supported Currencies List"), https://docs.coingecko.com/reference/coins-list and
https://docs.coingecko.com/reference/simple-supported-currencies. They change slowly, and every
call counts against the plan's credits, so they are fetched at most once a day per cache file.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from lakehouse.raw_zone import ApiResponse
from lakehouse.sources.base import InvalidSelection
from lakehouse.sources.coingecko.planner import CoinGeckoSelection
from lakehouse.sources.http import ApiError

log = logging.getLogger(__name__)

MAX_AGE = timedelta(days=1)


class CatalogApi(Protocol):
    """The two list endpoints; CoinGeckoHttpClient provides them."""

    def coins_list(self) -> ApiResponse: ...

    def supported_vs_currencies(self) -> ApiResponse: ...


@dataclass(frozen=True)
class Catalog:
    coin_ids: frozenset[str]
    currencies: frozenset[str]
    fetched_at: datetime

    def to_json(self) -> str:
        return json.dumps(
            {
                "coin_ids": sorted(self.coin_ids),
                "currencies": sorted(self.currencies),
                "fetched_at": self.fetched_at.isoformat(),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Catalog:
        data = json.loads(text)
        return cls(
            frozenset(data["coin_ids"]),
            frozenset(data["currencies"]),
            datetime.fromisoformat(data["fetched_at"]),
        )

    @classmethod
    def fetch(cls, api: CatalogApi, now: datetime) -> Catalog:
        coins = _json_list(api.coins_list())
        currencies = _json_list(api.supported_vs_currencies())
        ids = {item["id"] for item in coins if isinstance(item, dict) and "id" in item}
        return cls(frozenset(ids), frozenset(c for c in currencies if isinstance(c, str)), now)


def _json_list(response: ApiResponse) -> list[Any]:
    body = response.json()
    if not isinstance(body, list):
        raise ApiError(response.source, response.endpoint, response.status, "not a JSON list")
    return body


def cached_catalog(
    api: CatalogApi,
    cache_file: Path | None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Catalog:
    """The lists from `cache_file` while younger than MAX_AGE, else fetched and stored there."""
    now = clock()
    if cache_file is not None and cache_file.exists():
        try:
            cached = Catalog.from_json(cache_file.read_text())
            if now - cached.fetched_at < MAX_AGE:
                return cached
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring an unreadable catalog cache %s", cache_file)
    catalog = Catalog.fetch(api, now)
    if cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        partial = cache_file.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(catalog.to_json())
        partial.replace(cache_file)  # atomic: a reader sees the old file or the new one
    return catalog


def check_selection(selection: CoinGeckoSelection, catalog: Catalog) -> None:
    """Raise InvalidSelection naming every coin id and currency CoinGecko does not list."""
    problems = [
        _unknown("coins", selection.coins, catalog.coin_ids, "/coins/list"),
        _unknown(
            "currencies", selection.currencies, catalog.currencies,
            "/simple/supported_vs_currencies",
        ),
    ]  # fmt: skip
    named = [problem for problem in problems if problem]
    if named:
        raise InvalidSelection("; ".join(named))


def _unknown(kind: str, values: Iterable[str], known: frozenset[str], listed_by: str) -> str:
    bad = [value for value in values if value not in known]
    if not bad:
        return ""
    hint = ""
    if kind == "currencies" and any(value in known for value in ("eth", "btc")):
        hint = " (a currency is a code such as usd, eur or eth, not a coin id such as ethereum)"
    return f"{kind}: {bad!r} are not listed by CoinGecko's {listed_by}{hint}"


def check_with_catalog(
    api: CatalogApi, selection: CoinGeckoSelection, cache_dir: Path | None
) -> None:
    """The source's `check`: the lists from the day's cache (or the API), then the selection.

    Lists that cannot be had (the API is down, rate limited) do not stop the run: its answer would
    show an unknown id or currency anyway, as quarantined `missing_quote` pairs.
    """
    cache = None if cache_dir is None else cache_dir / "coingecko-catalog.json"
    try:
        catalog = cached_catalog(api, cache)
    except (ApiError, ValueError) as exc:
        log.warning("coingecko: could not check the coins and currencies (%s); collecting", exc)
        return
    check_selection(selection, catalog)
