"""What every API client shares: the response record, the error, and a retrying HTTP session."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry


class ApiError(RuntimeError):
    """A fetch that must not land in the raw zone: non-2xx, not JSON, or unreachable.

    The message names the source, endpoint and status, never a key or a header.
    """

    def __init__(self, source: str, endpoint: str, status: int | None, reason: str) -> None:
        self.source = source
        self.endpoint = endpoint
        self.status = status
        super().__init__(
            f"{source} {endpoint}: HTTP {status if status is not None else '-'}: {reason}"
        )


@dataclass(frozen=True)
class ApiResponse:
    """One successful API response, as it came; `url` and `params` carry no secret."""

    source: str
    endpoint: str
    url: str
    params: dict[str, str]
    status: int
    body: bytes = field(repr=False)
    fetched_at: datetime

    def json(self) -> Any:
        return json.loads(self.body)


def retrying_session(total: int = 3, backoff_factor: float = 0.5) -> requests.Session:
    """A session that retries idempotent GETs on 5xx and connection errors with jittered backoff."""
    retry = Retry(
        total=total,
        backoff_factor=backoff_factor,
        backoff_jitter=backoff_factor,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods=frozenset({"GET"}),
        raise_on_status=False,
        # A Retry-After of minutes would block a per-minute task; rate limits are handled above.
        respect_retry_after_header=False,
    )
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    return session


def checked_json_body(source: str, endpoint: str, response: requests.Response) -> bytes:
    """The body of a 2xx JSON response; anything else raises ApiError with a one-line reason."""
    if not 200 <= response.status_code < 300:
        snippet = response.text[:200].replace("\n", " ")
        raise ApiError(source, endpoint, response.status_code, snippet or response.reason)
    try:
        json.loads(response.content)
    except ValueError as exc:
        kind = response.headers.get("Content-Type", "unknown content type")
        raise ApiError(
            source, endpoint, response.status_code, f"body is not JSON ({kind})"
        ) from exc
    return response.content
