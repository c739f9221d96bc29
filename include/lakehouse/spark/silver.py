"""Bronze rows -> typed silver rows and quarantine rows: pure transforms, one per endpoint.

Every bronze row ends up somewhere: in one or more silver rows, in the quarantine with a reason,
or (an accepted payload with nothing in it, such as a device with `"data": {}` and no sensors) in
nothing but its devices row. Parsing never raises on data: under ANSI mode only `try_*` functions
and `from_json` (PERMISSIVE: null on mismatch) touch payload values.

Quarantine reasons
------------------
envelope level: `not_json` (the raw line is not JSON), `truncated` (it starts like a JSON object but
is cut off), `missing_envelope_field` (no source, endpoint or fetched_at), `http_error` (status not
2xx), `unknown_endpoint`, `empty_payload`, `payload_shape` (the payload is not the JSON shape the
endpoint returns, e.g. an error object);
record level: `null_key`, `unexpected_key` (a /simple/price key that is no currency field),
`negative_price`, `future_timestamp` (later than the fetch plus `FUTURE_TOLERANCE`),
`null_value`, `out_of_range` (a sensor value outside its unit's physical range, or NaN).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakehouse.spark import schemas
from lakehouse.spark.transforms import latest_per_key

FUTURE_TOLERANCE = timedelta(minutes=5)
"""A timestamp may lead the fetch by this much (clock skew) before it counts as in the future."""

RECORD_MAX_CHARS = 16_384
"""Quarantined text beyond this is cut; the whole object stays in the raw zone (source_file)."""

CONTEXT = ("source", "endpoint", "mode", "fetched_at", "interval_start", "source_file")
_REASON, _DETAIL, _RECORD = "_reason", "_detail", "_record"

_SIMPLE_PRICE_SUFFIXES = ("_market_cap", "_24h_vol", "_24h_change")
_CURRENCY_PATTERN = r"^[a-z0-9]{2,12}$"

UNIT_ALIASES = {
    "ºc": "°C",
    "°c": "°C",
    "degc": "°C",
    "c": "°C",
    "kpa": "kPa",
    "hpa": "hPa",
    "lux": "lux",
    "dba": "dBA",
    "db": "dB",
    "%": "%",
    "ppm": "ppm",
    "ppb": "ppb",
    "ug/m3": "ug/m3",
    "µg/m3": "ug/m3",
    "μg/m3": "ug/m3",
    "ug/m³": "ug/m3",
    "µg/m³": "ug/m3",
    "v": "V",
    "mv": "mV",
}
"""Spellings seen for one unit (lower case, spaces removed) -> the unit silver stores."""

PHYSICAL_RANGES = {
    "°C": (-60.0, 100.0),
    "%": (0.0, 100.0),
    "kPa": (30.0, 120.0),
    "hPa": (300.0, 1200.0),
    "lux": (0.0, 200_000.0),
    "dBA": (0.0, 200.0),
    "dB": (0.0, 200.0),
    "ug/m3": (0.0, 5_000.0),
    "ppm": (0.0, 100_000.0),
    "ppb": (0.0, 1_000_000.0),
}
"""Inclusive bounds per (normalized) unit; a value outside is quarantined as `out_of_range`."""


@dataclass(frozen=True)
class Candidates:
    """Rows of one parser: `good` in the target schema, `bad` in the quarantine schema."""

    good: DataFrame
    bad: DataFrame

    def union(self, other: Candidates) -> Candidates:
        """The rows of two parsers of one silver table (a live and a history endpoint)."""
        return Candidates(
            good=self.good.unionByName(other.good), bad=self.bad.unionByName(other.bad)
        )


@dataclass(frozen=True)
class SilverBatch:
    """What one bronze batch becomes: one row per key for each silver table, and quarantine."""

    coin_prices: DataFrame
    coin_markets: DataFrame
    sensor_readings: DataFrame
    devices: DataFrame
    quarantine: DataFrame


def parse_bronze(bronze: DataFrame, quarantined_at: Column | None = None) -> SilverBatch:
    """Parse every envelope of a bronze batch; good rows deduplicated per silver key."""
    at = quarantined_at if quarantined_at is not None else F.current_timestamp()
    envelopes = classify_envelopes(bronze)
    accepted = envelopes.where(F.col(_REASON).isNull()).drop(_REASON, _DETAIL, _RECORD)
    prices = coin_price_candidates(accepted)
    markets = coin_market_candidates(accepted)
    readings = sensor_reading_candidates(accepted)
    devices = device_candidates(accepted)
    bad = _quarantine_rows(envelopes.where(F.col(_REASON).isNotNull()))
    for part in (prices, markets, readings, devices):
        bad = bad.unionByName(part.bad)
    quarantine = bad.select(
        *[F.col(name) for name in schemas.QUARANTINE.names if name != "quarantined_at"],
        at.alias("quarantined_at"),
    )
    return SilverBatch(
        coin_prices=latest_per_key(
            prices.good, schemas.SILVER_COIN_PRICES_KEYS, schemas.SILVER_ORDER
        ),
        coin_markets=latest_per_key(
            markets.good, schemas.SILVER_COIN_MARKETS_KEYS, schemas.SILVER_ORDER
        ),
        sensor_readings=latest_per_key(
            readings.good, schemas.SILVER_SENSOR_READINGS_KEYS, schemas.SILVER_ORDER
        ),
        devices=latest_per_key(devices.good, schemas.SILVER_DEVICES_KEYS, schemas.SILVER_ORDER),
        quarantine=quarantine,
    )


# ---- envelope ---------------------------------------------------------------------------------


def classify_envelopes(bronze: DataFrame) -> DataFrame:
    """Bronze rows with `_reason` (null: the envelope is fine), `_detail` and `_record`."""
    corrupt = F.col(schemas.CORRUPT_RECORD)
    trimmed = F.trim(corrupt)
    truncated = trimmed.startswith("{") & ~trimmed.endswith("}")
    known = F.concat_ws("/", "source", "endpoint").isin(
        [f"{source}/{endpoint}" for source, endpoint in schemas.KNOWN_ENDPOINTS]
    )
    reason = (
        F.when(corrupt.isNotNull(), F.when(truncated, "truncated").otherwise("not_json"))
        .when(
            F.col("source").isNull() | F.col("endpoint").isNull() | F.col("fetched_at").isNull(),
            "missing_envelope_field",
        )
        .when(~F.coalesce(F.col("http_status").between(200, 299), F.lit(True)), "http_error")
        .when(~known, "unknown_endpoint")
        .when(F.col("payload").isNull(), "empty_payload")
    )
    detail = (
        F.when(corrupt.isNotNull(), F.concat(F.lit("length "), F.length(corrupt).cast("string")))
        .when(
            F.col("http_status").isNotNull(),
            F.concat(F.lit("http_status "), F.col("http_status").cast("string")),
        )
        .otherwise(F.lit(None).cast("string"))
    )
    return bronze.select(
        "*",
        reason.alias(_REASON),
        detail.alias(_DETAIL),
        F.coalesce(corrupt, F.col("payload")).alias(_RECORD),
    )


def _endpoint(accepted: DataFrame, source: str, endpoint: str) -> DataFrame:
    return accepted.where((F.col("source") == source) & (F.col("endpoint") == endpoint))


def _starts_with(prefix: str) -> Column:
    return F.coalesce(F.ltrim(F.col("payload")).startswith(prefix), F.lit(False))


def _param(name: str) -> Column:
    return F.try_element_at(F.col("request.params"), F.lit(name))


def _quarantine_rows(df: DataFrame) -> DataFrame:
    """Context columns + reason, detail and (cut) record text, in QUARANTINE order sans time."""
    return df.select(
        *[F.col(name) for name in ("source", "endpoint", "mode")],
        F.col(_REASON).alias("reason"),
        F.col(_DETAIL).alias("detail"),
        F.substring(F.col(_RECORD), 1, RECORD_MAX_CHARS).alias("record"),
        *[F.col(name) for name in ("fetched_at", "interval_start", "source_file")],
    )


def _split(df: DataFrame, schema_names: list[str]) -> Candidates:
    good = df.where(F.col(_REASON).isNull()).select(*schema_names)
    return Candidates(good=good, bad=_quarantine_rows(df.where(F.col(_REASON).isNotNull())))


def _shape_failure(df: DataFrame, ok: Column) -> DataFrame:
    """Envelopes whose payload is not the endpoint's shape, as quarantine rows."""
    return _quarantine_rows(
        df.where(~ok).select(
            "*",
            F.lit("payload_shape").alias(_REASON),
            F.lit(None).cast("string").alias(_DETAIL),
            F.col("payload").alias(_RECORD),
        )
    )


def _in_future(ts: Column) -> Column:
    limit = F.col("fetched_at") + F.make_interval(secs=F.lit(FUTURE_TOLERANCE.total_seconds()))
    return F.coalesce(ts > limit, F.lit(False))


def _minute(ts: Column) -> Column:
    return F.date_trunc("minute", ts)


def _double(text: Column) -> Column:
    return text.try_cast("double")


def _long(text: Column) -> Column:
    """An id as a whole number; "13006" and 13006.0 parse, 13006.5 does not."""
    as_double = text.try_cast("double")
    return F.when(as_double == F.floor(as_double), as_double.try_cast("long"))


def _iso(text: Column) -> Column:
    return F.try_to_timestamp(text)


# ---- CoinGecko --------------------------------------------------------------------------------


def coin_price_candidates(accepted: DataFrame) -> Candidates:
    """silver.coin_prices rows of `/simple/price` (live) and `/market_chart/range` (history)."""
    simple = _simple_price(_endpoint(accepted, "coingecko", "simple_price"))
    return simple.union(_market_chart(_endpoint(accepted, "coingecko", "market_chart_range")))


def _price_expectations(df: DataFrame) -> DataFrame:
    keys_null = (
        F.col("coin_id").isNull() | F.col("vs_currency").isNull() | F.col("price_ts").isNull()
    )
    negative = F.coalesce(
        (F.col("price") < 0) | (F.col("market_cap") < 0) | (F.col("volume_24h") < 0),
        F.lit(False),
    )
    reason = (
        F.when(keys_null, "null_key")
        .when(negative, "negative_price")
        .when(_in_future(F.col("observed_at")), "future_timestamp")
    )
    detail = F.when(
        negative,
        F.concat_ws(
            " ",
            F.lit("price"),
            F.col("price").cast("string"),
            F.lit("market_cap"),
            F.col("market_cap").cast("string"),
            F.lit("volume_24h"),
            F.col("volume_24h").cast("string"),
        ),
    ).when(reason == "future_timestamp", F.col("observed_at").cast("string"))
    return df.withColumn(_REASON, reason).withColumn(_DETAIL, detail)


def _simple_price(df: DataFrame) -> Candidates:
    ok = _starts_with("{")
    parsed = df.where(ok).select(
        "*", F.from_json("payload", schemas.SIMPLE_PRICE_PAYLOAD.simpleString()).alias("_quotes")
    )
    shape = _shape_failure(df, ok).unionByName(
        _quarantine_rows(
            parsed.where(F.col("_quotes").isNull()).select(
                "*",
                F.lit("payload_shape").alias(_REASON),
                F.lit(None).cast("string").alias(_DETAIL),
                F.col("payload").alias(_RECORD),
            )
        )
    )
    quotes = parsed.select(*CONTEXT, F.explode("_quotes").alias("coin_id", "quote"))

    def is_field(key: Column) -> Column:
        field = key == "last_updated_at"
        for suffix in _SIMPLE_PRICE_SUFFIXES:
            field = field | key.endswith(suffix)
        return field

    keys = quotes.select("*", F.explode(F.map_keys("quote")).alias("_key"))
    currency_keys = keys.where(~is_field(F.col("_key")))
    unexpected = currency_keys.where(~F.col("_key").rlike(_CURRENCY_PATTERN)).select(
        *CONTEXT,
        F.lit("unexpected_key").alias(_REASON),
        F.concat(F.lit("key "), F.col("_key")).alias(_DETAIL),
        F.to_json(F.create_map(F.col("coin_id"), F.col("quote"))).alias(_RECORD),
    )
    per_currency = currency_keys.where(F.col("_key").rlike(_CURRENCY_PATTERN)).withColumnRenamed(
        "_key", "vs_currency"
    )

    def quote_value(suffix: str) -> Column:
        key = F.concat(F.col("vs_currency"), F.lit(suffix))
        return _double(F.try_element_at(F.col("quote"), key))

    updated_at = _double(F.try_element_at(F.col("quote"), F.lit("last_updated_at"))).try_cast(
        "long"
    )
    observed = F.coalesce(F.timestamp_seconds(updated_at), F.col("fetched_at"))
    rows = per_currency.select(
        F.col("coin_id"),
        F.col("vs_currency"),
        _minute(observed).alias("price_ts"),
        quote_value("").alias("price"),
        quote_value("_market_cap").alias("market_cap"),
        quote_value("_24h_vol").alias("volume_24h"),
        quote_value("_24h_change").alias("change_24h_pct"),
        observed.alias("observed_at"),
        *CONTEXT,
        F.to_json(F.create_map(F.col("coin_id"), F.col("quote"))).alias(_RECORD),
    )
    split = _split(_price_expectations(rows), schemas.SILVER_COIN_PRICES.names)
    return Candidates(
        good=split.good, bad=shape.unionByName(split.bad).unionByName(_quarantine_rows(unexpected))
    )


def _market_chart(df: DataFrame) -> Candidates:
    parsed = df.select("*", F.from_json("payload", schemas.MARKET_CHART_PAYLOAD).alias("_chart"))
    ok = _starts_with("{") & F.col("_chart.prices").isNotNull()
    shape = _shape_failure(parsed, ok)
    good_env = parsed.where(ok)

    def points(series: str) -> DataFrame:
        return good_env.select(
            "source_file",
            F.explode(F.col(f"_chart.{series}")).alias("_point"),
        ).select(
            "source_file",
            F.lit(series).alias("_series"),
            F.col("_point"),
            F.try_element_at(F.col("_point"), F.lit(1)).alias("_t"),
            _double(F.try_element_at(F.col("_point"), F.lit(2))).alias("_v"),
        )

    exploded = (
        points("prices").unionByName(points("market_caps")).unionByName(points("total_volumes"))
    )
    per_instant = exploded.groupBy("source_file", "_t").agg(
        *[
            F.max(F.when(F.col("_series") == series, F.col("_v"))).alias(series)
            for series in ("prices", "market_caps", "total_volumes")
        ],
        F.to_json(F.collect_list(F.struct("_series", "_point"))).alias(_RECORD),
    )
    millis = _double(F.col("_t")).try_cast("long")
    observed = F.when(millis.isNotNull(), F.timestamp_millis(millis))
    context = good_env.select(
        *CONTEXT,
        F.lower(_param("id")).alias("coin_id"),
        F.lower(_param("vs_currency")).alias("vs_currency"),
    )
    rows = per_instant.join(context, "source_file").select(
        F.col("coin_id"),
        F.col("vs_currency"),
        _minute(observed).alias("price_ts"),
        F.col("prices").alias("price"),
        F.col("market_caps").alias("market_cap"),
        F.col("total_volumes").alias("volume_24h"),
        F.lit(None).cast("double").alias("change_24h_pct"),
        observed.alias("observed_at"),
        *CONTEXT,
        F.col(_RECORD),
    )
    split = _split(_price_expectations(rows), schemas.SILVER_COIN_PRICES.names)
    return Candidates(good=split.good, bad=shape.unionByName(split.bad))


def coin_market_candidates(accepted: DataFrame) -> Candidates:
    """silver.coin_markets rows of `/coins/markets`: one per coin and `last_updated`."""
    df = _endpoint(accepted, "coingecko", "coins_markets")
    parsed = df.select("*", F.from_json("payload", schemas.COINS_MARKETS_PAYLOAD).alias("_list"))
    ok = _starts_with("[") & F.col("_list").isNotNull()
    shape = _shape_failure(parsed, ok)
    items = parsed.where(ok).select(
        *CONTEXT,
        F.lower(_param("vs_currency")).alias("vs_currency"),
        F.explode("_list").alias("_m"),
    )

    def value(key: str) -> Column:
        return F.try_element_at(F.col("_m"), F.lit(key))

    last_updated = _iso(value("last_updated"))
    rows = items.select(
        value("id").alias("coin_id"),
        F.col("vs_currency"),
        last_updated.alias("last_updated"),
        value("symbol").alias("symbol"),
        value("name").alias("name"),
        _long(value("market_cap_rank")).try_cast("int").alias("market_cap_rank"),
        *[_double(value(api)).alias(column) for api, column in schemas.MARKET_DOUBLES],
        _iso(value("ath_date")).alias("ath_date"),
        _iso(value("atl_date")).alias("atl_date"),
        last_updated.alias("observed_at"),
        *CONTEXT,
        F.to_json("_m").alias(_RECORD),
    )
    keys_null = (
        F.col("coin_id").isNull() | F.col("vs_currency").isNull() | F.col("last_updated").isNull()
    )
    negative = F.coalesce(F.col("current_price") < 0, F.lit(False))
    checked = rows.withColumn(
        _REASON,
        F.when(keys_null, "null_key")
        .when(negative, "negative_price")
        .when(_in_future(F.col("last_updated")), "future_timestamp"),
    ).withColumn(
        _DETAIL,
        F.when(negative, F.concat(F.lit("current_price "), F.col("current_price").cast("string"))),
    )
    split = _split(checked, schemas.SILVER_COIN_MARKETS.names)
    return Candidates(good=split.good, bad=shape.unionByName(split.bad))


# ---- Smart Citizen ----------------------------------------------------------------------------


def normalize_unit(unit: Column) -> Column:
    """`ºC` -> `°C`, `K Pa` -> `kPa`, `Lux` -> `lux`; "NULL" and "" -> null; others trimmed."""
    trimmed = F.trim(unit)
    key = F.lower(F.regexp_replace(trimmed, r"\s+", ""))
    aliases = F.create_map(*[F.lit(x) for pair in UNIT_ALIASES.items() for x in pair])
    return F.when(
        trimmed.isNull() | (trimmed == "") | (F.upper(trimmed) == "NULL"), F.lit(None)
    ).otherwise(F.coalesce(F.try_element_at(aliases, key), trimmed))


def _out_of_range(value: Column, unit: Column) -> Column:
    check = F.isnan(value)
    for name, (low, high) in PHYSICAL_RANGES.items():
        check = check | ((unit == name) & ~value.between(low, high))
    return F.coalesce(check, F.lit(False))


def _reading_expectations(rows: DataFrame) -> DataFrame:
    keys_null = (
        F.col("device_id").isNull() | F.col("sensor_id").isNull() | F.col("reading_ts").isNull()
    )
    out_of_range = _out_of_range(F.col("value"), F.col("unit"))
    reason = (
        F.when(keys_null, "null_key")
        .when(F.col("value").isNull(), "null_value")
        .when(out_of_range, "out_of_range")
        .when(_in_future(F.col("observed_at")), "future_timestamp")
    )
    detail = F.when(
        reason == "out_of_range",
        F.concat_ws(" ", F.col("value").cast("string"), F.coalesce(F.col("unit"), F.lit("?"))),
    ).when(reason == "future_timestamp", F.col("observed_at").cast("string"))
    return rows.withColumn(_REASON, reason).withColumn(_DETAIL, detail)


def sensor_reading_candidates(accepted: DataFrame) -> Candidates:
    """silver.sensor_readings rows of `/devices/{id}` (live) and `/devices/{id}/readings`."""
    device = _device_sensor_readings(_endpoint(accepted, "smartcitizen", "device"))
    return device.union(_history_readings(_endpoint(accepted, "smartcitizen", "readings")))


def _parsed_devices(df: DataFrame) -> DataFrame:
    return df.select("*", F.from_json("payload", schemas.DEVICE_PAYLOAD).alias("_d"))


def _device_ok() -> Column:
    return _starts_with("{") & F.col("_d").isNotNull()


def _device_sensor_readings(df: DataFrame) -> Candidates:
    parsed = _parsed_devices(df).where(_device_ok())
    sensors = parsed.select(
        *CONTEXT,
        _long(F.coalesce(F.col("_d.id"), _param("id"))).alias("device_id"),
        F.col("_d.data.recorded_at").alias("_recorded_at"),
        F.col("_d.last_reading_at").alias("_device_last"),
        F.explode(F.col("_d.data.sensors")).alias("_s"),
    )
    observed = F.coalesce(
        _iso(F.col("_s.last_reading_at")), _iso(F.col("_recorded_at")), _iso(F.col("_device_last"))
    )
    unit = normalize_unit(F.col("_s.unit"))
    rows = sensors.select(
        F.col("device_id"),
        _long(F.col("_s.id")).alias("sensor_id"),
        _minute(observed).alias("reading_ts"),
        _double(F.col("_s.value")).alias("value"),
        unit.alias("unit"),
        F.col("_s.measurement.name").alias("measurement"),
        F.col("_s.default_key").alias("sensor_key"),
        F.col("_s.name").alias("sensor_name"),
        observed.alias("observed_at"),
        *CONTEXT,
        F.to_json("_s").alias(_RECORD),
    )
    return _split(_reading_expectations(rows), schemas.SILVER_SENSOR_READINGS.names)


def _history_readings(df: DataFrame) -> Candidates:
    parsed = df.select("*", F.from_json("payload", schemas.READINGS_PAYLOAD).alias("_r"))
    ok = _starts_with("{") & F.col("_r.readings").isNotNull()
    shape = _shape_failure(parsed, ok)
    points = parsed.where(ok).select(
        *CONTEXT,
        _long(F.coalesce(F.col("_r.device_id"), _param("device_id"))).alias("device_id"),
        _long(F.coalesce(F.col("_r.sensor_id"), _param("sensor_id"))).alias("sensor_id"),
        F.coalesce(F.col("_r.sensor_key"), _param("sensor_key")).alias("sensor_key"),
        F.explode(F.col("_r.readings")).alias("_p"),
    )
    observed = _iso(F.try_element_at(F.col("_p"), F.lit(1)))
    rows = points.select(
        F.col("device_id"),
        F.col("sensor_id"),
        _minute(observed).alias("reading_ts"),
        _double(F.try_element_at(F.col("_p"), F.lit(2))).alias("value"),
        F.lit(None).cast("string").alias("unit"),
        F.lit(None).cast("string").alias("measurement"),
        F.col("sensor_key"),
        F.lit(None).cast("string").alias("sensor_name"),
        observed.alias("observed_at"),
        *CONTEXT,
        F.to_json("_p").alias(_RECORD),
    )
    split = _split(_reading_expectations(rows), schemas.SILVER_SENSOR_READINGS.names)
    return Candidates(good=split.good, bad=shape.unionByName(split.bad))


def device_candidates(accepted: DataFrame) -> Candidates:
    """silver.devices rows of `/devices/{id}` and of every `/devices/world_map` summary."""
    single = _single_devices(_endpoint(accepted, "smartcitizen", "device"))
    world = _world_map_devices(_endpoint(accepted, "smartcitizen", "world_map"))
    return Candidates(
        good=single.good.unionByName(world.good), bad=single.bad.unionByName(world.bad)
    )


def _device_key_check(rows: DataFrame) -> DataFrame:
    return rows.withColumn(_REASON, F.when(F.col("device_id").isNull(), "null_key")).withColumn(
        _DETAIL, F.lit(None).cast("string")
    )


def _single_devices(df: DataFrame) -> Candidates:
    parsed = _parsed_devices(df)
    shape = _shape_failure(parsed, _device_ok())

    def location(field: str) -> Column:
        return F.coalesce(F.col(f"_d.location.{field}"), F.col(f"_d.data.location.{field}"))

    hw_version = F.col("_d.hardware_info.hw_ver")
    hardware = F.coalesce(
        F.col("_d.hardware.name"),
        F.col("_d.kit.name"),
        F.when(hw_version.isNotNull(), F.concat(F.lit("SCK "), hw_version)),
    )
    last_reading = _iso(F.col("_d.last_reading_at"))
    rows = parsed.where(_device_ok()).select(
        _long(F.coalesce(F.col("_d.id"), _param("id"))).alias("device_id"),
        F.col("_d.name").alias("name"),
        F.col("_d.state").alias("state"),
        _double(location("latitude")).alias("latitude"),
        _double(location("longitude")).alias("longitude"),
        location("city").alias("city"),
        location("country_code").alias("country_code"),
        location("exposure").alias("exposure"),
        hardware.alias("hardware"),
        F.col("_d.system_tags").alias("system_tags"),
        last_reading.alias("last_reading_at"),
        F.coalesce(last_reading, F.col("fetched_at")).alias("observed_at"),
        *CONTEXT,
        F.substring(F.col("payload"), 1, RECORD_MAX_CHARS).alias(_RECORD),
    )
    split = _split(_device_key_check(rows), schemas.SILVER_DEVICES.names)
    return Candidates(good=split.good, bad=shape.unionByName(split.bad))


def _world_map_devices(df: DataFrame) -> Candidates:
    parsed = df.select("*", F.from_json("payload", schemas.WORLD_MAP_PAYLOAD).alias("_list"))
    ok = _starts_with("[") & F.col("_list").isNotNull()
    shape = _shape_failure(parsed, ok)
    items = parsed.where(ok).select(*CONTEXT, F.explode("_list").alias("_m"))

    def value(key: str) -> Column:
        return F.try_element_at(F.col("_m"), F.lit(key))

    def nested(key: str, path: str) -> Column:
        return F.get_json_object(value(key), path)

    def located(field: str) -> Column:
        return F.coalesce(value(field), nested("location", f"$.{field}"))

    last_reading = _iso(value("last_reading_at"))
    rows = items.select(
        _long(value("id")).alias("device_id"),
        value("name").alias("name"),
        value("state").alias("state"),
        _double(located("latitude")).alias("latitude"),
        _double(located("longitude")).alias("longitude"),
        located("city").alias("city"),
        located("country_code").alias("country_code"),
        located("exposure").alias("exposure"),
        nested("hardware", "$.name").alias("hardware"),
        F.from_json(value("system_tags"), "array<string>").alias("system_tags"),
        last_reading.alias("last_reading_at"),
        F.coalesce(last_reading, F.col("fetched_at")).alias("observed_at"),
        *CONTEXT,
        F.to_json("_m").alias(_RECORD),
    )
    split = _split(_device_key_check(rows), schemas.SILVER_DEVICES.names)
    return Candidates(good=split.good, bad=shape.unionByName(split.bad))
