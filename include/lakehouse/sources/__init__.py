"""Clients of the source APIs. Never imports pyspark or airflow."""
