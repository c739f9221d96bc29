"""Keep one command running: restart it when it dies, stop it when told to.

`python -m lakehouse.runtime.supervise NAME -- ARGV...` is what the local stack runs for the parts
that must come back by themselves (the Spark master and workers): a worker that dies mid-stream is
back within seconds, and the master sees it register again. SIGTERM (from `lakehouse down`) is
passed on, and the supervisor exits once the command has.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType

RESTART_DELAY_SECONDS = 2.0
"""Between a death and the restart, so that a command failing at once does not spin."""


def supervise(name: str, argv: Sequence[str]) -> int:
    stopping = False
    child: subprocess.Popen[bytes] | None = None

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        child = subprocess.Popen(list(argv))
        code = child.wait()
        if stopping:
            return 0
        print(
            f"supervise: {name} exited with {code}; restarting in {RESTART_DELAY_SECONDS:.0f}s",
            file=sys.stderr,
            flush=True,
        )
        time.sleep(RESTART_DELAY_SECONDS)
        if stopping:
            return 0


def main(args: Sequence[str]) -> int:
    if len(args) < 3 or args[1] != "--":
        print("usage: python -m lakehouse.runtime.supervise NAME -- ARGV...", file=sys.stderr)
        return 2
    return supervise(args[0], args[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
