"""Drain N no-op procrastinate tasks with one worker; prints {"jobs", "seconds"} as JSON.

Runs inside the benchmark's own virtualenv (requirements-procrastinate.txt), not Petri's.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import procrastinate


async def main(conninfo: str, count: int, concurrency: int) -> None:
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo))

    @app.task(name="noop")
    async def noop() -> None:
        return None

    async with app.open_async():
        await app.schema_manager.apply_schema_async()
        for start in range(0, count, 1000):
            await noop.batch_defer_async(*[{}] * min(1000, count - start))
        began = time.perf_counter()
        await app.run_worker_async(
            wait=False,
            concurrency=concurrency,
            install_signal_handlers=False,
            delete_jobs="never",
        )
        seconds = time.perf_counter() - began
    print(json.dumps({"jobs": count, "seconds": seconds, "concurrency": concurrency}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
