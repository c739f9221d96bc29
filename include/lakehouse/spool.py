"""Fetched means kept: raw objects that could not be written to the lake wait in a local spool.

A minute of a live API cannot be fetched again later: the API moves on. So when the raw zone's
PUT fails (MinIO stopped, a 5xx, a refused connection), the object's exact bytes are kept under
its raw key in a directory on local disk (`LAKEHOUSE_SPOOL_DIR`, default `<home>/spool`), written
whole (temporary file, fsync, rename) so that a crash never leaves half an object. Every later
collection run, of any task, then lands what the spool holds, with the same conditional PUT as
any raw object: the key and bytes are unchanged, so a spooled object lands once, exactly as it
would have landed, and a second process draining the same file at the same time is harmless.

The spool is bounded (`LAKEHOUSE_SPOOL_MAX_MB`): when it is full the run fails, naming the spool
and its size, instead of dropping what it fetched silently. `lakehouse status` shows what it holds.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from lakehouse.s3_objects import error_code

log = logging.getLogger(__name__)

SPOOLED_SUFFIX = ".json"


class SpoolFull(RuntimeError):
    """The spool has no room for another object: the lake has been unreachable for too long."""


@dataclass(frozen=True)
class SpoolContents:
    objects: int
    bytes: int


@dataclass(frozen=True)
class Drained:
    """What one drain landed, and what it left because the lake was still unavailable."""

    landed: list[str] = field(default_factory=list)
    left: int = 0


def lake_unavailable(exc: BaseException) -> bool:
    """Could the same PUT succeed later? Unreachable, timed out, throttled or a server error.

    Anything else (access denied, no such bucket) is a misconfiguration that waiting cannot fix.
    """
    if isinstance(exc, ClientError):
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        return status >= 500 or status == 429 or error_code(exc) in ("SlowDown", "RequestTimeout")
    return isinstance(exc, BotoCoreError | ConnectionError | TimeoutError)


@dataclass(frozen=True)
class Spool:
    """A directory of raw objects by key, at most `max_mb` MiB in all."""

    root: Path
    max_mb: int

    def __post_init__(self) -> None:
        if self.max_mb <= 0:
            raise ValueError(f"LAKEHOUSE_SPOOL_MAX_MB must be a positive size, got {self.max_mb}")

    def keep(self, key: str, body: bytes) -> Path:
        """Keep `body` under `key` durably; SpoolFull when that would pass the limit."""
        path = self._path(key)
        held = self.contents()
        if held.bytes + len(body) > self.max_mb * 2**20:
            raise SpoolFull(
                f"the spool {self.root} is full ({held.objects} objects, {held.bytes:,} bytes of "
                f"LAKEHOUSE_SPOOL_MAX_MB={self.max_mb}): cannot keep {key}; bring the "
                "lake back (the next run lands the spool) or raise the limit"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".", delete=False) as tmp:
            tmp.write(body)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp.name, path)
        return path

    def pending(self) -> list[str]:
        """The keys the spool holds, oldest interval first (keys start with the interval)."""
        if not self.root.is_dir():
            return []
        found = (
            p.relative_to(self.root).as_posix()
            for p in self.root.rglob(f"*{SPOOLED_SUFFIX}")
            if not p.name.startswith(".")
        )
        return sorted(found, key=lambda key: key.rsplit("/", 1)[-1])

    def contents(self) -> SpoolContents:
        sizes = [self._path(key).stat().st_size for key in self.pending()]
        return SpoolContents(objects=len(sizes), bytes=sum(sizes))

    def drain(self, put: Callable[[str, bytes], object]) -> Drained:
        """Land every spooled object with `put(key, body)`, removing each once it landed.

        Stops at the first PUT that fails because the lake is still unavailable (the rest stay);
        any other failure is raised, and what it could not land stays too.
        """
        landed: list[str] = []
        keys = self.pending()
        for i, key in enumerate(keys):
            path = self._path(key)
            try:
                body = path.read_bytes()
            except FileNotFoundError:
                continue  # another task landed it meanwhile
            try:
                put(key, body)
            except Exception as exc:
                if not lake_unavailable(exc):
                    raise
                log.warning("the lake is still unavailable, %d spooled objects wait", len(keys) - i)
                return Drained(landed, left=len(keys) - i)
            path.unlink(missing_ok=True)
            landed.append(key)
        return Drained(landed)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()) or not key.endswith(SPOOLED_SUFFIX):
            raise ValueError(f"not a raw object key: {key!r}")
        return path
