"""The lakehouse's Airflow plugin: the collect tasks' priority weight strategy and the Lakehouse
page of the UI.

Airflow imports every file of the plugins folder as a top-level module (this one as
`lakehouse_plugin`), while the DAG files import the strategy as `lakehouse_airflow.priority`.
Airflow matches strategies by class path, so the class lives in `lakehouse_airflow.priority` and
is imported from there: both sides then name it `lakehouse_airflow.priority.LiveFirst`.

The page (`lakehouse_airflow.lake_page`) is mounted by the api-server at /lakehouse and shown in
the UI's navigation as "Lakehouse", in an iframe.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from lakehouse_airflow.lake_page import app as lake_page
from lakehouse_airflow.priority import LiveFirst


class LakehousePlugin(AirflowPlugin):
    name = "lakehouse"
    priority_weight_strategies = [LiveFirst]  # noqa: RUF012 (AirflowPlugin declares lists)
    fastapi_apps = [{"app": lake_page, "url_prefix": "/lakehouse", "name": "Lakehouse page"}]  # noqa: RUF012
    external_views = [  # noqa: RUF012
        {
            "name": "Lakehouse",
            "href": "/lakehouse/",
            "destination": "nav",
            "url_route": "lakehouse",
            "category": "browse",
        }
    ]
