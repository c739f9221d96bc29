"""The table specs: each table declared once, consistent with itself, its parsers and the README."""

from __future__ import annotations

import pytest
from readme import readme_section

from lakehouse import tables
from lakehouse.spark import gold, silver
from lakehouse.spark.parsers import REGISTRY
from lakehouse.tables import ALL_TABLES, MEDALLION, TableSpec


def test_the_readme_lists_every_table() -> None:
    section = readme_section("Query the tables")
    missing = [s.qualified_name for s in ALL_TABLES if f"`{s.qualified_name}`" not in section]
    assert missing == []


def test_table_names_and_locations_are_unique() -> None:
    assert len({s.qualified_name for s in ALL_TABLES}) == len(ALL_TABLES)
    assert len({s.path for s in ALL_TABLES}) == len(ALL_TABLES)


@pytest.mark.parametrize("spec", ALL_TABLES, ids=lambda s: s.qualified_name)
def test_every_column_a_spec_names_is_in_its_schema(spec: TableSpec) -> None:
    named = {*spec.keys, *spec.order, *spec.partitions}
    assert named <= set(spec.schema.names)
    assert spec.keys or not spec.order, "an append-only table has no order"
    assert spec.description


def test_parsers_feed_silver_tables_of_the_stream_query() -> None:
    fed = {spec for feeds in REGISTRY.values() for spec, _ in feeds}
    assert fed == set(silver.PARSED)
    assert all(spec.layer == "silver" and spec.writer == MEDALLION for spec in fed)
    assert (*silver.PARSED, tables.SILVER_QUARANTINE) == silver.OUTPUTS
    assert set(silver.OUTPUTS) == {s for s in tables.written_by(MEDALLION) if s.layer == "silver"}


def test_gold_feeds_read_parsed_tables_and_write_gold_tables() -> None:
    written = {spec for feed in gold.GOLD_FEEDS for spec, _ in feed.outputs}
    assert written == {s for s in tables.written_by(tables.DRIVER) if s.layer == "gold"}
    for feed in gold.GOLD_FEEDS:
        assert feed.silver in silver.PARSED
        assert feed.ts in feed.silver.keys
        # A gold refresh finds silver's changed rows in the change data feed.
        assert feed.silver.properties.get("delta.enableChangeDataFeed") == "true"


def test_every_table_has_one_known_writer() -> None:
    writers = {tables.MEDALLION, tables.DRIVER}
    assert {s.writer for s in ALL_TABLES} == writers
    assert sum(len(tables.written_by(w)) for w in writers) == len(ALL_TABLES)


def test_time_keys_are_the_keys_of_timestamp_type() -> None:
    assert tables.SILVER_COIN_PRICES.time_keys == ("price_ts",)
    assert tables.GOLD_COIN_OHLC.time_keys == ("bar_start",)
    assert tables.SILVER_DEVICES.time_keys == ()  # keyed by device only: no range to bound
    assert tables.BRONZE_RAW_EVENTS.time_keys == ()  # append-only
