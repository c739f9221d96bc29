"""Airflow-only adapters of the lakehouse: hooks that turn Airflow Connections into clients."""
