"""What every API client shares: the response record, the errors, and the one way to GET.

Retries happen at two levels, each for what it is good at. Inside one task, `retrying_session`
retries 5xx answers, refused connections and timeouts a few times with exponential backoff and
jitter (a blip should not fail a per-minute task), and `JsonGetter` waits out a 429 when its
`Retry-After` is short. Anything longer or harder is an `ApiError`: the task fails, lands nothing
for that request, and Airflow retries it later, when the API may have recovered.
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError
from urllib3.util.retry import Retry

from lakehouse.raw_zone import ApiResponse
from lakehouse.sources.limiter import CallLimiter, Unlimited

log = logging.getLogger(__name__)

MAX_RETRY_AFTER_S = 10.0
"""The longest `Retry-After` a task waits out; longer ones fail it (a per-minute task must not
sit blocked for minutes while its pool slot is taken)."""


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

    @property
    def stops_run(self) -> bool:
        """Unreachable (after retries) or rate limited: the next calls would fail the same way."""
        return self.status is None or self.status == 429


class RateLimited(ApiError):
    """HTTP 429 that this task will not wait out: stop calling the API, let Airflow retry."""

    def __init__(self, source: str, endpoint: str, retry_after: float | None, reason: str) -> None:
        self.retry_after = retry_after
        super().__init__(source, endpoint, 429, reason)


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


def checked_json_body(
    source: str,
    endpoint: str,
    response: requests.Response,
    scrub: Callable[[str], str] = lambda text: text,
) -> bytes:
    """The body of a 2xx JSON response; anything else raises ApiError with a one-line reason.

    A rate-limit or error page served with 200 (seen from CoinGecko) is not JSON, hence an error.
    """
    if not 200 <= response.status_code < 300:
        snippet = scrub(response.text[:200].replace("\n", " "))
        raise ApiError(source, endpoint, response.status_code, snippet or response.reason)
    try:
        json.loads(response.content)
    except ValueError as exc:
        kind = response.headers.get("Content-Type", "unknown content type")
        raise ApiError(
            source, endpoint, response.status_code, f"body is not JSON ({kind})"
        ) from exc
    return response.content


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date), if usable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _describe(exc: requests.RequestException) -> str:
    """The exception's kind, looking through urllib3's MaxRetryError to what really happened."""
    cause = exc.args[0] if exc.args else None
    if isinstance(cause, MaxRetryError) and cause.reason is not None:
        name = type(cause.reason).__name__
        return "ReadTimeout" if name == "ReadTimeoutError" else f"{type(exc).__name__} ({name})"
    return type(exc).__name__


class JsonGetter:
    """GETs JSON from one API: the only place the clients' requests are made.

    `secrets` (an API key) are sent only as headers and scrubbed from every error message, in case
    an API echoes them back. `params` recorded in the response are what the raw zone keeps. Each
    request first takes a slot of the source's shared `limiter` (`lakehouse.sources.limiter`), so
    live and backfill runs together stay within the API's per-minute limit.
    """

    def __init__(
        self,
        source: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        secrets: Iterable[str] = (),
        timeout: float = 10.0,
        session: requests.Session | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_retry_after: float = MAX_RETRY_AFTER_S,
        limiter: CallLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.source = source
        self.base_url = base_url.rstrip("/")
        self._headers = {"accept": "application/json", **(headers or {})}
        self._secrets = tuple(secret for secret in secrets if secret)
        self._timeout = timeout
        self._session = session or retrying_session()
        self._clock = clock
        self._max_retry_after = max_retry_after
        self._limiter: CallLimiter = limiter or Unlimited()
        self._sleep = sleep

    def get(
        self,
        endpoint: str,
        path: str,
        query: Mapping[str, str],
        path_params: Mapping[str, str] | None = None,
    ) -> ApiResponse:
        """GET `path` with `query`; `path_params` (ids in the path) are recorded with the query."""
        url = f"{self.base_url}{path}"
        waited = False
        while True:
            self._limiter.acquire(endpoint)  # every request counts, a retry after a 429 too
            try:
                response = self._session.get(
                    url, params=dict(query), headers=self._headers, timeout=self._timeout
                )
            except requests.RequestException as exc:
                # The exception text can hold the URL but never the headers, so no key leaks.
                raise ApiError(self.source, endpoint, None, _describe(exc)) from exc
            if response.status_code == 429:
                delay = parse_retry_after(response.headers.get("Retry-After"), self._clock())
                if delay is not None and delay <= self._max_retry_after and not waited:
                    log.info(
                        "%s %s: HTTP 429, waiting %.0f s as Retry-After asks",
                        self.source,
                        endpoint,
                        delay,
                    )
                    self._sleep(delay)
                    waited = True
                    continue
                raise self._rate_limited(endpoint, response, delay)
            body = checked_json_body(self.source, endpoint, response, self._scrub)
            return ApiResponse(
                source=self.source,
                endpoint=endpoint,
                url=url,
                params={**(path_params or {}), **query},
                status=response.status_code,
                body=body,
                fetched_at=self._clock(),
            )

    def _rate_limited(
        self, endpoint: str, response: requests.Response, delay: float | None
    ) -> RateLimited:
        snippet = self._scrub(response.text[:200].replace("\n", " ")) or response.reason
        if delay is None:
            reason = snippet
        else:
            reason = (
                f"{snippet} (Retry-After {delay:.0f} s; a task waits at most "
                f"{self._max_retry_after:.0f} s, once: Airflow retries later)"
            )
        return RateLimited(self.source, endpoint, delay, reason)

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text
