"""The sources the lakehouse collects from: one line per source.

Everything that loops over sources reads this: the collect DAGs (one file per DAG id, built by
the DAG factory), the generic hook, `lakehouse collect`, and the runtime's Connections and pools.
`LAKEHOUSE_EXTRA_SOURCES` (comma list of `module:attribute`) adds sources that live outside this
package, e.g. a team's own API, without editing this file.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from typing import Any

from lakehouse.sources import coingecko, smartcitizen
from lakehouse.sources.base import Source

BUILT_IN: tuple[Source[Any, Any], ...] = (coingecko.SOURCE, smartcitizen.SOURCE)


def _load(reference: str) -> Source[Any, Any]:
    module_name, _, attribute = reference.strip().partition(":")
    if not module_name or not attribute:
        raise ValueError(
            f"LAKEHOUSE_EXTRA_SOURCES: {reference!r} is not of the form module:attribute"
        )
    try:
        source = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"LAKEHOUSE_EXTRA_SOURCES: cannot load {reference!r}: {exc}") from exc
    if not isinstance(source, Source):
        raise ValueError(f"LAKEHOUSE_EXTRA_SOURCES: {reference!r} is not a Source")
    return source


def sources(env: Mapping[str, str] | None = None) -> dict[str, Source[Any, Any]]:
    """Every source by name: the built-in ones, then those named in LAKEHOUSE_EXTRA_SOURCES."""
    environ = os.environ if env is None else env
    extra = [_load(ref) for ref in environ.get("LAKEHOUSE_EXTRA_SOURCES", "").split(",") if ref]
    listed: dict[str, Source[Any, Any]] = {}
    for source in (*BUILT_IN, *extra):
        if source.name in listed:
            raise ValueError(f"two sources are named {source.name!r}")
        listed[source.name] = source
    return listed


def get_source(name: str, env: Mapping[str, str] | None = None) -> Source[Any, Any]:
    """The source called `name`; an unknown name fails, listing the known ones."""
    known = sources(env)
    if name not in known:
        raise ValueError(f"unknown source {name!r}; known sources: {', '.join(sorted(known))}")
    return known[name]
