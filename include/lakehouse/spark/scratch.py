"""The stream driver's scratch space, which a killed driver does not leave behind.

Spark removes its local directories (`spark.local.dir`: the jars and files each application copies
for its executors, shuffle and block files) from a JVM shutdown hook, which never runs when the
driver is killed (SIGKILL, the OOM killer, a fault point's `os._exit`). The stream job copies its
packages there at every start, about 700 MB with the AWS SDK bundle, so a driver crashing in a loop
would fill the disk. So each driver gets a directory of its own, named by its process id, under one
root; a starting driver first removes the directories of drivers that are no longer alive.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

SCRATCH_ROOT = Path(tempfile.gettempdir()) / "lakehouse-spark"
PREFIX = "driver-"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def driver_scratch(root: Path = SCRATCH_ROOT, pid: int | None = None) -> Path:
    """This driver's own directory under `root`, after removing those of dead drivers."""
    pid = os.getpid() if pid is None else pid
    root.mkdir(parents=True, exist_ok=True)
    for other in root.glob(f"{PREFIX}*"):
        owner = other.name.removeprefix(PREFIX)
        if owner.isdigit() and int(owner) != pid and not alive(int(owner)):
            log.info("removing the scratch space of a driver that is gone: %s", other)
            shutil.rmtree(other, ignore_errors=True)
    mine = root / f"{PREFIX}{pid}"
    mine.mkdir(exist_ok=True)
    return mine
