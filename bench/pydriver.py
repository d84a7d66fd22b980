"""The official SDK's side of the bench: one client run in a process of its own (see driver_test.go).

Reads a driverConfig from ALTER_BENCH_DRIVER, makes the warm calls and then the measured calls of
App.request() by grant, all at once under an asyncio.Semaphore of the configured concurrency,
closes the App (which waits for its background audit posts), and prints one BENCH-RESULT line
with the same fields the Go driver prints. CPU time is getrusage of this process over the
measured calls and the close: the interpreter's start and the SDK's import are not counted.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import time

from alter_sdk import App


def peak_rss() -> int:
    """VmHWM of /proc/self/status: this process's peak RSS, in bytes (0 where unknown)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cpu_ns() -> int:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return int((ru.ru_utime + ru.ru_stime) * 1e9)


async def main() -> None:
    cfg = json.loads(os.environ["ALTER_BENCH_DRIVER"])
    target = cfg["target"]
    loop = asyncio.get_running_loop()

    # Every TCP connection the SDK's httpx clients open goes through the loop's
    # create_connection (anyio's asyncio backend): counted there, at no cost per call.
    conns = 0
    create = loop.create_connection

    async def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal conns
        conns += 1
        return await create(*args, **kwargs)

    loop.create_connection = counting  # type: ignore[method-assign]

    app = App(api_key=target["app_key"])
    url, grant = target["upstream_url"], target["grant_id"]
    sem = asyncio.Semaphore(cfg["concurrency"])

    async def call(lat: list[int] | None, i: int) -> None:
        async with sem:
            start = time.perf_counter_ns()
            resp = await app.request("GET", url, grant_id=grant)
            if resp.status_code != 200:
                raise RuntimeError(f"upstream status {resp.status_code}")
            _ = resp.content
            if lat is not None:
                lat[i] = time.perf_counter_ns() - start

    await asyncio.gather(*(call(None, i) for i in range(cfg["warm"])))

    n = cfg["calls"]
    lat = [0] * n
    cpu0, t0 = cpu_ns(), time.perf_counter_ns()
    await asyncio.gather(*(call(lat, i) for i in range(n)))
    await app.close()
    wall, cpu = time.perf_counter_ns() - t0, cpu_ns() - cpu0

    lat.sort()

    def q(p: float) -> int:
        return lat[min(n - 1, int(p * n))]

    print(
        "BENCH-RESULT "
        + json.dumps(
            {"calls": n, "wall_ns": wall, "cpu_ns": cpu, "p50_ns": q(0.50), "p99_ns": q(0.99), "conns": conns,
             "max_rss_bytes": peak_rss()}
        ),
        flush=True,
    )


asyncio.run(main())
