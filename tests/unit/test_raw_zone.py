"""The raw zone contract: object keys, the one-line envelope, the conditional writer, collect."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lakehouse.raw_zone import (
    ApiResponse,
    DataInterval,
    Envelope,
    PutResult,
    RawZoneWriter,
    object_key,
)
from lakehouse.sources.coingecko.collect import collect_coingecko_prices
from lakehouse.sources.http import ApiError

START = datetime(2024, 3, 25, 8, 45, tzinfo=UTC)
INTERVAL = DataInterval(START, START + timedelta(minutes=1))
FETCHED_AT = datetime(2024, 3, 25, 8, 46, 0, 123_456, tzinfo=UTC)
URL = "https://api.coingecko.com/api/v3/simple/price"
PARAMS = {
    "ids": "bitcoin",
    "vs_currencies": "usd",
    "include_market_cap": "true",
    "include_24hr_vol": "true",
    "include_24hr_change": "true",
    "include_last_updated_at": "true",
}
BODY = (
    b'{\n  "bitcoin": {\n    "usd": 67187.3358936566,\n    "usd_market_cap": 1317802988326.25,\n'
    b'    "usd_24h_vol": 31260929299.5248,\n    "usd_24h_change": 3.63727894677354,\n'
    b'    "last_updated_at": 1711356300\n  }\n}\n'
)
KEY_PATTERN = re.compile(
    r"^raw/coingecko/simple_price/date=2024-03-25/hour=08/20240325T084500Z_[0-9a-f]{16}\.json$"
)


def api_response(
    body: bytes = BODY,
    params: dict[str, str] | None = None,
    fetched_at: datetime = FETCHED_AT,
    endpoint: str = "simple_price",
) -> ApiResponse:
    return ApiResponse(
        source="coingecko",
        endpoint=endpoint,
        url=URL,
        params=dict(PARAMS if params is None else params),
        status=200,
        body=body,
        fetched_at=fetched_at,
    )


def envelope(
    response: ApiResponse | None = None,
    interval: DataInterval = INTERVAL,
    mode: Any = "live",
    run_id: str = "scheduled__2024-03-25T08:45:00+00:00",
) -> Envelope:
    return Envelope(
        response=response or api_response(), interval=interval, mode=mode, run_id=run_id
    )


# --- object keys ---------------------------------------------------------------------------


def test_object_key_layout() -> None:
    assert KEY_PATTERN.match(object_key(envelope()))


def test_object_key_uses_the_utc_date_and_hour_of_the_interval_start() -> None:
    plus_two = timezone(timedelta(hours=2))
    start = datetime(2024, 3, 26, 1, 30, tzinfo=plus_two)  # 2024-03-25 23:30 UTC
    key = object_key(envelope(interval=DataInterval(start, start + timedelta(minutes=1))))

    assert re.match(
        r"^raw/coingecko/simple_price/date=2024-03-25/hour=23/20240325T233000Z_[0-9a-f]{16}\.json$",
        key,
    )


def test_same_request_and_body_give_the_same_key_whatever_the_fetch_time_or_run() -> None:
    first = envelope(api_response(fetched_at=FETCHED_AT), run_id="manual__1")
    retry = envelope(
        api_response(fetched_at=FETCHED_AT + timedelta(seconds=42)), run_id="manual__2"
    )

    assert object_key(first) == object_key(retry)
    assert first.to_json_line() != retry.to_json_line()


def test_different_body_gives_a_different_key() -> None:
    other_body = BODY.replace(b"67187.3358936566", b"67187.3358936567")

    assert object_key(envelope(api_response(body=other_body))) != object_key(envelope())


def test_different_params_give_a_different_key() -> None:
    params = {**PARAMS, "vs_currencies": "eur"}

    assert object_key(envelope(api_response(params=params))) != object_key(envelope())


def test_params_order_does_not_change_the_key() -> None:
    reordered = dict(reversed(list(PARAMS.items())))

    assert object_key(envelope(api_response(params=reordered))) == object_key(envelope())


def test_different_interval_gives_a_different_key() -> None:
    later = DataInterval(START + timedelta(minutes=1), START + timedelta(minutes=2))

    key = object_key(envelope(interval=later))

    assert key != object_key(envelope())
    assert "/20240325T084600Z_" in key


# --- the envelope ----------------------------------------------------------------------------


def test_envelope_is_one_json_line_with_every_contract_field() -> None:
    line = envelope().to_json_line()

    assert line.endswith("\n")
    assert line.count("\n") == 1
    record = json.loads(line)
    assert record == {
        "source": "coingecko",
        "endpoint": "simple_price",
        "request": {"url": URL, "params": PARAMS},
        "interval_start": "2024-03-25T08:45:00.000Z",
        "interval_end": "2024-03-25T08:46:00.000Z",
        "fetched_at": "2024-03-25T08:46:00.123Z",
        "http_status": 200,
        "mode": "live",
        "run_id": "scheduled__2024-03-25T08:45:00+00:00",
        "payload": {
            "bitcoin": {
                "usd": 67187.3358936566,
                "usd_market_cap": 1317802988326.25,
                "usd_24h_vol": 31260929299.5248,
                "usd_24h_change": 3.63727894677354,
                "last_updated_at": 1711356300,
            }
        },
    }
    assert list(record) == [
        "source",
        "endpoint",
        "request",
        "interval_start",
        "interval_end",
        "fetched_at",
        "http_status",
        "mode",
        "run_id",
        "payload",
    ]


def test_envelope_payload_is_the_parsed_body() -> None:
    env = envelope()

    assert env.payload() == json.loads(BODY)
    assert json.loads(env.to_json_line())["payload"] == json.loads(BODY)


def test_envelope_stays_one_line_when_the_payload_holds_newlines_and_unicode() -> None:
    body = '{"name":"line one\\nline two","unit":"ºC","list":[1,2.5,null,true]}'.encode()
    line = envelope(api_response(body=body)).to_json_line()

    assert line.count("\n") == 1
    assert json.loads(line)["payload"] == {
        "name": "line one\nline two",
        "unit": "ºC",
        "list": [1, 2.5, None, True],
    }


def test_envelope_timestamps_are_utc_with_z() -> None:
    cet = timezone(timedelta(hours=1))
    interval = DataInterval(
        datetime(2024, 3, 25, 9, 45, tzinfo=cet), datetime(2024, 3, 25, 9, 46, tzinfo=cet)
    )
    response = api_response(fetched_at=datetime(2024, 3, 25, 9, 46, 1, tzinfo=cet))

    record = json.loads(envelope(response, interval=interval, mode="history").to_json_line())

    assert record["interval_start"] == "2024-03-25T08:45:00.000Z"
    assert record["interval_end"] == "2024-03-25T08:46:00.000Z"
    assert record["fetched_at"] == "2024-03-25T08:46:01.000Z"
    assert record["mode"] == "history"


# --- the data interval -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (datetime(2024, 3, 25, 8, 45), datetime(2024, 3, 25, 8, 46, tzinfo=UTC)),
        (datetime(2024, 3, 25, 8, 45, tzinfo=UTC), datetime(2024, 3, 25, 8, 46)),
        (datetime(2024, 3, 25, 8, 45), datetime(2024, 3, 25, 8, 46)),
    ],
)
def test_data_interval_rejects_naive_datetimes(start: datetime, end: datetime) -> None:
    with pytest.raises(ValueError, match=r"^data interval bounds must be timezone-aware$"):
        DataInterval(start, end)


def test_data_interval_rejects_end_before_start() -> None:
    with pytest.raises(ValueError, match=r"^data interval ends before it starts: "):
        DataInterval(START, START - timedelta(seconds=1))


def test_data_interval_accepts_an_empty_interval() -> None:
    # Airflow's cron timetables give start == end by default.
    assert DataInterval(START, START).end == START


# --- the writer ------------------------------------------------------------------------------


class FakeS3:
    """An in-memory bucket honouring IfNoneMatch="*" like S3/MinIO (412 PreconditionFailed)."""

    def __init__(self, fail_with: str | None = None) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.calls: list[dict[str, Any]] = []
        self.fail_with = fail_with

    def put_object(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if self.fail_with is not None:
            raise client_error(self.fail_with)
        where = (kwargs["Bucket"], kwargs["Key"])
        if kwargs.get("IfNoneMatch") == "*" and where in self.objects:
            raise client_error("PreconditionFailed")
        self.objects[where] = kwargs["Body"]
        return {"ETag": '"etag"'}


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} message"}}, "PutObject")


def test_first_write_creates_the_object_with_a_conditional_put() -> None:
    s3 = FakeS3()
    env = envelope()

    result = RawZoneWriter(s3, "lake").write(env)

    assert result == PutResult(key=object_key(env), created=True)
    assert s3.calls == [
        {
            "Bucket": "lake",
            "Key": object_key(env),
            "Body": env.to_json_line().encode(),
            "ContentType": "application/json",
            "IfNoneMatch": "*",
        }
    ]
    assert s3.objects == {("lake", object_key(env)): env.to_json_line().encode()}


def test_retry_with_the_same_bytes_is_a_no_op_that_keeps_the_first_object() -> None:
    s3 = FakeS3()
    writer = RawZoneWriter(s3, "lake")
    first = envelope(api_response(fetched_at=FETCHED_AT), run_id="run-1")
    retry = envelope(api_response(fetched_at=FETCHED_AT + timedelta(seconds=5)), run_id="run-2")

    assert writer.write(first).created is True
    result = writer.write(retry)

    assert result == PutResult(key=object_key(first), created=False)
    assert len(s3.calls) == 2
    assert s3.objects == {("lake", object_key(first)): first.to_json_line().encode()}


@pytest.mark.parametrize("code", ["PreconditionFailed", "412"])
def test_precondition_failed_means_already_there(code: str) -> None:
    env = envelope()

    result = RawZoneWriter(FakeS3(fail_with=code), "lake").write(env)

    assert result == PutResult(key=object_key(env), created=False)


@pytest.mark.parametrize("code", ["AccessDenied", "NoSuchBucket", "SlowDown", "InternalError"])
def test_any_other_client_error_propagates(code: str) -> None:
    with pytest.raises(ClientError) as raised:
        RawZoneWriter(FakeS3(fail_with=code), "lake").write(envelope())

    assert raised.value.response["Error"]["Code"] == code


# --- collect ---------------------------------------------------------------------------------


class FakeCoinGecko:
    def __init__(self, response: ApiResponse | None = None, error: ApiError | None = None) -> None:
        self.response = response
        self.error = error
        self.calls: list[tuple[list[str], list[str]]] = []

    def simple_price(self, ids: Sequence[str], vs_currencies: Sequence[str]) -> ApiResponse:
        self.calls.append((list(ids), list(vs_currencies)))
        if self.error is not None:
            raise self.error
        assert self.response is not None
        return self.response


def test_collect_coingecko_prices_writes_exactly_one_envelope() -> None:
    body = b'{"bitcoin":{"usd":49013},"ethereum":{"usd":3900.5}}'
    params = {**PARAMS, "ids": "bitcoin,ethereum"}
    api = FakeCoinGecko(response=api_response(body=body, params=params))
    s3 = FakeS3()

    results = collect_coingecko_prices(
        api,
        RawZoneWriter(s3, "lake"),
        coins=["bitcoin", "ethereum"],
        currencies=["usd"],
        interval=INTERVAL,
        run_id="manual__2024-03-25T08:45:00+00:00",
        mode="history",
    )

    assert api.calls == [(["bitcoin", "ethereum"], ["usd"])]
    assert len(s3.objects) == 1
    ((bucket, key), stored) = next(iter(s3.objects.items()))
    assert bucket == "lake"
    assert KEY_PATTERN.match(key)
    assert results == [PutResult(key=key, created=True)]
    record = json.loads(stored)
    assert record["payload"] == {"bitcoin": {"usd": 49013}, "ethereum": {"usd": 3900.5}}
    assert isinstance(record["payload"]["bitcoin"]["usd"], int)
    assert record["request"] == {"url": URL, "params": params}
    assert record["mode"] == "history"
    assert record["run_id"] == "manual__2024-03-25T08:45:00+00:00"
    assert record["interval_start"] == "2024-03-25T08:45:00.000Z"


def test_collect_twice_with_the_same_answer_lands_one_object() -> None:
    api = FakeCoinGecko(response=api_response())
    s3 = FakeS3()
    writer = RawZoneWriter(s3, "lake")
    kwargs: dict[str, Any] = {
        "coins": ["bitcoin"],
        "currencies": ["usd"],
        "interval": INTERVAL,
        "run_id": "r",
    }

    first = collect_coingecko_prices(api, writer, **kwargs)
    api.response = replace(api_response(), fetched_at=FETCHED_AT + timedelta(seconds=3))
    second = collect_coingecko_prices(api, writer, **kwargs)

    assert [r.created for r in first + second] == [True, False]
    assert first[0].key == second[0].key
    assert len(s3.objects) == 1


def test_collect_with_a_failing_api_writes_nothing() -> None:
    api = FakeCoinGecko(error=ApiError("coingecko", "simple_price", 429, "rate limited"))
    s3 = FakeS3()

    with pytest.raises(ApiError, match=r"^coingecko simple_price: HTTP 429: rate limited$"):
        collect_coingecko_prices(
            api,
            RawZoneWriter(s3, "lake"),
            coins=["bitcoin"],
            currencies=["usd"],
            interval=INTERVAL,
            run_id="r",
        )

    assert api.calls == [(["bitcoin"], ["usd"])]
    assert s3.calls == []
    assert s3.objects == {}
