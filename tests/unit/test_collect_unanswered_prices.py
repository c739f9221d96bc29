"""A `/simple/price` answer that leaves requested pairs out is landed (silver quarantines the
pairs), named in the log, and fails the run when no pair at all was answered."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from memory_s3 import MemoryS3

from lakehouse.raw_zone import ApiResponse, DataInterval, RawZoneWriter
from lakehouse.sources.coingecko.collect import collect_coingecko, unanswered_pairs
from lakehouse.sources.coingecko.history import HistoryTerms
from lakehouse.sources.coingecko.planner import CoinGeckoSelection
from lakehouse.sources.http import ApiError

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
LIVE = DataInterval(NOW, NOW.replace(minute=1))


class AnswersWith:
    """A CoinGecko double whose /simple/price answers a fixed body with HTTP 200."""

    history = HistoryTerms.of("demo")

    def __init__(self, body: bytes) -> None:
        self.body = body

    def simple_price(self, ids: Sequence[str], vs_currencies: Sequence[str]) -> ApiResponse:
        params = {"ids": ",".join(ids), "vs_currencies": ",".join(vs_currencies)}
        return ApiResponse(
            "coingecko", "simple_price", "http://cg/simple/price", params, 200, self.body, NOW
        )

    def coins_markets(self, vs_currency: str, per_page: int, page: int) -> ApiResponse:
        raise AssertionError("not asked for")

    def market_chart_range(
        self, coin_id: str, vs_currency: str, start: datetime, end: datetime
    ) -> ApiResponse:
        raise AssertionError("not asked for")


def collect(body: bytes, coins: tuple[str, ...], currencies: tuple[str, ...]) -> MemoryS3:
    s3 = MemoryS3()
    collect_coingecko(
        AnswersWith(body), RawZoneWriter(s3, "lake"), CoinGeckoSelection(coins, currencies, 1),
        interval=LIVE, run_id="r", mode="live", parts=("prices",),
    )  # fmt: skip
    return s3


@pytest.mark.parametrize(
    ("body", "coins", "currencies", "named"),
    [
        (b'{"bitcoin":{}}', ("bitcoin",), ("ethereum",), "bitcoin/ethereum"),
        (b"{}", ("bitcoinn",), ("usd",), "bitcoinn/usd"),
        (b'{"bitcoin":{"usd":null}}', ("bitcoin",), ("usd",), "bitcoin/usd"),
    ],
)
def test_no_pair_answered_fails_the_run_naming_the_pairs_and_lands_the_answer(
    body: bytes, coins: tuple[str, ...], currencies: tuple[str, ...], named: str
) -> None:
    s3 = MemoryS3()
    with pytest.raises(ApiError, match=f"no price for any requested pair \\({named}\\)"):
        collect_coingecko(
            AnswersWith(body), RawZoneWriter(s3, "lake"), CoinGeckoSelection(coins, currencies, 1),
            interval=LIVE, run_id="r", mode="live", parts=("prices",),
        )  # fmt: skip

    assert len(s3.envelopes()) == 1  # landed: the stream quarantines it with its reason


def test_some_pairs_answered_lands_and_names_the_rest(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        s3 = collect(b'{"bitcoin":{"usd":1,"eur":null}}', ("bitcoin", "solana"), ("usd", "eur"))

    assert len(s3.envelopes()) == 1
    assert "no price for bitcoin/eur, solana/usd, solana/eur" in caplog.text


def test_unanswered_pairs_of_odd_bodies() -> None:
    assert unanswered_pairs([], ["a"], ["usd"]) == [("a", "usd")]
    assert unanswered_pairs({"a": "x"}, ["a"], ["usd"]) == [("a", "usd")]
    assert unanswered_pairs({"a": {"usd": 0}}, ["a"], ["usd"]) == []
