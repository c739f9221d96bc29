"""The pure medallion transforms on a local SparkSession, against explicit expected frames."""

from __future__ import annotations

import json
import warnings
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bronze_rows import bronze
from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from lakehouse import tables
from lakehouse.raw_zone import ApiResponse, DataInterval, Envelope
from lakehouse.spark import schemas, transforms
from lakehouse.spark.silver import parse_bronze

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
    from pyspark.testing import assertDataFrameEqual

DOCS_SAMPLE = "simple_price_bitcoin_all_include_flags_docs_example_2024-03-25.json"
PLAIN_SAMPLE = "simple_price_bitcoin_usd_2021-05-15.json"
INGESTED_AT = datetime(2024, 3, 25, 9, 0, 0, tzinfo=UTC)


def exactly_equal(actual: DataFrame, expected: DataFrame) -> None:
    """Same rows (any order), same column names and types; doubles compared without tolerance."""
    assertDataFrameEqual(actual, expected, rtol=0.0, atol=0.0)


def envelope_row(
    *,
    payload: str | None,
    fetched_at: datetime,
    source_file: str,
    endpoint: str = "simple_price",
    source: str = "coingecko",
    mode: str = "live",
    interval_start: datetime | None = None,
) -> dict[str, Any]:
    start = interval_start or fetched_at.replace(second=0, microsecond=0)
    return {
        "source": source,
        "endpoint": endpoint,
        "request": Row(url=f"https://api.example/{endpoint}", params={"ids": "bitcoin"}),
        "interval_start": start,
        "interval_end": start + timedelta(minutes=1),
        "fetched_at": fetched_at,
        "http_status": 200,
        "mode": mode,
        "run_id": f"run-{source_file}",
        "payload": payload,
        schemas.CORRUPT_RECORD: None,
        "source_file": source_file,
        "ingested_at": INGESTED_AT,
        "date": start.date(),
    }


def silver(spark: SparkSession, rows: list[tuple[Any, ...]]) -> DataFrame:
    """Rows as (coin, currency, price_ts, price, cap, volume, change, observed_at, mode, fetched,
    file); a 10-tuple without observed_at gets None there. All of resolution `1m`."""
    full = [row if len(row) == 11 else (*row[:7], None, *row[7:]) for row in rows]
    live = [(*row[:8], "1m", tables.RESOLUTION_RANK["1m"], *row[8:]) for row in full]
    return spark.createDataFrame(live, tables.SILVER_COIN_PRICES.schema)


def coin_prices(bronze_df: DataFrame) -> DataFrame:
    """The silver.coin_prices rows that `silver.parse_bronze` makes of a bronze batch."""
    return parse_bronze(bronze_df).coin_prices


# --- coin prices of a bronze batch -------------------------------------------------------------


def test_coin_prices_of_a_bronze_batch(spark: SparkSession, samples_dir: Path) -> None:
    docs_payload = (samples_dir / "coingecko" / DOCS_SAMPLE).read_text()
    plain_payload = (samples_dir / "coingecko" / PLAIN_SAMPLE).read_text()
    drifted_payload = json.dumps(
        {
            "ethereum": {
                "eur": "2950.5",
                "eur_market_cap": None,
                "eur_24h_vol": "123456.78",
                "eur_24h_change": "not a number",
                "gbp": None,
                "gbp_24h_change": -1.25,
                "last_updated_at": "1711356360",
            },
            "tether": {"usd": 1},
        }
    )
    markets_payload = json.dumps([{"id": "bitcoin", "current_price": 49013, "symbol": "btc"}])
    fetched_a = datetime(2024, 3, 25, 8, 45, 30, tzinfo=UTC)
    fetched_b = datetime(2021, 5, 15, 12, 0, 30, 500_000, tzinfo=UTC)
    fetched_c = datetime(2024, 3, 25, 8, 46, 31, tzinfo=UTC)
    rows = [
        envelope_row(payload=docs_payload, fetched_at=fetched_a, source_file="a.json"),
        envelope_row(
            payload=plain_payload, fetched_at=fetched_b, source_file="b.json", mode="history"
        ),
        envelope_row(payload=drifted_payload, fetched_at=fetched_c, source_file="c.json"),
        envelope_row(
            payload=markets_payload,
            fetched_at=fetched_a,
            source_file="d.json",
            endpoint="coins_markets",
        ),
        envelope_row(
            payload=plain_payload,
            fetched_at=fetched_a,
            source_file="d2.json",
            source="smartcitizen",
        ),
        envelope_row(payload=None, fetched_at=fetched_a, source_file="e.json"),
    ]

    actual = coin_prices(bronze(spark, rows))

    at_0845 = datetime(2024, 3, 25, 8, 45, tzinfo=UTC)  # last_updated_at 1711356300
    at_0846 = datetime(2024, 3, 25, 8, 46, tzinfo=UTC)  # "1711356360"
    expected = silver(
        spark,
        [
            (
                "bitcoin", "usd", at_0845, 67187.3358936566, 1317802988326.25,
                31260929299.5248, 3.63727894677354, at_0845, "live", fetched_a, "a.json",
            ),
            # No last_updated_at: the fetch time stands in, truncated to its minute for the key.
            (
                "bitcoin", "usd", datetime(2021, 5, 15, 12, 0, tzinfo=UTC), 49013.0, None, None,
                None, fetched_b, "history", fetched_b, "b.json",
            ),
            # Numbers as strings parse; null and unparseable values become null.
            (
                "ethereum", "eur", at_0846, 2950.5, None, 123456.78, None, at_0846, "live",
                fetched_c, "c.json",
            ),
            # ethereum/gbp has a null price: quarantined as null_price, never a silver row.
            (
                "tether", "usd", at_0846, 1.0, None, None, None, fetched_c, "live", fetched_c,
                "c.json",
            ),
        ],
    )  # fmt: skip
    exactly_equal(actual, expected)


def test_coin_prices_of_no_price_rows_are_empty(spark: SparkSession) -> None:
    fetched = datetime(2024, 3, 25, 8, 45, 30, tzinfo=UTC)
    rows = [
        envelope_row(payload=None, fetched_at=fetched, source_file="e.json"),
        envelope_row(payload="{}", fetched_at=fetched, source_file="f.json"),
        envelope_row(payload='{"bitcoin":{}}', fetched_at=fetched, source_file="g.json"),
    ]

    actual = coin_prices(bronze(spark, rows))

    exactly_equal(actual, silver(spark, []))


def test_coin_prices_of_a_real_envelope_line(
    spark: SparkSession, tmp_path: Path, samples_dir: Path
) -> None:
    """The raw-zone writer's line, read by Spark's JSON reader like the stream does."""
    start = datetime(2024, 3, 25, 8, 45, tzinfo=UTC)
    fetched = datetime(2024, 3, 25, 8, 45, 1, 250_000, tzinfo=UTC)
    response = ApiResponse(
        source="coingecko",
        endpoint="simple_price",
        url="https://api.coingecko.com/api/v3/simple/price",
        params={"ids": "bitcoin", "vs_currencies": "usd"},
        status=200,
        body=(samples_dir / "coingecko" / DOCS_SAMPLE).read_bytes(),
        fetched_at=fetched,
    )
    line = Envelope(
        response, DataInterval(start, start + timedelta(minutes=1)), "live", "r"
    ).to_json_line()
    path = tmp_path / "raw" / "envelope.json"
    path.parent.mkdir()
    path.write_text(line, encoding="utf-8")

    raw = spark.read.schema(schemas.ENVELOPE).json(str(path))
    bronze_df = transforms.to_bronze(raw, F.lit("envelope.json"), F.lit(INGESTED_AT))
    (row,) = bronze_df.collect()
    assert row.interval_start == as_collected(start)
    assert row.fetched_at == as_collected(fetched)
    assert json.loads(row.payload) == json.loads(response.body)
    assert row[schemas.CORRUPT_RECORD] is None
    assert row.date == date(2024, 3, 25)

    at_0845 = datetime(2024, 3, 25, 8, 45, tzinfo=UTC)
    expected = silver(
        spark,
        [
            (
                "bitcoin", "usd", at_0845, 67187.3358936566, 1317802988326.25, 31260929299.5248,
                3.63727894677354, at_0845, "live", fetched, "envelope.json",
            )
        ],
    )  # fmt: skip
    exactly_equal(coin_prices(bronze_df), expected)


def as_collected(moment: datetime) -> datetime:
    """PySpark hands timestamps back as naive local times of the Python process."""
    return moment.astimezone().replace(tzinfo=None)


# --- latest_per_key ----------------------------------------------------------------------------


def test_latest_per_key_keeps_the_newest_fetch_per_key(spark: SparkSession) -> None:
    ts = datetime(2024, 3, 25, 8, 45, tzinfo=UTC)
    t0, t1, t2 = (ts + timedelta(seconds=s) for s in (10, 20, 30))

    def price_row(coin: str, cur: str, price: float, fetched: datetime, file: str) -> tuple:
        return (coin, cur, ts, price, None, None, None, "live", fetched, file)

    rows = [
        price_row("bitcoin", "usd", 1.0, t0, "1.json"),
        price_row("bitcoin", "usd", 3.0, t2, "3.json"),  # newest for (bitcoin, usd, ts)
        price_row("bitcoin", "usd", 2.0, t1, "2.json"),
        price_row("bitcoin", "eur", 4.0, t0, "4.json"),  # alone in its key
        price_row("ethereum", "usd", 5.0, t1, "5a.json"),
        price_row("ethereum", "usd", 6.0, t1, "5b.json"),  # same fetch time: greater file wins
    ]
    later_ts = ("bitcoin", "usd", ts + timedelta(minutes=1), 7.0, None, None, None, "live", t0, "7")
    df = silver(spark, [*rows, later_ts])

    actual = transforms.latest_per_key(df, tables.SILVER_COIN_PRICES.keys, order_by="fetched_at")

    expected = silver(spark, [rows[1], rows[3], rows[5], later_ts])
    exactly_equal(actual, expected)
    assert actual.columns == tables.SILVER_COIN_PRICES.schema.names


def test_latest_per_key_with_one_key_column(spark: SparkSession) -> None:
    ts = datetime(2024, 3, 25, 8, 45, tzinfo=UTC)
    rows = [
        ("bitcoin", "usd", ts, 1.0, None, None, None, "live", ts, "a"),
        ("bitcoin", "eur", ts, 2.0, None, None, None, "live", ts + timedelta(seconds=1), "b"),
        ("ethereum", "usd", ts, 3.0, None, None, None, "live", ts, "c"),
    ]

    actual = transforms.latest_per_key(silver(spark, rows), ["coin_id"], order_by="fetched_at")

    exactly_equal(actual, silver(spark, [rows[1], rows[2]]))


# --- to_bronze ---------------------------------------------------------------------------------


def test_to_bronze_adds_source_file_ingested_at_and_date(spark: SparkSession) -> None:
    late_evening = datetime(2024, 3, 25, 23, 59, tzinfo=UTC)
    ingested = datetime(2024, 3, 26, 0, 0, 5, tzinfo=UTC)
    names = schemas.ENVELOPE.names
    with_interval = envelope_row(
        payload='{"bitcoin":{"usd":1}}',
        fetched_at=late_evening + timedelta(seconds=61),
        source_file="x",
        interval_start=late_evening,
    )
    corrupt = {name: None for name in names} | {schemas.CORRUPT_RECORD: "{not json"}
    raw = spark.createDataFrame(
        [tuple(with_interval[n] for n in names), tuple(corrupt[n] for n in names)],
        schemas.ENVELOPE,
    ).withColumn("file", F.concat(F.lit("s3a://lake/raw/"), F.coalesce("run_id", F.lit("bad"))))

    actual = transforms.to_bronze(raw, source_file=F.col("file"), ingested_at=F.lit(ingested))

    expected_rows = [
        # The date comes from interval_start ...
        (*(with_interval[n] for n in names), "s3a://lake/raw/run-x", ingested, date(2024, 3, 25)),
        # ... or, without one, from ingested_at.
        (*(corrupt[n] for n in names), "s3a://lake/raw/bad", ingested, date(2024, 3, 26)),
    ]
    expected = spark.createDataFrame(expected_rows, tables.BRONZE_RAW_EVENTS.schema)
    exactly_equal(actual, expected)
    assert actual.columns == tables.BRONZE_RAW_EVENTS.schema.names
    assert "file" not in actual.columns


def test_bronze_partitions_are_columns_of_the_bronze_schema() -> None:
    assert set(tables.BRONZE_RAW_EVENTS.partitions) <= set(tables.BRONZE_RAW_EVENTS.schema.names)
    assert tables.BRONZE_RAW_EVENTS.partitions == ("source", "date")


def test_to_bronze_uses_the_utc_day(spark: SparkSession) -> None:
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    start = datetime(2024, 3, 25, 23, 30, tzinfo=UTC)
    row = envelope_row(payload="{}", fetched_at=start, source_file="x", interval_start=start)
    raw = spark.createDataFrame([tuple(row[n] for n in schemas.ENVELOPE.names)], schemas.ENVELOPE)

    (out,) = transforms.to_bronze(raw, F.lit("x"), F.lit(INGESTED_AT)).collect()

    assert out.date == date(2024, 3, 25)
