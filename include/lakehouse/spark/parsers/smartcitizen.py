"""Silver parsers of Smart Citizen's endpoints: sensor readings (live and history) and devices."""

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
    RECORD_MAX_CHARS,
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
        .when(in_future(F.col("observed_at")), "future_timestamp")
    )
    detail = F.when(
        reason == "out_of_range",
        F.concat_ws(" ", F.col("value").cast("string"), F.coalesce(F.col("unit"), F.lit("?"))),
    ).when(reason == "future_timestamp", F.col("observed_at").cast("string"))
    return rows.withColumn(REASON, reason).withColumn(DETAIL, detail)


def _parsed_devices(df: DataFrame) -> DataFrame:
    return df.select("*", F.from_json("payload", schemas.DEVICE_PAYLOAD).alias("_d"))


def _device_ok() -> Column:
    return starts_with("{") & F.col("_d").isNotNull()


def device_readings(df: DataFrame) -> Candidates:
    """silver.sensor_readings rows of `/devices/{id}` (live): the latest value of each sensor."""
    parsed = _parsed_devices(df).where(_device_ok())
    sensors = parsed.select(
        *CONTEXT,
        to_long(F.coalesce(F.col("_d.id"), param("id"))).alias("device_id"),
        F.col("_d.data.recorded_at").alias("_recorded_at"),
        F.col("_d.last_reading_at").alias("_device_last"),
        F.explode(F.col("_d.data.sensors")).alias("_s"),
    )
    observed = F.coalesce(
        iso_time(F.col("_s.last_reading_at")),
        iso_time(F.col("_recorded_at")),
        iso_time(F.col("_device_last")),
    )
    unit = normalize_unit(F.col("_s.unit"))
    rows = sensors.select(
        F.col("device_id"),
        to_long(F.col("_s.id")).alias("sensor_id"),
        minute(observed).alias("reading_ts"),
        to_double(F.col("_s.value")).alias("value"),
        unit.alias("unit"),
        F.col("_s.measurement.name").alias("measurement"),
        F.col("_s.default_key").alias("sensor_key"),
        F.col("_s.name").alias("sensor_name"),
        observed.alias("observed_at"),
        *CONTEXT,
        F.to_json("_s").alias(RECORD),
    )
    return split(_reading_expectations(rows), tables.SILVER_SENSOR_READINGS.schema.names)


def history_readings(df: DataFrame) -> Candidates:
    """silver.sensor_readings rows of `/devices/{id}/readings` (history): one per point."""
    parsed = df.select("*", F.from_json("payload", schemas.READINGS_PAYLOAD).alias("_r"))
    ok = starts_with("{") & F.col("_r.readings").isNotNull()
    shape = shape_failure(parsed, ok)
    mismatch, mismatch_detail = _answered_for_another()
    flagged = parsed.where(ok).withColumn(REASON, mismatch)
    mismatched = quarantine_rows(
        flagged.where(F.col(REASON).isNotNull()).select(
            *CONTEXT, F.col(REASON), mismatch_detail.alias(DETAIL), F.col("payload").alias(RECORD)
        )
    )
    points = flagged.where(F.col(REASON).isNull()).select(
        *CONTEXT,
        to_long(F.coalesce(F.col("_r.device_id"), param("device_id"))).alias("device_id"),
        to_long(F.coalesce(F.col("_r.sensor_id"), param("sensor_id"))).alias("sensor_id"),
        F.coalesce(F.col("_r.sensor_key"), param("sensor_key")).alias("sensor_key"),
        F.explode(F.col("_r.readings")).alias("_p"),
    )
    observed = iso_time(F.try_element_at(F.col("_p"), F.lit(1)))
    rows = points.select(
        F.col("device_id"),
        F.col("sensor_id"),
        minute(observed).alias("reading_ts"),
        to_double(F.try_element_at(F.col("_p"), F.lit(2))).alias("value"),
        F.lit(None).cast("string").alias("unit"),
        F.lit(None).cast("string").alias("measurement"),
        F.col("sensor_key"),
        F.lit(None).cast("string").alias("sensor_name"),
        observed.alias("observed_at"),
        *CONTEXT,
        F.to_json("_p").alias(RECORD),
    )
    parts = split(_reading_expectations(rows), tables.SILVER_SENSOR_READINGS.schema.names)
    return Candidates(good=parts.good, bad=shape.unionByName(parts.bad).unionByName(mismatched))


def _answered_for_another() -> tuple[Column, Column]:
    """Why readings were answered for another device or sensor than asked (null: they were not),
    and the ids asked and answered.

    The body names its own `device_id`/`sensor_id`; stored under its own ids, a body answered to
    the wrong request would fill another device's series and leave the asked one silently empty,
    so the whole object goes to quarantine, once.
    """
    asked_device, answered_device = to_long(param("device_id")), to_long(F.col("_r.device_id"))
    asked_sensor, answered_sensor = to_long(param("sensor_id")), to_long(F.col("_r.sensor_id"))
    reason = F.when(asked_device != answered_device, "mismatched_device").when(
        asked_sensor != answered_sensor, "mismatched_sensor"
    )
    detail = F.concat_ws(
        " ", F.lit("asked device"), asked_device, F.lit("sensor"), asked_sensor,
        F.lit("answered device"), answered_device, F.lit("sensor"), answered_sensor,
    )  # fmt: skip
    return reason, detail


def _device_key_check(rows: DataFrame) -> DataFrame:
    return rows.withColumn(REASON, F.when(F.col("device_id").isNull(), "null_key")).withColumn(
        DETAIL, F.lit(None).cast("string")
    )


def device(df: DataFrame) -> Candidates:
    """The silver.devices row of `/devices/{id}`, in its 2015, 2020 or 2023+ shape."""
    parsed = _parsed_devices(df)
    shape = shape_failure(parsed, _device_ok())

    def location(field: str) -> Column:
        return F.coalesce(F.col(f"_d.location.{field}"), F.col(f"_d.data.location.{field}"))

    hw_version = F.col("_d.hardware_info.hw_ver")
    hardware = F.coalesce(
        F.col("_d.hardware.name"),
        F.col("_d.kit.name"),
        F.when(hw_version.isNotNull(), F.concat(F.lit("SCK "), hw_version)),
    )
    last_reading = iso_time(F.col("_d.last_reading_at"))
    rows = parsed.where(_device_ok()).select(
        to_long(F.coalesce(F.col("_d.id"), param("id"))).alias("device_id"),
        F.col("_d.name").alias("name"),
        F.col("_d.state").alias("state"),
        to_double(location("latitude")).alias("latitude"),
        to_double(location("longitude")).alias("longitude"),
        location("city").alias("city"),
        location("country_code").alias("country_code"),
        location("exposure").alias("exposure"),
        hardware.alias("hardware"),
        F.col("_d.system_tags").alias("system_tags"),
        last_reading.alias("last_reading_at"),
        F.coalesce(last_reading, F.col("fetched_at")).alias("observed_at"),
        *CONTEXT,
        F.substring(F.col("payload"), 1, RECORD_MAX_CHARS).alias(RECORD),
    )
    parts = split(_device_key_check(rows), tables.SILVER_DEVICES.schema.names)
    return Candidates(good=parts.good, bad=shape.unionByName(parts.bad))


def world_map(df: DataFrame) -> Candidates:
    """silver.devices rows of every `/devices/world_map` summary."""
    parsed = df.select("*", F.from_json("payload", schemas.WORLD_MAP_PAYLOAD).alias("_list"))
    ok = starts_with("[") & F.col("_list").isNotNull()
    shape = shape_failure(parsed, ok)
    items = parsed.where(ok).select(*CONTEXT, F.explode("_list").alias("_m"))

    def value(key: str) -> Column:
        return F.try_element_at(F.col("_m"), F.lit(key))

    def nested(key: str, path: str) -> Column:
        return F.get_json_object(value(key), path)

    def located(field: str) -> Column:
        return F.coalesce(value(field), nested("location", f"$.{field}"))

    last_reading = iso_time(value("last_reading_at"))
    rows = items.select(
        to_long(value("id")).alias("device_id"),
        value("name").alias("name"),
        value("state").alias("state"),
        to_double(located("latitude")).alias("latitude"),
        to_double(located("longitude")).alias("longitude"),
        located("city").alias("city"),
        located("country_code").alias("country_code"),
        located("exposure").alias("exposure"),
        nested("hardware", "$.name").alias("hardware"),
        F.from_json(value("system_tags"), "array<string>").alias("system_tags"),
        last_reading.alias("last_reading_at"),
        F.coalesce(last_reading, F.col("fetched_at")).alias("observed_at"),
        *CONTEXT,
        F.to_json("_m").alias(RECORD),
    )
    parts = split(_device_key_check(rows), tables.SILVER_DEVICES.schema.names)
    return Candidates(good=parts.good, bad=shape.unionByName(parts.bad))


PARSERS: dict[tuple[str, str], Feeds] = {
    ("smartcitizen", "device"): (
        (tables.SILVER_SENSOR_READINGS, device_readings),
        (tables.SILVER_DEVICES, device),
    ),
    ("smartcitizen", "readings"): ((tables.SILVER_SENSOR_READINGS, history_readings),),
    ("smartcitizen", "world_map"): ((tables.SILVER_DEVICES, world_map),),
}
"""(source, endpoint) -> the silver tables it feeds and their parsers."""
