"""A whole local stack for an end-to-end test, and what the tests ask of it.

`running_stack` starts it with `lakehouse up` on the given ports and home (so it runs beside a
demo), checks that a second `up` is a no-op, and after the test checks that `lakehouse down` left
no process behind.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path

import psutil

LAKEHOUSE = str(Path(sys.executable).parent / "lakehouse")
DAG_CURRENCIES = {"usd", "eur"}


def family(pid: int) -> list[psutil.Process]:
    try:
        proc = psutil.Process(pid)
        return [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def stack_pids(home: Path) -> list[int]:
    return [json.loads(p.read_text())["pid"] for p in (home / "run").glob("*.pid")]


@contextlib.contextmanager
def running_stack(
    home: Path, ports: Mapping[str, int], extra: Mapping[str, str] | None = None
) -> Iterator[dict[str, str]]:
    env = {
        **os.environ,
        "LAKEHOUSE_HOME": str(home),
        **{f"LAKEHOUSE_{name}_PORT": str(port) for name, port in ports.items()},
        **(extra or {}),
    }
    started = time.monotonic()
    up = subprocess.run([LAKEHOUSE, "up"], env=env, capture_output=True, text=True, timeout=900)
    print(f"lakehouse up: {time.monotonic() - started:.1f}s\n{up.stdout}\n{up.stderr}")
    try:
        assert up.returncode == 0, up.stderr
        pids = {p.stem: p.read_text() for p in (home / "run").glob("*.pid")}
        again = subprocess.run([LAKEHOUSE, "up"], env=env, capture_output=True, text=True)
        assert again.returncode == 0, again.stderr  # running `make demo` twice is safe...
        assert {p.stem: p.read_text() for p in (home / "run").glob("*.pid")} == pids  # ...a no-op
        yield env
    finally:
        members = [member for pid in stack_pids(home) for member in family(pid)]
        down = subprocess.run([LAKEHOUSE, "down"], env=env, capture_output=True, text=True)
        assert down.returncode == 0, down.stderr
        _, alive = psutil.wait_procs(members, timeout=10)
        assert not alive, f"processes left after `lakehouse down`: {alive}"
        assert not list((home / "run").glob("*.pid"))


def query(env: Mapping[str, str], sql: str) -> list[dict[str, object]]:
    result = subprocess.run(
        [LAKEHOUSE, "query", "--format", "json", sql], env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        return []
    return json.loads(result.stdout)


def landed_keys(env: Mapping[str, str]) -> set[tuple[str, str, int]]:
    """(coin, currency, minute) of every price that reached bronze."""
    events = query(env, "select payload from bronze.raw_events where endpoint = 'simple_price'")
    return {
        (coin, cur, int(quote["last_updated_at"]))
        for event in events
        for coin, quote in json.loads(str(event["payload"])).items()
        for cur in DAG_CURRENCIES
    }


def silver_keys(env: Mapping[str, str]) -> tuple[set[tuple[str, str, int]], int]:
    """The distinct price keys in silver, and its row count."""
    rows = query(env, "select coin_id, vs_currency, price_ts from silver.coin_prices")
    keys = {(str(r["coin_id"]), str(r["vs_currency"]), epoch(r["price_ts"])) for r in rows}
    return keys, len(rows)


def epoch(timestamp: object) -> int:
    return int(datetime.fromisoformat(str(timestamp)).timestamp())


def stack_listeners(env: Mapping[str, str]) -> list[tuple[str, str, int]]:
    """(process name, address, port) of every TCP listener of the stack's process trees."""
    names = {
        member.pid: member.name()
        for pid in stack_pids(Path(env["LAKEHOUSE_HOME"]))
        for member in family(pid)
    }
    return sorted(
        (names[conn.pid], conn.laddr.ip, conn.laddr.port)
        for conn in psutil.net_connections(kind="inet")
        if conn.status == psutil.CONN_LISTEN and conn.pid in names
    )


def is_loopback(ip: str) -> bool:
    """127.0.0.0/8 or ::1, also as the IPv4-mapped address a Java listener shows."""
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback
