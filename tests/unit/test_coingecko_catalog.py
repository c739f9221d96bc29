"""A run's coins and currencies are checked against CoinGecko's own lists, cached for a day."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from memory_s3 import MemoryS3

from lakehouse.collect import run_collection
from lakehouse.raw_zone import ApiResponse, DataInterval, RawZoneWriter
from lakehouse.sources import coingecko
from lakehouse.sources.base import InvalidSelection
from lakehouse.sources.coingecko.catalog import Catalog, cached_catalog, check_selection
from lakehouse.sources.coingecko.planner import CoinGeckoSelection

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


class ListsApi:
    def __init__(self) -> None:
        self.calls = 0

    def _answer(self, endpoint: str, body: object) -> ApiResponse:
        self.calls += 1
        return ApiResponse(
            "coingecko", endpoint, "http://cg", {}, 200, json.dumps(body).encode(), NOW
        )

    def coins_list(self) -> ApiResponse:
        coins = [{"id": "bitcoin", "symbol": "btc", "name": "Bitcoin"},
                 {"id": "ethereum", "symbol": "eth", "name": "Ethereum"}]  # fmt: skip
        return self._answer("coins_list", coins)

    def supported_vs_currencies(self) -> ApiResponse:
        return self._answer("supported_vs_currencies", ["usd", "eur", "eth", "btc"])


def test_unknown_ids_and_currencies_are_named() -> None:
    catalog = Catalog.fetch(ListsApi(), NOW)
    selection = CoinGeckoSelection(("bitcoinn", "bitcoin"), ("ethereum", "usdd", "usd"), 10)

    with pytest.raises(InvalidSelection) as raised:
        check_selection(selection, catalog)

    message = str(raised.value)
    assert "coins: ['bitcoinn'] are not listed by CoinGecko's /coins/list" in message
    assert "currencies: ['ethereum', 'usdd'] are not listed" in message
    assert "not a coin id such as ethereum" in message


def test_a_known_selection_passes() -> None:
    check_selection(
        CoinGeckoSelection(("bitcoin",), ("usd", "eth"), 10), Catalog.fetch(ListsApi(), NOW)
    )


def test_the_lists_are_fetched_at_most_once_a_day(tmp_path: Path) -> None:
    api, cache = ListsApi(), tmp_path / "cache" / "coingecko-catalog.json"

    cached_catalog(api, cache, clock=lambda: NOW)
    cached_catalog(api, cache, clock=lambda: NOW + timedelta(hours=23))
    assert api.calls == 2  # both lists, once

    refreshed = cached_catalog(api, cache, clock=lambda: NOW + timedelta(hours=25))
    assert api.calls == 4
    assert refreshed.fetched_at == NOW + timedelta(hours=25)


def test_a_corrupt_cache_is_refetched(tmp_path: Path) -> None:
    api, cache = ListsApi(), tmp_path / "catalog.json"
    cache.write_text("{not json")

    assert "bitcoin" in cached_catalog(api, cache, clock=lambda: NOW).coin_ids
    assert api.calls == 2


def test_a_run_naming_an_unknown_currency_fails_before_fetching_prices(tmp_path: Path) -> None:
    class Recording(ListsApi):
        def simple_price(self, *args: object) -> ApiResponse:
            raise AssertionError("no price call for a selection CoinGecko does not know")

    with pytest.raises(InvalidSelection, match=r"currencies: \['ethereum'\]"):
        run_collection(
            coingecko.SOURCE, lambda _limiter: Recording(), RawZoneWriter(MemoryS3(), "lake"),
            CoinGeckoSelection(("bitcoin",), ("ethereum",), 10),
            interval=DataInterval(NOW - timedelta(minutes=1), NOW), run_id="r", now=NOW,
            parts=("prices",), cache_dir=tmp_path,
        )  # fmt: skip

    assert (tmp_path / "coingecko-catalog.json").exists()
