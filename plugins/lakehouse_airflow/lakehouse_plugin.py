"""The lakehouse's Airflow plugin: registers the collect tasks' priority weight strategy.

Airflow imports every file of the plugins folder as a top-level module (this one as
`lakehouse_plugin`), while the DAG files import the strategy as `lakehouse_airflow.priority`.
Airflow matches strategies by class path, so the class lives in `lakehouse_airflow.priority` and
is imported from there: both sides then name it `lakehouse_airflow.priority.LiveFirst`.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from lakehouse_airflow.priority import LiveFirst


class LakehousePlugin(AirflowPlugin):
    name = "lakehouse"
    priority_weight_strategies = [LiveFirst]  # noqa: RUF012 (AirflowPlugin declares a list)
