"""Silences through the API, UI and CLI: create (start now by default, end or duration),
list by state, expire. Each is a ``kind: Silence`` object, so it is audited and exported too.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from llmpulse.alerts.silences import Silence, SilenceState
from llmpulse.config.resources import Resource
from llmpulse.config.service import ConfigService
from llmpulse.config.silence_kind import silence_of, silence_spec
from llmpulse.domain.errors import Conflict

KIND = "Silence"


@dataclass(frozen=True, slots=True)
class SilenceView:
    """A stored silence with its state at the time it was read."""

    project: str
    silence: Silence
    state: SilenceState


def new_silence_name() -> str:
    """A fresh name for a silence created without one (``s-`` and 12 hex digits)."""
    return f"s-{secrets.token_hex(6)}"


async def create_silence(
    svc: ConfigService, project: str, spec: dict[str, Any], actor: str, name: str | None = None
) -> SilenceView:
    """Create a silence; ``starts_at`` defaults to now and ``created_by`` to the actor.

    Raises:
        InvalidInput: a bad field (``spec.matchers[0]``, ``spec.ends_at``, ...).
        Conflict: a silence of that name exists.
    """
    now = svc.clock.now()
    body = dict(spec)
    body.setdefault("starts_at", now.isoformat())
    if not body.get("created_by"):
        body["created_by"] = actor
    doc = {
        "apiVersion": "llmpulse/v1",
        "kind": KIND,
        "metadata": {"name": name or new_silence_name(), "project": project},
        "spec": body,
    }
    plan = await svc.put(doc, actor, create_only=True)
    after = plan.changes[0].after
    assert after is not None  # noqa: S101 - a create has an after
    s = silence_of(after)
    return SilenceView(project, s, s.state(now))


async def list_silences(
    svc: ConfigService, project: str, state: SilenceState | None = None
) -> list[SilenceView]:
    """The project's silences (of one state when given), latest ending first."""
    now = svc.clock.now()
    views = [
        SilenceView(project, s, s.state(now))
        for s in (silence_of(r) for r in await svc.objects(KIND, project))
    ]
    views = [v for v in views if state is None or v.state is state]
    return sorted(views, key=lambda v: (v.silence.ends_at, v.silence.id), reverse=True)


async def get_silence(svc: ConfigService, project: str, name: str) -> SilenceView:
    """One silence with its state now."""
    s = silence_of(await svc.get(KIND, project, name))
    return SilenceView(project, s, s.state(svc.clock.now()))


async def expire_silence(svc: ConfigService, project: str, name: str, actor: str) -> SilenceView:
    """End a silence now (a pending one becomes a one-second silence just past).

    Raises:
        NotFound: no such silence.
        Conflict: it has expired already.
    """
    now = svc.clock.now()
    old = await svc.get(KIND, project, name)
    s = silence_of(old)
    if s.state(now) is SilenceState.EXPIRED:
        raise Conflict(f"silence {name!r} has expired already")
    starts = min(s.starts_at, now - timedelta(seconds=1))
    ended = replace(s, starts_at=starts, ends_at=now)
    new = Resource(KIND, project, name, silence_spec(ended))
    await svc.write_resource(old, new, actor)
    return SilenceView(project, ended, ended.state(now))


def ends_in(view: SilenceView, now: datetime) -> timedelta:
    """How long until the silence ends (negative once it has)."""
    return view.silence.ends_at - now
