"""CoinGeckoHttpClient against the simulator served in a thread, and against canned HTTP answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from lakehouse.simulator import market
from lakehouse.sources.coingecko.client import KEY_HEADERS, CoinGeckoHttpClient
from lakehouse.sources.http import ApiError

SECRET = "CG-s3cr3t-KEY-do-not-leak"
SIM_MINUTE = 1711356300 // 60  # the minute of the simulator fixture's clock, 08:45:37 UTC
FETCHED_AT = datetime(2024, 3, 25, 8, 45, 38, 250_000, tzinfo=UTC)
ALL_FLAGS = {
    "include_market_cap": "true",
    "include_24hr_vol": "true",
    "include_24hr_change": "true",
    "include_last_updated_at": "true",
}


def expected_quote(coin: str, currencies: list[str], minute: int) -> dict[str, Any]:
    quote: dict[str, Any] = {}
    for cur in currencies:
        quote[cur] = market.price(coin, cur, minute)
        quote[f"{cur}_market_cap"] = market.market_cap(coin, cur, minute)
        quote[f"{cur}_24h_vol"] = market.volume_24h(coin, cur, minute)
        quote[f"{cur}_24h_change"] = market.change_24h_pct(coin, cur, minute)
    quote["last_updated_at"] = minute * 60
    return quote


# --- against the simulator -------------------------------------------------------------------


def test_simple_price_body_is_the_simulators_exact_values(
    simulator: Any, sim_now: datetime
) -> None:
    assert int(sim_now.timestamp()) // 60 == SIM_MINUTE
    client = CoinGeckoHttpClient(simulator.coingecko_url, clock=lambda: FETCHED_AT)

    response = client.simple_price(["bitcoin", "ethereum"], ["usd", "eur"])

    assert response.json() == {
        "bitcoin": expected_quote("bitcoin", ["usd", "eur"], SIM_MINUTE),
        "ethereum": expected_quote("ethereum", ["usd", "eur"], SIM_MINUTE),
    }
    assert response.json()["bitcoin"]["last_updated_at"] == 1711356300
    assert response.status == 200
    assert response.source == "coingecko"
    assert response.endpoint == "simple_price"
    assert response.fetched_at == FETCHED_AT


def test_simple_price_sends_comma_joined_ids_and_every_include_flag(simulator: Any) -> None:
    client = CoinGeckoHttpClient(simulator.coingecko_url, session=requests.Session())
    simulator.seen.clear()

    response = client.simple_price(["bitcoin", "solana", "usd-coin"], ["usd", "jpy"])

    expected_params = {"ids": "bitcoin,solana,usd-coin", "vs_currencies": "usd,jpy", **ALL_FLAGS}
    assert response.params == expected_params
    assert response.url == f"{simulator.coingecko_url}/simple/price"
    assert len(simulator.seen) == 1
    assert simulator.seen[0]["path"] == "/api/v3/simple/price"
    sent = {k: v for k, v in parse_qs(simulator.seen[0]["query"], strict_parsing=True).items()}
    assert sent == {k: [v] for k, v in expected_params.items()}
    # usd-coin is not a simulated coin: left out, like an unknown id in the real API.
    assert sorted(response.json()) == ["bitcoin", "solana"]


@pytest.mark.parametrize("plan", ["demo", "pro"])
def test_api_key_goes_in_the_plan_header_and_nowhere_else(simulator: Any, plan: str) -> None:
    client = CoinGeckoHttpClient(
        simulator.coingecko_url, api_key=SECRET, plan=plan, session=requests.Session()
    )
    simulator.seen.clear()

    response = client.simple_price(["bitcoin"], ["usd"])

    headers = simulator.seen[0]["headers"]
    assert headers[KEY_HEADERS[plan]] == SECRET
    other = KEY_HEADERS["pro" if plan == "demo" else "demo"]
    assert other not in headers
    assert SECRET not in simulator.seen[0]["query"]
    assert SECRET not in response.url
    assert SECRET not in json.dumps(response.params)
    assert SECRET not in repr(response)


def test_key_header_names_per_plan() -> None:
    assert KEY_HEADERS == {"demo": "x-cg-demo-api-key", "pro": "x-cg-pro-api-key"}


def test_no_key_sends_no_key_header(simulator: Any) -> None:
    client = CoinGeckoHttpClient(simulator.coingecko_url, session=requests.Session())
    simulator.seen.clear()

    client.simple_price(["bitcoin"], ["usd"])

    headers = simulator.seen[0]["headers"]
    assert "x-cg-demo-api-key" not in headers
    assert "x-cg-pro-api-key" not in headers
    assert headers["accept"] == "application/json"


def test_unknown_plan_is_refused() -> None:
    with pytest.raises(ValueError, match=r"plan must be one of \['demo', 'pro'\], got 'free'"):
        CoinGeckoHttpClient("http://127.0.0.1:9/api/v3", plan="free")


def test_base_url_trailing_slash_is_ignored(simulator: Any) -> None:
    client = CoinGeckoHttpClient(f"{simulator.coingecko_url}/", session=requests.Session())

    response = client.simple_price(["dogecoin"], ["chf"])

    assert response.url == f"{simulator.coingecko_url}/simple/price"
    assert response.json() == {"dogecoin": expected_quote("dogecoin", ["chf"], SIM_MINUTE)}


# --- id validation -------------------------------------------------------------------------


class RecordingAdapter(BaseAdapter):
    """A transport that answers every request with one canned response (or raises)."""

    def __init__(
        self,
        status: int = 200,
        body: bytes = b"{}",
        content_type: str = "application/json",
        reason: str = "OK",
        raises: Exception | None = None,
    ) -> None:
        super().__init__()
        self.status = status
        self.body = body
        self.content_type = content_type
        self.reason = reason
        self.raises = raises
        self.requests: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.requests.append(request)
        if self.raises is not None:
            raise self.raises
        response = requests.Response()
        response.status_code = self.status
        response._content = self.body
        response.headers = CaseInsensitiveDict({"Content-Type": self.content_type})
        response.reason = self.reason
        response.url = request.url or ""
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass


def canned_client(adapter: RecordingAdapter, plan: str = "demo") -> CoinGeckoHttpClient:
    session = requests.Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return CoinGeckoHttpClient(
        "https://api.example.invalid/api/v3", api_key=SECRET, plan=plan, session=session
    )


@pytest.mark.parametrize(
    ("ids", "currencies", "message"),
    [
        (["Bitcoin"], ["usd"], r"ids: \['Bitcoin'\] are not valid ids"),
        (["bitcoin", " ethereum"], ["usd"], r"ids: \[' ethereum'\] are not valid ids"),
        (["bit coin"], ["usd"], r"ids: \['bit coin'\] are not valid ids"),
        ([""], ["usd"], r"ids: \[''\] are not valid ids"),
        (["-bitcoin"], ["usd"], r"ids: \['-bitcoin'\] are not valid ids"),
        (["bitcoin,ethereum"], ["usd"], r"ids: \['bitcoin,ethereum'\] are not valid ids"),
        ([], ["usd"], r"^ids: at least one id is needed$"),
        (["bitcoin"], ["USD"], r"vs_currencies: \['USD'\] are not valid ids"),
        (["bitcoin"], ["usd", " eur"], r"vs_currencies: \[' eur'\] are not valid ids"),
        (["bitcoin"], [], r"^vs_currencies: at least one id is needed$"),
    ],
)
def test_invalid_ids_raise_before_any_request(
    ids: list[str], currencies: list[str], message: str
) -> None:
    adapter = RecordingAdapter()
    client = canned_client(adapter)

    with pytest.raises(ValueError, match=message) as raised:
        client.simple_price(ids, currencies)

    assert adapter.requests == []
    if ids and currencies:
        assert "lower-case letters, digits and '-', no spaces" in str(raised.value)


def test_id_with_trailing_newline_is_invalid() -> None:
    client = canned_client(RecordingAdapter())
    with pytest.raises(ValueError):
        client.simple_price(["bitcoin\n"], ["usd"])


def test_a_bare_string_is_not_taken_as_a_list_of_letters() -> None:
    client = canned_client(RecordingAdapter())
    with pytest.raises((TypeError, ValueError)):
        client.simple_price("bitcoin", ["usd"])  # type: ignore[arg-type]


# --- failed fetches ------------------------------------------------------------------------


def assert_no_secret(error: ApiError) -> None:
    assert SECRET not in str(error)
    assert SECRET not in repr(error)
    assert all(SECRET not in str(arg) for arg in error.args)


def test_sent_request_carries_the_key_only_in_its_header() -> None:
    adapter = RecordingAdapter(body=b'{"bitcoin":{"usd":1}}')
    canned_client(adapter, plan="pro").simple_price(["bitcoin"], ["usd"])

    (sent,) = adapter.requests
    assert sent.headers["x-cg-pro-api-key"] == SECRET
    assert "x-cg-demo-api-key" not in sent.headers
    assert SECRET not in (sent.url or "")
    assert sent.url == (
        "https://api.example.invalid/api/v3/simple/price?ids=bitcoin&vs_currencies=usd"
        "&include_market_cap=true&include_24hr_vol=true&include_24hr_change=true"
        "&include_last_updated_at=true"
    )


def test_rate_limited_answer_raises_api_error_with_endpoint_and_status(load_sample: Any) -> None:
    body = json.dumps(load_sample("coingecko", "error_429_rate_limit_2022-09-29.json")).encode()
    client = canned_client(RecordingAdapter(status=429, body=body, reason="Too Many Requests"))

    with pytest.raises(ApiError) as raised:
        client.simple_price(["bitcoin"], ["usd"])

    error = raised.value
    assert (error.source, error.endpoint, error.status) == ("coingecko", "simple_price", 429)
    assert str(error).startswith("coingecko simple_price: HTTP 429: ")
    assert "You've exceeded the Rate Limit" in str(error)
    assert_no_secret(error)


def test_error_with_empty_body_uses_the_reason_phrase() -> None:
    client = canned_client(RecordingAdapter(status=503, body=b"", reason="Service Unavailable"))

    with pytest.raises(ApiError) as raised:
        client.simple_price(["bitcoin"], ["usd"])

    assert raised.value.status == 503
    assert str(raised.value) == "coingecko simple_price: HTTP 503: Service Unavailable"
    assert_no_secret(raised.value)


def test_unauthorized_answer_echoing_nothing_secret() -> None:
    body = b'{"status":{"error_code":10002,"error_message":"API Key Missing"}}'
    client = canned_client(RecordingAdapter(status=401, body=body, reason="Unauthorized"))

    with pytest.raises(ApiError) as raised:
        client.simple_price(["bitcoin"], ["usd"])

    assert raised.value.status == 401
    assert str(raised.value) == f"coingecko simple_price: HTTP 401: {body.decode()}"
    assert_no_secret(raised.value)


def test_html_page_with_status_200_raises_api_error() -> None:
    html = b"<!DOCTYPE html>\n<html><body><h1>Rate limited</h1></body></html>"
    client = canned_client(RecordingAdapter(status=200, body=html, content_type="text/html"))

    with pytest.raises(ApiError) as raised:
        client.simple_price(["bitcoin"], ["usd"])

    error = raised.value
    assert (error.endpoint, error.status) == ("simple_price", 200)
    assert str(error) == "coingecko simple_price: HTTP 200: body is not JSON (text/html)"
    assert_no_secret(error)


def test_unreachable_host_raises_api_error_without_status() -> None:
    failure = requests.ConnectionError("Max retries exceeded with url: /api/v3/simple/price")
    client = canned_client(RecordingAdapter(raises=failure))

    with pytest.raises(ApiError) as raised:
        client.simple_price(["bitcoin"], ["usd"])

    assert raised.value.status is None
    assert str(raised.value) == "coingecko simple_price: HTTP -: ConnectionError"
    assert raised.value.__cause__ is failure
    assert_no_secret(raised.value)


def test_timeout_raises_api_error() -> None:
    client = canned_client(RecordingAdapter(raises=requests.ReadTimeout("read timed out")))

    with pytest.raises(ApiError, match=r"^coingecko simple_price: HTTP -: ReadTimeout$"):
        client.simple_price(["bitcoin"], ["usd"])
