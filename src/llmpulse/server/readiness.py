"""Readiness: can this server ingest and answer queries right now, and if not, why not.

Each check names its reason in words an operator can act on. Liveness (``/healthz``) stays
200 while the process runs, since a restart cures none of these; readiness (``/readyz``)
answers 503 with ``Retry-After`` and the reasons until they clear, which they do by
themselves: a freed disk, a re-attached store, a replaced decode pool.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path

from llmpulse.domain.errors import LlmpulseError
from llmpulse.server.services import Services

_DISK_FULL = ("No space left on device", "database or disk is full")


@dataclass(slots=True)
class Readiness:
    """The outcome of every readiness check."""

    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    disk_free_bytes: int | None = None
    decode_workers_alive: int = 0

    @property
    def ready(self) -> bool:
        """True when nothing keeps the server from ingesting and answering."""
        return not self.reasons


def disk_free_bytes(path: Path) -> int | None:
    """Bytes an unprivileged writer may still use on the filesystem holding ``path``."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        st = os.statvfs(probe)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


async def check_readiness(services: Services, *, probe_store: bool = True) -> Readiness:
    """Run every check (the store probe on a worker thread: it may touch the disk).

    ``probe_store=False`` skips the query against the event store, for the cheap liveness
    answer; its warnings are still included.
    """
    out = Readiness()
    settings = services.settings
    if settings.data_dir is not None:
        out.disk_free_bytes = disk_free_bytes(settings.data_dir)
        if out.disk_free_bytes is not None and out.disk_free_bytes < settings.min_free_bytes:
            out.reasons.append(
                f"disk full: {out.disk_free_bytes} bytes free under {settings.data_dir} "
                f"(below {settings.min_free_bytes}); ingest resumes by itself once space is freed"
            )
    try:
        if probe_store:
            await asyncio.to_thread(services.events.stats)
        out.warnings.extend(services.events.warnings())
    except LlmpulseError as exc:
        out.reasons.append(f"event store: {exc.detail}")
    except Exception as exc:  # noqa: BLE001 - any engine failure is a reason, never a 500
        out.reasons.append(f"event store cannot answer queries: {str(exc).splitlines()[0]}")
    failing = services.writer.stats.failing
    # A commit that failed on a full disk is covered by the disk check above, which clears
    # as soon as space is back; any other failure stays a reason until a commit succeeds.
    if failing and not any(marker in failing for marker in _DISK_FULL):
        out.reasons.append(f"the last ingest commit failed: {failing}")
    if not services.writer.running:
        out.reasons.append("the ingest writer is not running")
    pool = services.pool
    problem = pool.problem()
    if problem:
        out.reasons.append(problem)
    out.decode_workers_alive = len(pool.worker_pids())
    return out
