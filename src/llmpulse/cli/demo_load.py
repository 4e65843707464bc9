"""`llmpulse demo`: fill a data directory's rag-demo project, with a progress bar."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import typer

from llmpulse.server.demo_loader import DEMO_PROJECT, load_demo
from llmpulse.server.services import run_services
from llmpulse.server.settings import ServerSettings


def run_demo_load(
    data_dir: Path | None, *, days: int, quiet: bool, end: datetime | None = None
) -> int:
    """Open the data directory, store the demo week, and return the number of spans."""

    async def go() -> int:
        settings = ServerSettings(data_dir=data_dir, grpc_port=0, decode_workers=0)
        async with run_services(settings) as services:
            if quiet:
                return await load_demo(services, days=days, end=end)
            with typer.progressbar(length=100, label=f"demo → {DEMO_PROJECT}") as bar:
                done = [0]

                def step(traces: int, expected: int) -> None:
                    pct = min(100, traces * 100 // max(1, expected))
                    bar.update(pct - done[0])
                    done[0] = pct

                n = await load_demo(services, days=days, progress=step, end=end)
                bar.update(100 - done[0])
                return n

    return asyncio.run(go())


def load_demo_command(
    data_dir: Path | None, *, days: int, quiet: bool, end: datetime | None = None
) -> None:
    """CLI body of `llmpulse demo`."""
    n = run_demo_load(data_dir, days=days, quiet=quiet, end=end)
    if not quiet:
        typer.echo(f"stored {n} spans in project {DEMO_PROJECT} under {data_dir}")
