"""The JVM-free reader: small Delta tables written with delta-rs into a temporary lake."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from deltalake import write_deltalake

from lakehouse.config import LakeSettings
from lakehouse.query import (
    QueryError,
    available_tables,
    delta_storage_options,
    format_rows,
    format_table,
    open_lake,
    run_query,
)
from lakehouse.tables import BRONZE_RAW_EVENTS, SILVER_COIN_PRICES, TableSpec


def ts(hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 5, 1, hour, minute, tzinfo=UTC)


PRICES = pa.table(
    {
        "coin_id": ["bitcoin", "bitcoin", "ethereum", "ethereum"],
        "vs_currency": ["usd", "eur", "usd", "usd"],
        "price_ts": pa.array([ts(10), ts(10), ts(10), ts(11)], pa.timestamp("us", tz="UTC")),
        "price": [60000.5, 55000.25, 3000.0, 3010.75],
        "source_file": ["raw/a.json", "raw/a.json", "raw/a.json", "raw/b.json"],
    }
)

EVENTS = pa.table(
    {
        "source": ["coingecko", "coingecko"],
        "endpoint": ["simple/price", "simple/price"],
        "fetched_at": pa.array([ts(10, 1), ts(11, 1)], pa.timestamp("us", tz="UTC")),
        "payload": ['{"bitcoin": {}}', '{"ethereum": {}}'],
        "source_file": ["raw/a.json", "raw/b.json"],
        "date": pa.array([date(2024, 5, 1), date(2024, 5, 1)], pa.date32()),
    }
)


def write(lake_root: Path, ref: TableSpec, data: pa.Table) -> None:
    write_deltalake(str(lake_root / ref.path), data)


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    write(tmp_path, SILVER_COIN_PRICES, PRICES)
    write(tmp_path, BRONZE_RAW_EVENTS, EVENTS)
    return tmp_path


@pytest.fixture
def conn(lake: Path) -> duckdb.DuckDBPyConnection:
    return open_lake(str(lake), {})


def test_query_by_name_returns_the_exact_rows(conn: duckdb.DuckDBPyConnection) -> None:
    columns, rows = run_query(
        "SELECT coin_id, vs_currency, price_ts, price FROM silver.coin_prices "
        "ORDER BY coin_id, vs_currency, price_ts",
        conn,
    )
    assert columns == ["coin_id", "vs_currency", "price_ts", "price"]
    assert rows == [
        ("bitcoin", "eur", ts(10), 55000.25),
        ("bitcoin", "usd", ts(10), 60000.5),
        ("ethereum", "usd", ts(10), 3000.0),
        ("ethereum", "usd", ts(11), 3010.75),
    ]


def test_bronze_table_is_visible_by_name(conn: duckdb.DuckDBPyConnection) -> None:
    columns, rows = run_query("SELECT source_file, date FROM bronze.raw_events ORDER BY 1", conn)
    assert columns == ["source_file", "date"]
    assert rows == [("raw/a.json", date(2024, 5, 1)), ("raw/b.json", date(2024, 5, 1))]


def test_point_query_returns_only_the_matching_row(conn: duckdb.DuckDBPyConnection) -> None:
    columns, rows = run_query(
        "SELECT price FROM silver.coin_prices "
        "WHERE coin_id = 'ethereum' AND vs_currency = 'usd' "
        "AND price_ts = TIMESTAMPTZ '2024-05-01 11:00:00+00'",
        conn,
    )
    assert columns == ["price"]
    assert rows == [(3010.75,)]


def test_join_across_layers(conn: duckdb.DuckDBPyConnection) -> None:
    _, rows = run_query(
        "SELECT b.fetched_at, count(*) AS prices, sum(s.price) AS total "
        "FROM silver.coin_prices s JOIN bronze.raw_events b USING (source_file) "
        "GROUP BY b.fetched_at ORDER BY b.fetched_at",
        conn,
    )
    assert rows == [(ts(10, 1), 3, 118000.75), (ts(11, 1), 1, 3010.75)]


def test_reads_the_latest_delta_version(lake: Path) -> None:
    extra = PRICES.slice(0, 1).set_column(3, "price", pa.array([61000.0]))
    write_deltalake(str(lake / SILVER_COIN_PRICES.path), extra, mode="overwrite")
    _, rows = run_query("SELECT coin_id, price FROM silver.coin_prices", open_lake(str(lake)))
    assert rows == [("bitcoin", 61000.0)]


def test_tables_not_yet_written_are_absent(tmp_path: Path) -> None:
    write(tmp_path, SILVER_COIN_PRICES, PRICES)
    conn = open_lake(str(tmp_path), {})
    assert available_tables(conn) == ["silver.coin_prices"]
    with pytest.raises(QueryError) as caught:
        run_query("SELECT * FROM bronze.raw_events", conn)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("Catalog Error: Table with name raw_events does not exist!")
    assert message.endswith("(available tables: silver.coin_prices)")


def test_unknown_table_names_the_available_ones(conn: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(QueryError) as caught:
        run_query("SELECT * FROM silver.coin_markets", conn)
    message = str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert "\n" not in message
    assert "coin_markets does not exist" in message
    assert message.endswith("(available tables: bronze.raw_events, silver.coin_prices)")


def test_empty_lake_says_so(tmp_path: Path) -> None:
    conn = open_lake(str(tmp_path), {})
    assert available_tables(conn) == []
    with pytest.raises(QueryError, match=r"\(available tables: none yet\)$"):
        run_query("SELECT * FROM silver.coin_prices", conn)


def test_invalid_sql_is_a_one_line_query_error(conn: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(QueryError) as caught:
        run_query("SELEC price FROM silver.coin_prices", conn)
    assert str(caught.value) == (
        'Parser Error: syntax error at or near "SELEC" '
        "(available tables: bronze.raw_events, silver.coin_prices)"
    )


def test_unknown_column_keeps_duckdbs_hint(conn: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(QueryError) as caught:
        run_query("SELECT prise FROM silver.coin_prices", conn)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith('Binder Error: Referenced column "prise" not found')
    assert '"price"' in message


def test_format_table_aligns_columns() -> None:
    columns = ["coin_id", "price", "n", "note"]
    rows = [
        ("bitcoin", 60000.5, 12, None),
        ("eth", 3.25, None, "x"),
    ]
    assert format_table(columns, rows).splitlines() == [
        "coin_id    price     n  note",
        "-------  -------  ----  ----",
        "bitcoin  60000.5    12  NULL",
        "eth         3.25  NULL  x",
    ]


def test_format_table_header_only_when_empty() -> None:
    assert format_table(["a", "bb"], []) == "a  bb\n-  --"


def test_format_table_shows_timestamps_readably() -> None:
    assert format_table(["t"], [(ts(10),)]).splitlines() == [
        "t",
        "-------------------------",
        "2024-05-01 10:00:00+00:00",
    ]


def test_csv_output_is_exact() -> None:
    columns = ["coin_id", "price_ts", "price", "note"]
    rows = [("bitcoin", ts(10), 60000.5, None), ('say "hi", ok', ts(11), 1.0, "x")]
    assert format_rows(columns, rows, "csv") == (
        "coin_id,price_ts,price,note\n"
        "bitcoin,2024-05-01T10:00:00+00:00,60000.5,\n"
        '"say ""hi"", ok",2024-05-01T11:00:00+00:00,1.0,x\n'
    )


def test_json_output_is_exact() -> None:
    columns = ["coin_id", "price_ts", "price", "day", "note"]
    rows = [
        ("bitcoin", ts(10), 60000.5, date(2024, 5, 1), None),
        ("x", ts(11), float("nan"), None, "é"),
    ]
    text = format_rows(columns, rows, "json")
    assert text == (
        '[{"coin_id": "bitcoin", "price_ts": "2024-05-01T10:00:00+00:00", "price": 60000.5, '
        '"day": "2024-05-01", "note": null}, '
        '{"coin_id": "x", "price_ts": "2024-05-01T11:00:00+00:00", "price": null, '
        '"day": null, "note": "é"}]'
    )
    assert json.loads(text)[0]["price"] == 60000.5


def test_format_rows_table_and_unknown_format() -> None:
    assert format_rows(["a"], [(1,)], "table") == "a\n-\n1"
    with pytest.raises(ValueError, match="unknown output format 'xml'"):
        format_rows(["a"], [(1,)], "xml")  # type: ignore[arg-type]


def test_query_result_round_trips_through_formats(conn: duckdb.DuckDBPyConnection) -> None:
    columns, rows = run_query(
        "SELECT coin_id, price FROM silver.coin_prices WHERE vs_currency = 'eur'", conn
    )
    assert format_rows(columns, rows, "table") == (
        "coin_id     price\n-------  --------\nbitcoin  55000.25"
    )
    assert format_rows(columns, rows, "csv") == "coin_id,price\nbitcoin,55000.25\n"
    assert format_rows(columns, rows, "json") == '[{"coin_id": "bitcoin", "price": 55000.25}]'


def test_storage_options_for_local_minio() -> None:
    lake = LakeSettings(
        endpoint_url="http://127.0.0.1:9000", access_key="ak", secret_key="sk", region="us-east-1"
    )
    assert delta_storage_options(lake) == {
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
        "AWS_ALLOW_HTTP": "true",
        "AWS_ACCESS_KEY_ID": "ak",
        "AWS_SECRET_ACCESS_KEY": "sk",
    }


def test_storage_options_for_https_endpoint_do_not_allow_http() -> None:
    lake = LakeSettings(endpoint_url="https://s3.eu-west-1.amazonaws.com", region="eu-west-1")
    assert delta_storage_options(lake) == {
        "AWS_REGION": "eu-west-1",
        "AWS_ENDPOINT_URL": "https://s3.eu-west-1.amazonaws.com",
    }


@pytest.mark.parametrize(
    ("sql", "path"),
    [
        ("COPY (SELECT 1) TO '{dir}/copied.csv'", "copied.csv"),
        ("SELECT * FROM read_text('{dir}/secret.env')", None),
        ("ATTACH '{dir}/attached.duckdb'", "attached.duckdb"),
        ("EXPORT DATABASE '{dir}/exported'", "exported"),
    ],
)
def test_query_refuses_local_file_access(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path, sql: str, path: str | None
) -> None:
    (tmp_path / "secret.env").write_text("MINIO_ROOT_PASSWORD=hunter2\n")
    with pytest.raises(QueryError, match="only reads the lake's tables") as caught:
        run_query(sql.format(dir=tmp_path), conn)
    assert "hunter2" not in str(caught.value)
    if path is not None:
        assert not (tmp_path / path).exists()


def test_query_cannot_unlock_file_access(conn: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(QueryError, match="locked"):
        run_query("SET enable_external_access = true", conn)
    with pytest.raises(QueryError, match="locked"):
        run_query("RESET lock_configuration", conn)


def test_tables_still_scan_with_file_access_off(conn: duckdb.DuckDBPyConnection) -> None:
    _, rows = run_query(
        "SELECT current_setting('enable_external_access'), count(*) FROM silver.coin_prices", conn
    )
    assert rows == [(False, 4)]
