"""The Lakehouse page of the Airflow UI: a FastAPI app that the api-server mounts at /lakehouse.

Airflow mounts plugin apps without any protection, so every route here depends on Airflow's own
`get_user`: the `Authorization: Bearer` token of the REST API, or the `_token` cookie that the UI
sets at login (what the page's iframe sends). An anonymous request gets 401 on every route.
Stopping or starting the stream changes what the whole lake receives, so it needs an admin.

What the page shows comes from `lakehouse.overview` (the same sources as the CLI); this module only
turns the `lake_s3` Connection and the Variables into its arguments. Every Airflow process, each
task's included, imports the plugins: so Airflow's API security, delta-rs and DuckDB are imported
at the first request, not here (they would add most of a second of CPU to every task).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser

PAGE = Path(__file__).with_name("lake_page.html")
DEFAULT_SLA_SECONDS = 120.0
MAX_HOURS = 48


async def airflow_user(request: Request) -> BaseUser:
    """The caller, as Airflow's REST API knows it (`security.get_user`): the Bearer token, else
    the `_token` cookie; 401 without either, 403 for a forged one."""
    from airflow.api_fastapi.core_api.security import bearer_scheme, get_user

    return await get_user(request, None, await bearer_scheme(request))


User = Annotated[Any, Depends(airflow_user)]

app = FastAPI(
    title="Lakehouse",
    description="The lake's tables, collection completeness, quarantine and stream",
    dependencies=[Depends(airflow_user)],
)


def is_admin(user: Any) -> bool:
    """The simple auth manager's Admin role; with another auth manager, whoever may change
    Airflow's configuration (the FAB auth manager grants that to Admin only)."""
    role = getattr(user, "role", None)
    if role is not None:
        return str(role).upper() == "ADMIN"
    from airflow.api_fastapi.app import get_auth_manager

    return bool(get_auth_manager().is_authorized_configuration(method="PUT", user=user))


def _variable(name: str, default: str) -> str:
    from airflow.sdk import Variable

    return str(Variable.get(name, default=default))


def _lake() -> tuple[str, dict[str, str]]:
    """The lake's root URI and delta-rs options, from the `lake_s3` Connection."""
    from lakehouse.query import delta_storage_options
    from lakehouse_airflow.hooks import lake_settings

    lake = lake_settings(_bucket())
    return lake.uri("").rstrip("/"), delta_storage_options(lake)


def _bucket() -> str:
    return _variable("lakehouse_bucket", "lake")


def _sla() -> Any:
    from lakehouse.overview import FreshnessSla

    text = _variable("lakehouse_freshness_sla_seconds", str(DEFAULT_SLA_SECONDS))
    try:
        return FreshnessSla(float(text))
    except ValueError as exc:
        raise HTTPException(
            status.HTTP_500_INTERNAL_SERVER_ERROR,
            f"the Variable lakehouse_freshness_sla_seconds is {text!r}: {exc}",
        ) from exc


@app.get("/", response_class=HTMLResponse, include_in_schema=False)
def page() -> str:
    return PAGE.read_text()


@app.get("/api/tables")
def tables() -> list[dict[str, Any]]:
    """Every written table: version, last commit, rows, files, size, age and freshness."""
    from lakehouse.overview import tables as describe

    return describe(*_lake(), datetime.now(UTC), _sla())


@app.get("/api/overview")
def overview(
    user: User, hours: Annotated[float, Query(gt=0, le=MAX_HOURS)] = 3.0
) -> dict[str, Any]:
    """Everything the page shows, read at one moment."""
    from dataclasses import asdict

    from lakehouse import overview as lake
    from lakehouse.config import Settings
    from lakehouse_airflow.hooks import lake_control_store, lake_s3_client

    now = datetime.now(UTC)
    (root, storage), sla, bucket = _lake(), _sla(), _bucket()
    completeness = lake.completeness(
        lake_s3_client(), bucket, Settings.from_env().sources, now, hours=max(1, round(hours))
    )
    return {
        "generated_at": now.isoformat(),
        "hours": hours,
        "sla_seconds": sla.seconds,
        "is_admin": is_admin(user),
        "tables": lake.tables(root, storage, now, sla),
        "completeness": [
            {**asdict(row), "hour": row.hour.isoformat(), "missing": row.missing}
            for row in completeness
        ],
        "stream": lake.stream_state(lake_control_store(bucket)),
        **asdict(lake.charts(root, storage, now - timedelta(hours=hours))),
        "links": {
            "spark_ui": _variable("lakehouse_spark_ui_url", "http://127.0.0.1:4040"),
            "history_server": _variable("lakehouse_spark_history_url", "http://127.0.0.1:18080"),
        },
    }


@app.post("/api/stream/{action}")
def stream(user: User, action: str) -> dict[str, Any]:
    """`stop` or `start` the stream, as `lakehouse stream stop|start` does; admins only."""
    from lakehouse.overview import stream_state
    from lakehouse.spark.control import clear_stop, request_stop
    from lakehouse_airflow.hooks import lake_control_store

    if action not in ("stop", "start"):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no stream action {action!r}")
    if not is_admin(user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only an admin may stop or start the stream")
    store = lake_control_store(_bucket())
    if action == "stop":
        request_stop(store, by=f"airflow user {user.get_name()}")
    else:
        clear_stop(store)
    return stream_state(store)
