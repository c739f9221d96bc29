"""Silver parsers of CoinGecko's endpoints: prices (live and history) and markets."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakehouse import tables
from lakehouse.spark import schemas
from lakehouse.spark.parsers.common import (
    CONTEXT,
    DETAIL,
    REASON,
    RECORD,
    Candidates,
    Feeds,
    in_future,
    iso_time,
    minute,
    param,
    quarantine_rows,
    shape_failure,
    split,
    starts_with,
    to_double,
    to_long,
)

_SIMPLE_PRICE_SUFFIXES = ("_market_cap", "_24h_vol", "_24h_change")
_CURRENCY_PATTERN = r"^[a-z0-9]{2,12}$"


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
        .when(F.col("price").isNull(), "null_price")
        .when(negative, "negative_price")
        .when(in_future(F.col("observed_at")), "future_timestamp")
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
    detail = detail.when(
        reason == "null_price", F.concat_ws(" ", F.col("coin_id"), F.col("vs_currency"))
    )
    return df.withColumn(REASON, reason).withColumn(DETAIL, detail)


def _missing_quotes(requests: DataFrame, quoted: DataFrame) -> DataFrame:
    """Requested (coin, currency) pairs that the answer leaves out, as quarantine rows.

    CoinGecko answers an unknown coin id by leaving it out (`{}`) and an unknown currency with an
    empty quote (`{"bitcoin": {}}`), both with HTTP 200 (see ../shared/samples/README.md): such a
    pair would otherwise give no silver row and no trace.
    """
    requested = requests.select("*", F.explode(F.split(param("ids"), ",")).alias("coin_id")).select(
        "*", F.explode(F.split(param("vs_currencies"), ",")).alias("vs_currency")
    )
    answered = quoted.select("source_file", "coin_id", "vs_currency").distinct()
    missing = requested.join(answered, ["source_file", "coin_id", "vs_currency"], "left_anti")
    return quarantine_rows(
        missing.select(
            *CONTEXT,
            F.lit("missing_quote").alias(REASON),
            F.concat_ws(" ", F.col("coin_id"), F.col("vs_currency")).alias(DETAIL),
            F.col("payload").alias(RECORD),
        )
    )


def _is_field(key: Column) -> Column:
    """A `/simple/price` quote key that is a figure of a currency, not the currency itself."""
    field = key == "last_updated_at"
    for suffix in _SIMPLE_PRICE_SUFFIXES:
        field = field | key.endswith(suffix)
    return field


def simple_price(df: DataFrame) -> Candidates:
    """silver.coin_prices rows of `/simple/price` (live): one per coin and currency."""
    ok = starts_with("{")
    parsed = df.where(ok).select(
        "*", F.from_json("payload", schemas.SIMPLE_PRICE_PAYLOAD.simpleString()).alias("_quotes")
    )
    shape = shape_failure(df, ok).unionByName(
        quarantine_rows(
            parsed.where(F.col("_quotes").isNull()).select(
                "*",
                F.lit("payload_shape").alias(REASON),
                F.lit(None).cast("string").alias(DETAIL),
                F.col("payload").alias(RECORD),
            )
        )
    )
    quotes = parsed.select(*CONTEXT, F.explode("_quotes").alias("coin_id", "quote"))

    keys = quotes.select("*", F.explode(F.map_keys("quote")).alias("_key"))
    currency_keys = keys.where(~_is_field(F.col("_key")))
    unexpected = currency_keys.where(~F.col("_key").rlike(_CURRENCY_PATTERN)).select(
        *CONTEXT,
        F.lit("unexpected_key").alias(REASON),
        F.concat(F.lit("key "), F.col("_key")).alias(DETAIL),
        F.to_json(F.create_map(F.col("coin_id"), F.col("quote"))).alias(RECORD),
    )
    per_currency = currency_keys.where(F.col("_key").rlike(_CURRENCY_PATTERN)).withColumnRenamed(
        "_key", "vs_currency"
    )

    def quote_value(suffix: str) -> Column:
        key = F.concat(F.col("vs_currency"), F.lit(suffix))
        return to_double(F.try_element_at(F.col("quote"), key))

    updated_at = to_double(F.try_element_at(F.col("quote"), F.lit("last_updated_at"))).try_cast(
        "long"
    )
    observed = F.coalesce(F.timestamp_seconds(updated_at), F.col("fetched_at"))
    rows = per_currency.select(
        F.col("coin_id"),
        F.col("vs_currency"),
        minute(observed).alias("price_ts"),
        quote_value("").alias("price"),
        quote_value("_market_cap").alias("market_cap"),
        quote_value("_24h_vol").alias("volume_24h"),
        quote_value("_24h_change").alias("change_24h_pct"),
        observed.alias("observed_at"),
        *resolution_columns(F.lit("1m")),
        *CONTEXT,
        F.to_json(F.create_map(F.col("coin_id"), F.col("quote"))).alias(RECORD),
    )
    parts = split(_price_expectations(rows), tables.SILVER_COIN_PRICES.schema.names)
    missing = _missing_quotes(parsed.where(F.col("_quotes").isNotNull()), per_currency)
    bad = shape.unionByName(parts.bad).unionByName(quarantine_rows(unexpected))
    return Candidates(good=parts.good, bad=bad.unionByName(missing))


def market_chart(df: DataFrame) -> Candidates:
    """silver.coin_prices rows of `/market_chart/range` (history): one per point in time."""
    parsed = df.select("*", F.from_json("payload", schemas.MARKET_CHART_PAYLOAD).alias("_chart"))
    ok = starts_with("{") & F.col("_chart.prices").isNotNull()
    shape = shape_failure(parsed, ok)
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
            to_double(F.try_element_at(F.col("_point"), F.lit(2))).alias("_v"),
        )

    exploded = (
        points("prices").unionByName(points("market_caps")).unionByName(points("total_volumes"))
    )
    per_instant = exploded.groupBy("source_file", "_t").agg(
        *[
            F.max(F.when(F.col("_series") == series, F.col("_v"))).alias(series)
            for series in ("prices", "market_caps", "total_volumes")
        ],
        F.to_json(F.collect_list(F.struct("_series", "_point"))).alias(RECORD),
    )
    millis = to_double(F.col("_t")).try_cast("long")
    observed = F.when(millis.isNotNull(), F.timestamp_millis(millis))
    context = good_env.select(
        *CONTEXT,
        F.lower(param("id")).alias("coin_id"),
        F.lower(param("vs_currency")).alias("vs_currency"),
    )
    rows = per_instant.join(context, "source_file").join(
        _chart_resolution(good_env, exploded), "source_file"
    )
    rows = rows.select(
        F.col("coin_id"),
        F.col("vs_currency"),
        minute(observed).alias("price_ts"),
        F.col("prices").alias("price"),
        F.col("market_caps").alias("market_cap"),
        F.col("total_volumes").alias("volume_24h"),
        F.lit(None).cast("double").alias("change_24h_pct"),
        observed.alias("observed_at"),
        *resolution_columns(F.col("_resolution")),
        *CONTEXT,
        F.col(RECORD),
    )
    parts = split(_price_expectations(rows), tables.SILVER_COIN_PRICES.schema.names)
    return Candidates(good=parts.good, bad=shape.unionByName(parts.bad))


def resolution_columns(resolution: Column) -> list[Column]:
    """`resolution` and its `resolution_rank` (see "Resolution of prices" in `lakehouse.tables`)."""
    rank = F.lit(None).cast("int")
    for name, value in tables.RESOLUTION_RANK.items():
        rank = F.when(resolution == name, F.lit(value)).otherwise(rank)
    return [resolution.alias("resolution"), rank.alias("resolution_rank")]


RESOLUTION_BOUNDS = ((150, "1m"), (1_800, "5m"), (43_200, "1h"))
"""Median gap between a chart's points (seconds, up to) -> its resolution; beyond: `1d`."""


def _chart_resolution(envelopes: DataFrame, points: DataFrame) -> DataFrame:
    """(source_file, _resolution) of each `/market_chart/range` answer.

    From the points themselves: the median gap between consecutive price points, so that the label
    is right whatever the API chose (its points are off the grid, and the last one may be "now",
    which the median ignores). With fewer than two points, from the docs' rule for the requested
    range (docs.coingecko.com, "Coin Historical Chart Data within Time Range by ID"): within one
    day of the fetch, 5-minutely; up to 90 days, hourly; beyond, daily. Without points to measure
    nor a range to judge, null: an unknown resolution ranks below every known one.
    """
    ms = to_double(F.col("_t")).try_cast("long")
    times = (
        points.where((F.col("_series") == "prices") & ms.isNotNull())
        .groupBy("source_file")
        .agg(F.array_sort(F.collect_set(ms)).alias("_times"))
    )
    gaps = F.array_sort(
        F.filter(
            F.transform("_times", lambda t, i: F.when(i > 0, t - F.element_at("_times", i))),
            lambda gap: gap.isNotNull(),
        )
    )
    n = F.size(gaps)
    median_s = F.when(n > 0, F.element_at(gaps, F.floor((n + 1) / 2).cast("int")) / 1000)
    by_gap = F.when(median_s.isNull(), F.lit(None).cast("string"))
    for bound, name in RESOLUTION_BOUNDS:
        by_gap = by_gap.when(median_s <= bound, F.lit(name))
    by_gap = by_gap.otherwise(F.lit("1d"))
    start = param("from").try_cast("double")
    end = param("to").try_cast("double")
    fetched = F.unix_timestamp("fetched_at")
    by_rule = (
        F.when(start.isNull() | end.isNull(), F.lit(None).cast("string"))
        .when((end - start <= 86_400) & (start >= fetched - 86_400), F.lit("5m"))
        .when(end - start <= 90 * 86_400, F.lit("1h"))
        .otherwise(F.lit("1d"))
    )
    requested = envelopes.select("source_file", by_rule.alias("_by_rule"))
    return requested.join(times, "source_file", "left").select(
        "source_file", F.coalesce(by_gap, F.col("_by_rule")).alias("_resolution")
    )


def coins_markets(df: DataFrame) -> Candidates:
    """silver.coin_markets rows of `/coins/markets`: one per coin and `last_updated`."""
    parsed = df.select("*", F.from_json("payload", schemas.COINS_MARKETS_PAYLOAD).alias("_list"))
    ok = starts_with("[") & F.col("_list").isNotNull()
    shape = shape_failure(parsed, ok)
    items = parsed.where(ok).select(
        *CONTEXT,
        F.lower(param("vs_currency")).alias("vs_currency"),
        F.explode("_list").alias("_m"),
    )

    def value(key: str) -> Column:
        return F.try_element_at(F.col("_m"), F.lit(key))

    last_updated = iso_time(value("last_updated"))
    rows = items.select(
        value("id").alias("coin_id"),
        F.col("vs_currency"),
        last_updated.alias("last_updated"),
        value("symbol").alias("symbol"),
        value("name").alias("name"),
        to_long(value("market_cap_rank")).try_cast("int").alias("market_cap_rank"),
        *[to_double(value(api)).alias(column) for api, column in schemas.MARKET_DOUBLES],
        iso_time(value("ath_date")).alias("ath_date"),
        iso_time(value("atl_date")).alias("atl_date"),
        last_updated.alias("observed_at"),
        *CONTEXT,
        F.to_json("_m").alias(RECORD),
    )
    keys_null = (
        F.col("coin_id").isNull() | F.col("vs_currency").isNull() | F.col("last_updated").isNull()
    )
    negative = F.coalesce(F.col("current_price") < 0, F.lit(False))
    checked = rows.withColumn(
        REASON,
        F.when(keys_null, "null_key")
        .when(negative, "negative_price")
        .when(in_future(F.col("last_updated")), "future_timestamp"),
    ).withColumn(
        DETAIL,
        F.when(negative, F.concat(F.lit("current_price "), F.col("current_price").cast("string"))),
    )
    parts = split(checked, tables.SILVER_COIN_MARKETS.schema.names)
    return Candidates(good=parts.good, bad=shape.unionByName(parts.bad))


PARSERS: dict[tuple[str, str], Feeds] = {
    ("coingecko", "simple_price"): ((tables.SILVER_COIN_PRICES, simple_price),),
    ("coingecko", "market_chart_range"): ((tables.SILVER_COIN_PRICES, market_chart),),
    ("coingecko", "coins_markets"): ((tables.SILVER_COIN_MARKETS, coins_markets),),
}
"""(source, endpoint) -> the silver tables it feeds and their parsers."""
