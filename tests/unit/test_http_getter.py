"""The shared GET of both API clients: 429 and Retry-After, the call limiter, secrets hidden."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import MaxRetryError, ReadTimeoutError

from lakehouse.sources.http import (
    ApiError,
    JsonGetter,
    RateLimited,
    parse_retry_after,
)

NOW = datetime(2024, 3, 25, 8, 45, 37, tzinfo=UTC)
SECRET = "CG-very-secret-key"


class Scripted(BaseAdapter):
    """Answers requests from a script of (status, body, headers); raises what it is given."""

    def __init__(self, *answers: tuple[int, bytes, dict[str, str]] | Exception) -> None:
        super().__init__()
        self.answers: Iterator[Any] = iter(answers)
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.sent.append(request)
        answer = next(self.answers)
        if isinstance(answer, Exception):
            raise answer
        status, body, headers = answer
        response = requests.Response()
        response.status_code = status
        response._content = body
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json", **headers})
        response.reason = {200: "OK", 429: "Too Many Requests"}.get(status, "Error")
        response.url = request.url or ""
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass


def getter(adapter: Scripted, sleeps: list[float], **kwargs: Any) -> JsonGetter:
    session = requests.Session()
    session.mount("https://", adapter)
    return JsonGetter(
        "coingecko",
        "https://api.example.invalid/api/v3",
        headers={"x-cg-demo-api-key": SECRET},
        secrets=(SECRET,),
        session=session,
        clock=lambda: NOW,
        sleep=sleeps.append,
        **kwargs,
    )


RATE_LIMITED = b'{"status":{"error_code":429,"error_message":"You\'ve exceeded the Rate Limit."}}'


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("119", 119.0),
        (" 3 ", 3.0),
        ("Mon, 25 Mar 2024 08:46:07 GMT", 30.0),
        ("Mon, 25 Mar 2024 08:40:00 GMT", 0.0),  # a date in the past: no wait
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, NOW) == seconds


def test_a_short_retry_after_is_waited_out_once_then_the_answer_lands() -> None:
    adapter = Scripted((429, RATE_LIMITED, {"Retry-After": "3"}), (200, b'{"ok":1}', {}))
    sleeps: list[float] = []

    response = getter(adapter, sleeps).get("simple_price", "/simple/price", {"ids": "bitcoin"})

    assert response.json() == {"ok": 1}
    assert sleeps == [3.0]
    assert len(adapter.sent) == 2


def test_a_long_retry_after_fails_at_once_with_a_clear_message() -> None:
    adapter = Scripted((429, RATE_LIMITED, {"Retry-After": "119"}))
    sleeps: list[float] = []

    with pytest.raises(RateLimited) as raised:
        getter(adapter, sleeps).get("simple_price", "/simple/price", {})

    error = raised.value
    assert (error.status, error.retry_after, error.endpoint) == (429, 119.0, "simple_price")
    assert str(error) == (
        "coingecko simple_price: HTTP 429: "
        + RATE_LIMITED.decode()
        + " (Retry-After 119 s; a task waits at most 10 s, once: Airflow retries later)"
    )
    assert sleeps == []
    assert len(adapter.sent) == 1


def test_a_second_429_after_waiting_fails() -> None:
    adapter = Scripted(
        (429, RATE_LIMITED, {"Retry-After": "1"}), (429, RATE_LIMITED, {"Retry-After": "1"})
    )
    sleeps: list[float] = []

    with pytest.raises(RateLimited):
        getter(adapter, sleeps).get("simple_price", "/simple/price", {})

    assert sleeps == [1.0]


def test_the_wait_cap_is_configurable() -> None:
    adapter = Scripted((429, RATE_LIMITED, {"Retry-After": "30"}), (200, b"[]", {}))
    sleeps: list[float] = []

    getter(adapter, sleeps, max_retry_after=60).get("coins_markets", "/coins/markets", {})

    assert sleeps == [30.0]


def test_a_429_without_retry_after_fails_at_once() -> None:
    sleeps: list[float] = []
    with pytest.raises(RateLimited, match=r"^coingecko x: HTTP 429: \{"):
        getter(Scripted((429, RATE_LIMITED, {})), sleeps).get("x", "/x", {})
    assert sleeps == []


def test_an_api_echoing_the_key_never_shows_it() -> None:
    body = f'{{"error":"invalid key {SECRET}"}}'.encode()
    with pytest.raises(ApiError) as raised:
        getter(Scripted((401, body, {})), []).get("simple_price", "/simple/price", {})

    assert SECRET not in str(raised.value)
    assert str(raised.value) == 'coingecko simple_price: HTTP 401: {"error":"invalid key ***"}'


def test_an_echoed_key_in_a_429_is_scrubbed_too() -> None:
    body = f"slow down {SECRET}".encode()
    with pytest.raises(RateLimited) as raised:
        getter(Scripted((429, body, {"Retry-After": "999"})), []).get("x", "/x", {})
    assert SECRET not in str(raised.value)


def test_timeouts_after_retries_are_named_as_such() -> None:
    pool_error = ReadTimeoutError(None, "/x", "Read timed out.")  # type: ignore[arg-type]
    exhausted = requests.ConnectionError(MaxRetryError(None, "/x", pool_error))  # type: ignore[arg-type]

    with pytest.raises(ApiError, match=r"^coingecko x: HTTP -: ReadTimeout$"):
        getter(Scripted(exhausted), []).get("x", "/x", {})


def test_recorded_params_put_the_path_ids_first_and_send_only_the_query() -> None:
    adapter = Scripted((200, b"{}", {}))

    response = getter(adapter, []).get(
        "market_chart_range",
        "/coins/bitcoin/market_chart/range",
        {"vs_currency": "usd", "from": "1", "to": "61"},
        {"id": "bitcoin"},
    )

    assert list(response.params.items()) == [
        ("id", "bitcoin"),
        ("vs_currency", "usd"),
        ("from", "1"),
        ("to", "61"),
    ]
    assert adapter.sent[0].url == (
        "https://api.example.invalid/api/v3/coins/bitcoin/market_chart/range"
        "?vs_currency=usd&from=1&to=61"
    )


# --- the shared call limiter ---------------------------------------------------------------


class CountingLimiter:
    """Records each slot taken; the shared file-based limiter is tested in test_limiter.py."""

    def __init__(self) -> None:
        self.taken: list[str] = []

    def acquire(self, endpoint: str) -> None:
        self.taken.append(endpoint)

    def for_history(self) -> CountingLimiter:
        return self


def test_the_getter_takes_a_slot_before_every_request_a_retry_after_429_too() -> None:
    adapter = Scripted(
        (429, b"slow down", {"Retry-After": "1"}), (200, b"{}", {}), (200, b"{}", {})
    )
    session = requests.Session()
    session.mount("https://", adapter)
    limiter = CountingLimiter()
    http = JsonGetter(
        "smartcitizen",
        "https://api.example.invalid/v0",
        session=session,
        limiter=limiter,
        clock=lambda: NOW,
        sleep=lambda _seconds: None,
    )

    http.get("device", "/devices/1", {})
    http.get("device", "/devices/2", {})

    assert limiter.taken == ["device"] * 3
    assert len(adapter.sent) == 3
