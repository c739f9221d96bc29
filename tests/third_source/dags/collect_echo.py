"""
### collect_echo

The third source's collect DAG: the same one line of wiring as every collect DAG.
"""

from __future__ import annotations

from lakehouse_airflow.collect_dag import collect_dag

collect_echo = collect_dag("echo", doc_md=__doc__)
collect_echo()
