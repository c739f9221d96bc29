"""The collect tasks' retry policy: `lakehouse.retries` in Airflow's terms.

Airflow runs `evaluate` in the task's own process, with the exception that ended the try
(`airflow.sdk.execution_time.task_runner._evaluate_retry_policy`); the scheduler only sees the
decision. The task's `retries` still bounds the number of tries.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk.definitions.retry_policy import RetryDecision, RetryPolicy

from lakehouse.retries import Backoff, retry_delay

if TYPE_CHECKING:
    from airflow.sdk.definitions.context import Context


class CollectRetryPolicy(RetryPolicy):
    """Honour Retry-After, back off exponentially from outages, fail a hopeless 4xx at once."""

    def __init__(self, backoff: Backoff | None = None) -> None:
        self.backoff = backoff or Backoff()

    def evaluate(
        self,
        exception: BaseException,
        try_number: int,
        max_tries: int,
        context: Context | None = None,
    ) -> RetryDecision:
        delay = retry_delay(exception, try_number, self.backoff)
        if delay is None:
            return RetryDecision.fail(reason=f"retrying cannot help: {exception}")
        return RetryDecision.retry(
            delay=timedelta(seconds=delay),
            reason=f"try {try_number} of {max_tries}: wait {delay:.0f} s",
        )

    def serialize(self) -> dict[str, Any]:
        return {
            "__type": type(self).__name__,
            "base_seconds": self.backoff.base_seconds,
            "cap_seconds": self.backoff.cap_seconds,
        }

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> CollectRetryPolicy:
        return cls(Backoff(data["base_seconds"], data["cap_seconds"]))
