"""Real API bodies from ../shared/samples survive the raw-zone envelope unchanged."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lakehouse.raw_zone import ApiResponse, DataInterval, Envelope, object_key

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"
SIMPLE_PRICE_SAMPLES = sorted((SAMPLES / "coingecko").glob("simple_price*.json"))
# Every sample that is JSON as it stands (the README marks the others NOT-PARSEABLE, as .txt).
JSON_SAMPLES = sorted(SAMPLES.glob("*/*.json"))

START = datetime(2024, 3, 25, 8, 45, tzinfo=UTC)


def typed(value: Any) -> str:
    """A canonical text that tells 1 from 1.0 and keeps key order, for exact comparisons."""
    return json.dumps(value, ensure_ascii=False)


def envelope_of(body: bytes, endpoint: str = "simple_price") -> Envelope:
    response = ApiResponse(
        source="coingecko",
        endpoint=endpoint,
        url="https://api.coingecko.com/api/v3/simple/price",
        params={"ids": "bitcoin", "vs_currencies": "usd"},
        status=200,
        body=body,
        fetched_at=START + timedelta(seconds=30),
    )
    return Envelope(
        response=response,
        interval=DataInterval(START, START + timedelta(minutes=1)),
        mode="live",
        run_id="test",
    )


def test_the_expected_simple_price_samples_are_there() -> None:
    assert [path.name for path in SIMPLE_PRICE_SAMPLES] == [
        "simple_price_bitcoin_all_include_flags_docs_example_2024-03-25.json",
        "simple_price_bitcoin_usd_2021-05-15.json",
    ]


@pytest.mark.parametrize("path", SIMPLE_PRICE_SAMPLES, ids=lambda path: path.name)
def test_simple_price_sample_round_trips_through_an_envelope(path: Path) -> None:
    body = path.read_bytes()
    line = envelope_of(body).to_json_line()

    assert line.count("\n") == 1
    payload = json.loads(line)["payload"]
    assert typed(payload) == typed(json.loads(body))


def test_simple_price_samples_keep_their_exact_values() -> None:
    by_name = {path.name: envelope_of(path.read_bytes()) for path in SIMPLE_PRICE_SAMPLES}

    docs = json.loads(
        by_name[
            "simple_price_bitcoin_all_include_flags_docs_example_2024-03-25.json"
        ].to_json_line()
    )["payload"]
    ruby = json.loads(by_name["simple_price_bitcoin_usd_2021-05-15.json"].to_json_line())["payload"]

    assert docs == {
        "bitcoin": {
            "usd": 67187.3358936566,
            "usd_market_cap": 1317802988326.25,
            "usd_24h_vol": 31260929299.5248,
            "usd_24h_change": 3.63727894677354,
            "last_updated_at": 1711356300,
        }
    }
    assert type(docs["bitcoin"]["last_updated_at"]) is int
    assert ruby == {"bitcoin": {"usd": 49013}}
    assert type(ruby["bitcoin"]["usd"]) is int  # an int price stays an int


def test_different_samples_land_on_different_keys() -> None:
    keys = {object_key(envelope_of(path.read_bytes())) for path in SIMPLE_PRICE_SAMPLES}

    assert len(keys) == len(SIMPLE_PRICE_SAMPLES)


@pytest.mark.parametrize("path", JSON_SAMPLES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_json_sample_round_trips_through_an_envelope(path: Path) -> None:
    body = path.read_bytes()

    payload = json.loads(envelope_of(body, endpoint=path.stem).to_json_line())["payload"]

    assert typed(payload) == typed(json.loads(body))
