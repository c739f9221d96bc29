"""The collect tasks' retry policy: a 429 waits its Retry-After, an outage backs off
exponentially, a request that cannot succeed is not retried."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from airflow.sdk.definitions.retry_policy import RetryAction

from lakehouse.collect import CollectionFailed, HistoryUnavailable
from lakehouse.retries import Backoff
from lakehouse.sources.base import InvalidSelection
from lakehouse.sources.http import ApiError, RateLimited, parse_retry_after
from lakehouse_airflow.retry import CollectRetryPolicy

POLICY = CollectRetryPolicy(Backoff(base_seconds=15, cap_seconds=300))
NOW = datetime(2024, 3, 25, 8, 45, 37, tzinfo=UTC)


def decide(exc: BaseException, try_number: int = 1) -> tuple[RetryAction, float | None]:
    decision = POLICY.evaluate(exc, try_number=try_number, max_tries=6)
    delay = decision.retry_delay.total_seconds() if decision.retry_delay is not None else None
    return decision.action, delay


@pytest.mark.parametrize(
    ("header", "wait"),
    [("90", 90.0), ("Mon, 25 Mar 2024 08:47:07 GMT", 90.0), ("0", 1.0)],
)
def test_a_429_waits_what_its_retry_after_asks(header: str, wait: float) -> None:
    retry_after = parse_retry_after(header, NOW)  # the header, read on a fixed clock
    limited = RateLimited("coingecko", "simple_price", retry_after, "429 Too Many Requests")
    assert decide(limited, try_number=3) == (RetryAction.RETRY, wait)


def test_an_outage_backs_off_exponentially_up_to_the_cap() -> None:
    down = ApiError("coingecko", "simple_price", None, "connection refused")
    server = ApiError("coingecko", "simple_price", 503, "Service Unavailable")
    delays = [decide(down, n)[1] for n in range(1, 7)]
    assert delays == [15, 30, 60, 120, 240, 300]
    assert decide(server, 2) == (RetryAction.RETRY, 30)
    assert decide(ConnectionResetError("lake"), 1) == (RetryAction.RETRY, 15)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_a_request_that_cannot_succeed_fails_at_once(status: int) -> None:
    assert decide(ApiError("smartcitizen", "readings", status, "no"))[0] == RetryAction.FAIL


@pytest.mark.parametrize("status", [408, 425])
def test_a_4xx_that_may_pass_later_is_retried(status: int) -> None:
    assert decide(ApiError("smartcitizen", "readings", status, "later"))[0] == RetryAction.RETRY


def test_bad_params_and_history_out_of_the_plan_fail_at_once() -> None:
    assert decide(InvalidSelection("coin bitcoinn is not listed"))[0] == RetryAction.FAIL
    assert decide(HistoryUnavailable("demo serves 365 days"))[0] == RetryAction.FAIL


def test_a_run_with_several_failures_waits_for_the_longest_that_can_pass() -> None:
    failures = [
        ApiError("smartcitizen", "readings", 404, "device gone"),
        RateLimited("smartcitizen", "devices", 45.0, "429"),
        ApiError("smartcitizen", "readings", 502, "Bad Gateway"),
    ]
    assert decide(CollectionFailed(failures, attempted=5), 1) == (RetryAction.RETRY, 45)
    hopeless = [ApiError("smartcitizen", "readings", 404, "gone")] * 2
    assert decide(CollectionFailed(hopeless, attempted=2))[0] == RetryAction.FAIL


def test_the_policy_survives_serialization() -> None:
    again = CollectRetryPolicy.deserialize(POLICY.serialize())
    assert again.backoff == POLICY.backoff
    assert timedelta(seconds=again.backoff.delay(3)) == timedelta(seconds=60)
