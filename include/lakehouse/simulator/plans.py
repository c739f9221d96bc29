"""CoinGecko's plans as the simulator serves them: which plan a request gets, and its history rules.

What each plan may read, from the pricing page, https://www.coingecko.com/en/api/pricing (read in
its stored localised copy, https://www.coingecko.com/vi/api/pricing, "compare plans" table):

| plan       | calls/month | calls/min | daily history | hourly history | 5-minutely history |
|------------|-------------|-----------|---------------|----------------|--------------------|
| Demo       | 10k         | 30        | 1 year        | 1 year         | 1 day              |
| Basic      | 100k        | 250       | 2 years       | 2 years        | 1 day              |
| Analyst    | 500k        | 500       | from 2013     | from 2018      | 1 day              |
| Lite       | custom      | 500       | from 2013     | from 2018      | 1 day              |
| Enterprise | custom      | custom    | from 2013     | from 2018      | from 2018          |

The simulator knows three plans: `demo`; `pro`, a paid plan with the Analyst/Lite windows; and
`enterprise`, which alone may bypass the automatic granularity with `interval=5m|hourly`
(https://docs.coingecko.com/changelog/improved-5minutely-data-for-historical-chart-data-endpoints:
"The 5-minutely and hourly interval params are exclusively available to Enterprise plan
subscribers").

Which plan a request gets. The real API keys off the key: a Demo key is only ever the Demo plan
(on api.coingecko.com), a Pro key is the paid plan of its account (on pro-api.coingecko.com). One
simulator serves both hosts at one URL, so it cannot tell a key sent to the wrong host (the real
errors 10010/10011) and does not try: a request with `x-cg-demo-api-key` (or the
`x_cg_demo_api_key` parameter) is served as Demo whatever the setting; one with
`x-cg-pro-api-key` (`x_cg_pro_api_key`) as the configured plan, or `pro` when that is `demo`; a
keyless request as the configured plan.

Errors, as recorded from the real API:
- A range that starts before the Demo window: HTTP 401 (ghostfolio/ghostfolio#3231 logged
  "Response code 401 (Unauthorized)" for it) with the body recorded in Electron-Cash/Electron-Cash
  #2825 and SixPM-Software/waxtax#8: `{"error":{"status":{"timestamp":...,"error_code":10012,
  "error_message":"Your request exceeds the allowed time range. Public API users are limited to
  querying historical data within the past 365 days. ..."}}}`. The paid plans' wording of the same
  error was not found; the simulator uses the same code and shape with the plan's window named.
- `interval=5m|hourly` without Enterprise: error 10005 ("Plan Restricted", the errors page,
  https://docs.coingecko.com/docs/errors-and-rate-limits), message recorded in
  telosnetwork/open-block-explorer#745: "interval=hourly is exclusive to Enterprise plan
  customers only. Please contact api@coingecko.com.". Its HTTP status was not recorded; the
  simulator answers 401, as for 10012 (a plan restriction like it), in the `{"status":{...}}`
  shape the 429 sample has.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import Request

DAY = 24 * 3600
DEMO_KEY = ("x-cg-demo-api-key", "x_cg_demo_api_key")
PRO_KEY = ("x-cg-pro-api-key", "x_cg_pro_api_key")
ENTERPRISE_INTERVALS = ("5m", "hourly")
INTERVALS = ("daily", *ENTERPRISE_INTERVALS)


@dataclass(frozen=True)
class Plan:
    name: str
    history_days: int | None
    """How far back a range may start, in days before now (None: `history_since` instead)."""
    history_since: datetime | None
    """The first moment a range may start, for plans whose window is fixed ("from 2013")."""
    intervals: tuple[str, ...]
    """The `interval` values served; anything else is answered by error 10005."""

    def earliest(self, now: float) -> float:
        """The earliest unix second a range may start at, with the clock at `now`."""
        if self.history_since is not None:
            return self.history_since.timestamp()
        assert self.history_days is not None
        return now - self.history_days * DAY

    def window_text(self) -> str:
        if self.history_since is not None:
            return f"from {self.history_since.date().isoformat()}"
        return f"within the past {self.history_days} days"


SINCE_2013 = datetime(2013, 1, 1, tzinfo=UTC)
"""Paid plans' daily history is "from 2013" (pricing page); the simulator takes its first day."""

PLANS = {
    "demo": Plan("demo", 365, None, ("daily",)),
    "pro": Plan("pro", None, SINCE_2013, ("daily",)),
    "enterprise": Plan("enterprise", None, SINCE_2013, INTERVALS),
}


def plan_of(request: Request, configured: str) -> Plan:
    """The plan a request is served as: by its key header, else the configured plan."""
    sent = {name for name in (*DEMO_KEY, *PRO_KEY) if _sent(request, name)}
    if sent & set(DEMO_KEY):
        return PLANS["demo"]
    if sent & set(PRO_KEY) and configured == "demo":
        return PLANS["pro"]
    return PLANS[configured]


def _sent(request: Request, name: str) -> bool:
    return bool(request.headers.get(name) or request.query_params.get(name))


def out_of_window(plan: Plan, now: float) -> dict[str, Any]:
    """The real API's body (error 10012) for a range starting before the plan's window."""
    if plan.name == "demo":
        message = (
            "Your request exceeds the allowed time range. Public API users are limited to "
            "querying historical data within the past 365 days. Upgrade to a paid plan to enjoy "
            "full historical data access: https://www.coingecko.com/en/api/pricing. "
        )
    else:
        message = (
            "Your request exceeds the allowed time range. Your plan is limited to querying "
            f"historical data {plan.window_text()}."
        )
    stamp = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")  # as recorded
    status = {"timestamp": stamp, "error_code": 10012, "error_message": message}
    return {"error": {"status": status}}


def interval_restricted(interval: str) -> dict[str, Any]:
    """The real API's body (error 10005) for an `interval` the plan may not ask for."""
    return {
        "status": {
            "error_code": 10005,
            "error_message": f"interval={interval} is exclusive to Enterprise plan customers "
            "only. Please contact api@coingecko.com.",
        }
    }
