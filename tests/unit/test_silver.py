"""Silver parsers on the sample shapes: typed rows per endpoint, one per key, and quarantine."""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime, timedelta

import pytest
from bronze_rows import FETCHED_AT, bronze, corrupt_line, device_2023_sample, envelope, sample
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse import tables
from lakehouse.spark import silver
from lakehouse.spark.parsers.smartcitizen import normalize_unit

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
    from pyspark.testing import assertDataFrameEqual

QUARANTINED_AT = datetime(2024, 4, 8, 9, 1, tzinfo=UTC)


def parse(spark: SparkSession, rows: list[dict]) -> silver.SilverBatch:  # type: ignore[type-arg]
    return silver.parse_bronze(bronze(spark, rows), quarantined_at=F.lit(QUARANTINED_AT))


def reasons(batch: silver.SilverBatch) -> list[tuple[str, str]]:
    return sorted((r.source_file, r.reason) for r in batch.quarantine.collect())


def rows_of(df: DataFrame, *columns: str) -> list[tuple]:  # type: ignore[type-arg]
    return sorted(tuple(r) for r in df.select(*columns).collect())


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_every_parseable_sample_is_accepted(spark: SparkSession) -> None:
    rows = [
        envelope("coingecko", "simple_price", sample("coingecko", name), name)
        for name in (
            "simple_price_bitcoin_usd_2021-05-15.json",
            "simple_price_bitcoin_all_include_flags_docs_example_2024-03-25.json",
        )
    ]
    rows += [
        envelope("coingecko", "coins_markets", sample("coingecko", name), name,
                 params={"vs_currency": "usd"})
        for name in (
            "coins_markets_bitcoin_usd_2021-05-15.json",
            "coins_markets_bitcoin_usd_docs_example_2024-04-07.json",
        )
    ]  # fmt: skip
    rows += [
        envelope(
            "coingecko", "market_chart_range",
            sample("coingecko", "market_chart_docs_example_via_jkorf_2024-03-31.json"), "chart",
            params={"id": "bitcoin", "vs_currency": "usd"}, mode="history",
        ),
        envelope("smartcitizen", "device",
                 sample("smartcitizen", "device_13006_sck21_2020-06-23.json"), "d2020"),
        envelope("smartcitizen", "device", device_2023_sample(), "d2023"),
        envelope("smartcitizen", "world_map",
                 sample("smartcitizen", "world_map_2019_shape_5_elements_ANONYMIZED.json"), "wm"),
        envelope(
            "smartcitizen", "readings",
            sample("smartcitizen", "readings_1616_sensor7_rollup4h_2015-07-28_to_30.json"), "rd",
            params={"device_id": "1616", "sensor_id": "7"}, mode="history",
        ),
    ]  # fmt: skip
    batch = parse(spark, rows)

    assert reasons(batch) == []
    assert batch.coin_prices.count() == 2 + 3  # the two simple prices share no key; 3 points
    assert batch.coin_markets.count() == 2
    assert batch.sensor_readings.count() == 11 + 11 + 9
    assert rows_of(batch.devices, "device_id") == [(123,), (1234,), (13006,), (15602,)]


def test_coins_markets(spark: SparkSession) -> None:
    payload = sample("coingecko", "coins_markets_bitcoin_usd_2021-05-15.json")
    batch = parse(
        spark,
        [envelope("coingecko", "coins_markets", payload, "m", params={"vs_currency": "USD"})],
    )
    updated = ts("2021-05-15T15:59:43.867Z")
    expected = spark.createDataFrame(
        [
            (
                "bitcoin", "usd", updated, "btc", "Bitcoin", 1, 49053.0, 917825524991.0,
                1030116515125.0, 61679663434.0, 51300.0, 48019.0, -2246.57482218, -4.37931,
                18710831.0, 21000000.0, 21000000.0, 64805.0, -24.30618, 67.81, 72240.20172,
                ts("2021-04-14T11:54:46.763Z"), ts("2013-07-06T00:00:00.000Z"), updated, "live",
                FETCHED_AT, "m",
            )
        ],
        tables.SILVER_COIN_MARKETS.schema,
    )  # fmt: skip
    assertDataFrameEqual(batch.coin_markets, expected, rtol=0.0, atol=0.0)


def test_market_chart_points_become_minute_rows(spark: SparkSession) -> None:
    payload = sample("coingecko", "market_chart_docs_example_via_jkorf_2024-03-31.json")
    batch = parse(
        spark,
        [
            envelope(
                "coingecko", "market_chart_range", payload, "c",
                params={"id": "bitcoin", "vs_currency": "usd"}, mode="history",
            )
        ],
    )  # fmt: skip
    assert rows_of(batch.coin_prices, "price_ts", "price", "market_cap", "observed_at") == [
        (
            datetime(2024, 3, 31, 0, 0), 69702.3087473573, 1370247487960.09,
            datetime(2024, 3, 31, 0, 0),
        ),
        (
            datetime(2024, 4, 1, 0, 0), 71246.9514406015, 1401370211582.37,
            datetime(2024, 4, 1, 0, 0),
        ),
        # The last point is "now", off the grid: its key is its minute, observed_at exact.
        (
            datetime(2024, 4, 1, 15, 1), 68887.7495158568, 1355701979725.16,
            datetime(2024, 4, 1, 15, 1, 22),
        ),
    ]  # fmt: skip
    assert {r.mode for r in batch.coin_prices.collect()} == {"history"}


def chart_of(points: list[tuple[datetime, float]]) -> str:
    prices = [[int(at.timestamp() * 1000), price] for at, price in points]
    return json.dumps({"prices": prices, "market_caps": [], "total_volumes": []})


def range_params(start: datetime, end: datetime) -> dict[str, str]:
    return {
        "id": "bitcoin",
        "vs_currency": "usd",
        "from": str(int(start.timestamp())),
        "to": str(int(end.timestamp())),
    }


MINUTE = datetime(2024, 3, 25, 8, 45, tzinfo=UTC)
LIVE = json.dumps({"bitcoin": {"usd": 100.0, "last_updated_at": int(MINUTE.timestamp())}})


def test_live_and_backfilled_prices_for_one_instant_are_one_row(spark: SparkSession) -> None:
    """At equal resolution (an API that answers minutely), the newest fetch wins."""
    minutely = [(MINUTE + timedelta(minutes=m), 101.0 + m) for m in range(-2, 3)]
    later = FETCHED_AT + timedelta(hours=1)
    batch = parse(
        spark,
        [
            envelope("coingecko", "simple_price", LIVE, "live.json"),
            envelope("coingecko", "market_chart_range", chart_of(minutely), "backfill.json",
                     params=range_params(MINUTE, MINUTE + timedelta(hours=1)), fetched_at=later,
                     mode="history"),
        ],
    )  # fmt: skip
    assert rows_of(
        batch.coin_prices.where(F.col("price_ts") == MINUTE.replace(tzinfo=None)),
        "coin_id", "price_ts", "price", "mode", "resolution",
    ) == [("bitcoin", datetime(2024, 3, 25, 8, 45), 101.0, "history", "1m")]  # fmt: skip


def test_a_live_minute_beats_a_later_fetched_hourly_point(spark: SparkSession) -> None:
    day = MINUTE.replace(hour=0, minute=0)
    hourly = [(day + timedelta(hours=h, minutes=45, seconds=20), 90.0 + h) for h in range(24)]
    later = FETCHED_AT + timedelta(days=3)
    batch = parse(
        spark,
        [
            envelope("coingecko", "simple_price", LIVE, "live.json"),
            envelope("coingecko", "market_chart_range", chart_of(hourly), "day.json",
                     params=range_params(day, day + timedelta(days=1)), fetched_at=later,
                     mode="history"),
        ],
    )  # fmt: skip
    got = rows_of(batch.coin_prices, "price_ts", "price", "resolution", "resolution_rank")
    assert len(got) == 24
    assert (datetime(2024, 3, 25, 8, 45), 100.0, "1m", 4) in got
    assert (datetime(2024, 3, 25, 9, 45), 99.0, "1h", 2) in got


@pytest.mark.parametrize(
    ("step", "count", "resolution"),
    [
        (timedelta(minutes=5), 12, "5m"),
        (timedelta(hours=1), 24, "1h"),
        (timedelta(days=1), 100, "1d"),
    ],
)
def test_a_charts_resolution_is_measured_from_its_points(
    spark: SparkSession, step: timedelta, count: int, resolution: str
) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    points = [(start + i * step + timedelta(seconds=37), 1.0 + i) for i in range(count)]
    now_point = (start + count * step - timedelta(seconds=90), 5.0)  # the API's last "now" point
    batch = parse(
        spark,
        [
            envelope("coingecko", "market_chart_range", chart_of([*points, now_point]), "c.json",
                     params=range_params(start, start + count * step), mode="history"),
        ],
    )  # fmt: skip
    assert {r.resolution for r in batch.coin_prices.collect()} == {resolution}


def test_a_single_point_takes_the_documented_grain_of_its_range(spark: SparkSession) -> None:
    day = datetime(2024, 3, 20, tzinfo=UTC)  # days before FETCHED_AT: a day range is hourly
    batch = parse(
        spark,
        [
            envelope("coingecko", "market_chart_range", chart_of([(day, 1.0)]), "c.json",
                     params=range_params(day, day + timedelta(days=1)), mode="history"),
        ],
    )  # fmt: skip
    assert [r.resolution for r in batch.coin_prices.collect()] == ["1h"]


def test_devices_in_the_2020_and_2023_shapes(spark: SparkSession) -> None:
    empty = json.dumps({"id": 16777, "name": "quiet", "state": "never_published", "data": {}})
    batch = parse(
        spark,
        [
            envelope("smartcitizen", "device",
                     sample("smartcitizen", "device_13006_sck21_2020-06-23.json"), "d2020"),
            envelope("smartcitizen", "device", device_2023_sample(), "d2023"),
            envelope("smartcitizen", "device", empty, "d-empty"),
        ],
    )  # fmt: skip
    assert reasons(batch) == []
    assert rows_of(
        batch.devices, "device_id", "name", "state", "city", "exposure", "hardware",
        "last_reading_at",
    ) == [
        (13006, "IoTCrawler 4", "has_published", "Aarhus", "outdoor", "SCK 2.1",
         datetime(2020, 6, 23, 11, 53, 30)),
        (15602, "Volderslaan_16, eerste_verdieping", "has_published", "Hasselt", "outdoor",
         "SCK 2.1", datetime(2022, 12, 3, 10, 13, 33)),
        (16777, "quiet", "never_published", None, None, None, None),
    ]  # fmt: skip
    readings = batch.sensor_readings
    assert rows_of(readings.where("sensor_id = 55"), "device_id", "reading_ts", "value", "unit",
                   "measurement", "sensor_key") == [
        (13006, datetime(2020, 6, 23, 11, 53), 26.22, "°C", None, None),
        (15602, datetime(2022, 12, 3, 10, 13), 4.44, "°C", "Air Temperature", "t"),
    ]  # fmt: skip
    assert rows_of(readings.where("sensor_id = 58"), "unit") == [("kPa",), ("kPa",)]  # "K Pa"
    assert rows_of(readings.where("sensor_id = 14"), "unit") == [("lux",), ("lux",)]  # "Lux"


def test_world_map_and_history_readings(spark: SparkSession) -> None:
    batch = parse(
        spark,
        [
            envelope("smartcitizen", "world_map",
                     sample("smartcitizen", "world_map_2019_shape_5_elements_ANONYMIZED.json"),
                     "wm"),
            envelope(
                "smartcitizen", "readings",
                sample("smartcitizen", "readings_1616_sensor7_rollup4h_2015-07-28_to_30.json"),
                "rd", params={"device_id": "1616", "sensor_id": "7"}, mode="history",
            ),
        ],
    )  # fmt: skip
    # Anonymized ids repeat: one row per id, the latest last_reading_at wins.
    assert rows_of(batch.devices, "device_id", "name", "last_reading_at") == [
        (123, "USERNAME", datetime(2014, 3, 6, 14, 15, 55)),
        (1234, "Sentilo Noise T242552", datetime(2019, 3, 10, 13, 55, 20)),
    ]
    readings = rows_of(batch.sensor_readings, "device_id", "sensor_id", "reading_ts", "value")
    assert len(readings) == 9
    assert readings[0] == (1616, 7, datetime(2015, 7, 28, 14, 14), 65.28877551020409)


def test_what_fails_lands_in_quarantine_with_its_reason(spark: SparkSession) -> None:
    future = FETCHED_AT + timedelta(days=1)
    device = {
        "id": 99,
        "last_reading_at": "2024-04-08T09:00:00Z",
        "data": {
            "recorded_at": "2024-04-08T09:00:00Z",
            "sensors": [
                {"id": 55, "unit": "ºC", "value": 500},
                {"id": 56, "unit": "%", "value": None},
                {"id": 57, "unit": "%", "value": 50},
            ],
        },
    }
    rows = [
        corrupt_line("<html>rate limited</html>", "not-json"),
        corrupt_line('{"source":"coingecko","payl', "truncated"),
        envelope("coingecko", None, "{}", "no-endpoint"),  # type: ignore[arg-type]
        envelope("coingecko", "simple_price", "{}", "http-500", http_status=500),
        envelope("coingecko", "ping", sample("coingecko", "ping_docs_example_via_jkorf.json"),
                 "ping"),
        envelope("coingecko", "simple_price", None, "no-payload"),
        envelope("coingecko", "simple_price",
                 sample("coingecko", "error_422_missing_parameter_ids_2021-07-19.json"), "422"),
        envelope("coingecko", "coins_markets", '{"error": "x"}', "markets-object"),
        envelope("coingecko", "simple_price",
                 sample("coingecko", "error_429_rate_limit_2022-09-29.json"), "429"),
        envelope("coingecko", "simple_price", '{"bitcoin": {"usd": -1}}', "negative"),
        envelope("coingecko", "coins_markets",
                 json.dumps([{"id": "bitcoin", "current_price": 1, "last_updated":
                              future.isoformat()},
                             {"symbol": "x", "last_updated": "2024-04-08T09:00:00Z"}]),
                 "markets", params={"vs_currency": "usd"}),
        envelope("smartcitizen", "device", json.dumps(device), "device"),
        envelope("smartcitizen", "readings", '{"readings": [["2024-04-08T09:00:00Z", 1]]}',
                 "readings-without-ids"),
    ]  # fmt: skip
    batch = parse(spark, rows)
    assert reasons(batch) == sorted(
        [
            ("not-json", "not_json"),
            ("truncated", "truncated"),
            ("no-endpoint", "missing_envelope_field"),
            ("http-500", "http_error"),
            ("ping", "unknown_endpoint"),
            ("no-payload", "empty_payload"),
            ("422", "payload_shape"),
            ("markets-object", "payload_shape"),
            ("429", "unexpected_key"),
            ("429", "unexpected_key"),
            ("negative", "negative_price"),
            ("markets", "future_timestamp"),
            ("markets", "null_key"),
            ("device", "out_of_range"),
            ("device", "null_value"),
            ("readings-without-ids", "null_key"),
        ]
    )
    assert rows_of(batch.sensor_readings, "device_id", "sensor_id", "value") == [(99, 57, 50.0)]
    quarantined = {r.reason: r for r in batch.quarantine.collect()}
    assert quarantined["out_of_range"].detail == "500.0 °C"
    assert quarantined["out_of_range"].record is not None
    assert quarantined["not_json"].record == "<html>rate limited</html>"
    names_and_types = [(f.name, f.dataType) for f in batch.quarantine.schema.fields]
    assert names_and_types == [(f.name, f.dataType) for f in tables.SILVER_QUARANTINE.schema.fields]


def test_readings_answered_for_another_device_or_sensor_are_quarantined(
    spark: SparkSession,
) -> None:
    def readings(device: int, sensor: int) -> str:
        points = [["2024-04-08T09:00:00Z", 1.5], ["2024-04-08T08:59:00Z", 1.4]]
        return json.dumps({"device_id": device, "sensor_id": sensor, "readings": points})

    def asked(device: int, sensor: int) -> dict[str, str]:
        return {"device_id": str(device), "sensor_id": str(sensor), "rollup": "1m"}

    rows = [
        envelope("smartcitizen", "readings", readings(10682, 7), "other-device",
                 params=asked(1616, 7), mode="history"),
        envelope("smartcitizen", "readings", readings(1616, 12), "other-sensor",
                 params=asked(1616, 7), mode="history"),
        envelope("smartcitizen", "readings", readings(1616, 7), "asked",
                 params=asked(1616, 7), mode="history"),
    ]  # fmt: skip

    batch = parse(spark, rows)

    assert sorted((r.source_file, r.reason, r.detail) for r in batch.quarantine.collect()) == [
        ("other-device", "mismatched_device", "asked device 1616 sensor 7 answered device 10682 "
         "sensor 7"),
        ("other-sensor", "mismatched_sensor", "asked device 1616 sensor 7 answered device 1616 "
         "sensor 12"),
    ]  # fmt: skip
    assert rows_of(batch.sensor_readings, "device_id", "sensor_id", "source_file") == [
        (1616, 7, "asked"),
        (1616, 7, "asked"),
    ]


def test_prices_the_answer_leaves_out_or_nulls_are_quarantined(spark: SparkSession) -> None:
    def asked(ids: str, currencies: str) -> dict[str, str]:
        return {"ids": ids, "vs_currencies": currencies}

    rows = [
        # CoinGecko's real answers: an unknown currency gives an empty quote, an unknown id `{}`.
        envelope("coingecko", "simple_price", '{"bitcoin": {}}', "bad-currency",
                 params=asked("bitcoin", "ethereum")),
        envelope("coingecko", "simple_price", "{}", "bad-id", params=asked("bitcoinn", "usd")),
        envelope("coingecko", "simple_price", '{"bitcoin": {"usd": null}}', "null",
                 params=asked("bitcoin", "usd")),
        envelope("coingecko", "simple_price", '{"bitcoin": {"usd": 1, "eur": 2}}', "partial",
                 params=asked("bitcoin,solana", "usd,eur")),
    ]  # fmt: skip

    batch = parse(spark, rows)

    quarantined = sorted((r.source_file, r.reason, r.detail) for r in batch.quarantine.collect())
    assert quarantined == [
        ("bad-currency", "missing_quote", "bitcoin ethereum"),
        ("bad-id", "missing_quote", "bitcoinn usd"),
        ("null", "null_price", "bitcoin usd"),
        ("partial", "missing_quote", "solana eur"),
        ("partial", "missing_quote", "solana usd"),
    ]
    assert rows_of(batch.coin_prices, "coin_id", "vs_currency", "price") == [
        ("bitcoin", "eur", 2.0),
        ("bitcoin", "usd", 1.0),
    ]


@pytest.mark.parametrize(
    ("raw", "unit"),
    [("ºC", "°C"), ("°C", "°C"), ("K Pa", "kPa"), ("Lux", "lux"), ("NULL", None), ("", None),
     (None, None), ("ug/m3", "ug/m3"), (" dBA ", "dBA"), ("kOhm", "kOhm")],
)  # fmt: skip
def test_units_are_normalized(spark: SparkSession, raw: str | None, unit: str | None) -> None:
    df = spark.createDataFrame([(raw,)], "u string")
    assert df.select(normalize_unit(F.col("u"))).first()[0] == unit  # type: ignore[index]


def test_a_batch_of_one_endpoint_parses_only_the_tables_that_endpoint_feeds(
    spark: SparkSession,
) -> None:
    name = "simple_price_bitcoin_usd_2021-05-15.json"
    good = envelope("coingecko", "simple_price", sample("coingecko", name), name)
    broken = corrupt_line('{"source": "coinge', "broken.json")
    frame = bronze(spark, [good, broken])

    endpoints = silver.endpoints_in(frame)
    parsed = silver.parse_bronze(frame, F.lit(QUARANTINED_AT), endpoints)

    assert endpoints == {("coingecko", "simple_price"), (None, None)}
    assert set(parsed.rows) == {tables.SILVER_COIN_PRICES, tables.SILVER_QUARANTINE}
    everything = parse(spark, [good, broken])
    assertDataFrameEqual(parsed.coin_prices, everything.coin_prices)
    assertDataFrameEqual(parsed.quarantine, everything.quarantine)
    assert len(everything.rows) == len(silver.OUTPUTS)
