"""Faults the simulator injects, so that every failure the real APIs show can be tested.

Kinds (each seen from the real APIs or plausible for them):

- `429`: rate limited, with a `Retry-After` header (`429:SECONDS` sets it; default configured)
  and CoinGecko's recorded body (Smart Citizen's is not recorded: its usual error shape).
- `500`: an internal error.
- `slow`: the right answer, late (`slow:SECONDS`), for the clients' timeouts.
- `malformed`: HTTP 200 with JSON cut in the middle.
- `html`: HTTP 200 with an HTML error page (CoinGecko has served one when rate limiting).
- `drift`: the right answer with shape drift: numbers as strings, nulls, missing keys
  (`drift:strings`, `drift:nulls`, `drift:missing` for one kind only). Not an error: collectors land
  it, parsers downstream must cope.

A fault is chosen per request, first match wins: the request's `X-Simulator-Fault` header or
`sim_fault` query parameter (the collectors never send either); else the next of the faults queued
through `POST /_simulator/faults`; else a seeded draw from the configured probabilities.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

KINDS = ("429", "500", "slow", "malformed", "html", "drift")
DRIFTS = ("strings", "nulls", "missing")
HEADER = "X-Simulator-Fault"
QUERY = "sim_fault"


@dataclass(frozen=True)
class Fault:
    kind: str
    arg: str | None = None

    @classmethod
    def parse(cls, text: str) -> Fault:
        head, _, tail = text.strip().partition(":")
        kind = head.strip().lower()
        if kind not in KINDS:
            raise ValueError(f"unknown fault {kind!r}; kinds: {', '.join(KINDS)}")
        arg = tail.strip() or None
        if arg is not None and kind in ("429", "slow"):
            try:
                float(arg)
            except ValueError as exc:
                raise ValueError(f"fault {kind}: {arg!r} is not a number of seconds") from exc
        if arg is not None and kind == "drift" and arg not in DRIFTS:
            raise ValueError(f"fault drift: {arg!r} is not one of {', '.join(DRIFTS)}")
        if arg is not None and kind in ("500", "malformed", "html"):
            raise ValueError(f"fault {kind} takes no argument")
        return cls(kind, arg)

    def __str__(self) -> str:
        return self.kind if self.arg is None else f"{self.kind}:{self.arg}"


def parse_probabilities(spec: str | Mapping[str, float]) -> dict[str, float]:
    """`"429=0.05,500=0.02"` (or a mapping) -> {"429": 0.05, "500": 0.02}, checked."""
    pairs: list[tuple[str, Any]]
    if isinstance(spec, str):
        pairs = []
        for item in (part.strip() for part in spec.split(",")):
            if not item:
                continue
            kind, sep, number = item.partition("=")
            if not sep:
                raise ValueError(f"fault probability {item!r}: write KIND=PROBABILITY")
            pairs.append((kind.strip(), number.strip()))
    else:
        pairs = list(spec.items())
    result: dict[str, float] = {}
    for kind, number in pairs:
        if kind not in KINDS:
            raise ValueError(f"unknown fault {kind!r}; kinds: {', '.join(KINDS)}")
        try:
            probability = float(number)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"fault {kind}: probability {number!r} is not a number") from exc
        if not 0 <= probability <= 1:
            raise ValueError(f"fault {kind}: probability {probability} is not within 0..1")
        result[kind] = probability
    if sum(result.values()) > 1:
        raise ValueError("fault probabilities add up to more than 1")
    return result


@dataclass
class FaultInjector:
    """Chooses the fault (or none) of each request; thread-safe (uvicorn serves concurrently)."""

    probabilities: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    retry_after: int = 2
    slow_seconds: float = 15.0

    def __post_init__(self) -> None:
        self.probabilities = parse_probabilities(self.probabilities)
        self._random = random.Random(self.seed)
        self._queue: deque[Fault] = deque()
        self._lock = threading.Lock()
        self.injected: list[str] = []
        """Every fault injected so far, as `kind` or `kind:arg`, for tests and the admin view."""

    def queue(self, faults: Iterable[str]) -> None:
        parsed = [Fault.parse(text) for text in faults]
        with self._lock:
            self._queue.extend(parsed)

    def configure(self, probabilities: Mapping[str, float] | str, seed: int | None = None) -> None:
        parsed = parse_probabilities(probabilities)
        with self._lock:
            self.probabilities = parsed
            if seed is not None:
                self.seed = seed
                self._random = random.Random(seed)

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self.probabilities = {}
            self._random = random.Random(self.seed)
            self.injected.clear()

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "queued": [str(fault) for fault in self._queue],
                "probabilities": dict(self.probabilities),
                "seed": self.seed,
                "retry_after": self.retry_after,
                "slow_seconds": self.slow_seconds,
                "injected": list(self.injected),
            }

    def choose(self, requested: str | None) -> Fault | None:
        """The fault for one request; `requested` is its header or query value, if any."""
        fault: Fault | None
        with self._lock:
            if requested:
                fault = Fault.parse(requested)
            elif self._queue:
                fault = self._queue.popleft()
            else:
                fault = None
                draw = self._random.random()
                for kind in KINDS:
                    probability = self.probabilities.get(kind, 0.0)
                    if draw < probability:
                        fault = Fault(kind)
                        break
                    draw -= probability
            if fault is not None:
                self.injected.append(str(fault))
        return fault

    def retry_after_of(self, fault: Fault) -> int:
        return int(float(fault.arg)) if fault.arg else self.retry_after

    def delay_of(self, fault: Fault) -> float:
        return float(fault.arg) if fault.arg else self.slow_seconds


# --- shape drift ------------------------------------------------------------------------------


def _pick(path: str, salt: str) -> int:
    digest = hashlib.blake2b(f"{salt}|{path}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big")


def drift(body: Any, how: str | None = None, path: str = "$") -> Any:
    """A deterministic shape drift of `body` (same input, same output).

    `strings`: every number becomes its text; `nulls`: about a third of the values become null;
    `missing`: about a quarter of the object keys disappear. None: a mix of the three.
    """
    if isinstance(body, dict):
        out: dict[str, Any] = {}
        for key, item in body.items():
            child = f"{path}.{key}"
            roll = _pick(child, "key") % 12
            if (how == "missing" and roll < 3) or (how is None and roll == 0):
                continue
            out[key] = drift(item, how, child)
        return out
    if isinstance(body, list):
        return [drift(item, how, f"{path}[{index}]") for index, item in enumerate(body)]
    if isinstance(body, bool) or body is None:
        return body
    roll = _pick(path, "value") % 12
    if (how == "nulls" and roll < 4) or (how is None and roll == 1):
        return None
    if isinstance(body, int | float) and (how == "strings" or (how is None and roll in (2, 3, 4))):
        return repr(body) if isinstance(body, float) else str(body)
    return body
