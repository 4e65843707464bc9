"""The kind registry: ``(apiVersion, kind) -> KindHandler``.

A handler validates one manifest into a canonical `Resource`; storage, diff, apply, export
and the audit log are generic. Adding a kind (SLO, OpenSLO ``openslo/v1``) is one handler
module and one line in `KINDS`; a handler registered under a foreign ``apiVersion`` may
translate into one of llmpulse's kinds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

from llmpulse.config.monitor_kind import MonitorKind
from llmpulse.config.receiver_kind import ReceiverKind
from llmpulse.config.report_schedule_kind import ReportScheduleKind
from llmpulse.config.resources import API_VERSION, Resource
from llmpulse.config.route_kind import AlertRouteKind
from llmpulse.config.silence_kind import SilenceKind
from llmpulse.config.slo_kind import OPENSLO_KINDS, OpenSloPartKind, SloKind
from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.slos.openslo import API_VERSION as OPENSLO_VERSION


class KindHandler(Protocol):
    """Validates manifests of one kind into canonical resources."""

    kind: ClassVar[str]  # the stored kind (what `Resource.kind` will be)
    project_scoped: ClassVar[bool]  # metadata.project required (else forbidden)

    def parse(self, doc: Mapping[str, Any]) -> Resource:
        """Validate ``doc``; raise `InvalidInput` with paths inside the document."""
        ...


KINDS: dict[tuple[str, str], KindHandler] = {
    (API_VERSION, "Monitor"): MonitorKind(),
    (API_VERSION, "AlertRoute"): AlertRouteKind(),
    (API_VERSION, "Receiver"): ReceiverKind(),
    (API_VERSION, "Silence"): SilenceKind(),
    (API_VERSION, "SLO"): SloKind(),
    (API_VERSION, "ReportSchedule"): ReportScheduleKind(),
    **{(OPENSLO_VERSION, k): SloKind() if k == "SLO" else OpenSloPartKind() for k in OPENSLO_KINDS},
}


def handler_for(doc: Any) -> KindHandler:
    """The handler of a manifest's ``apiVersion`` and ``kind``.

    Raises:
        InvalidInput: not a mapping, or an unknown ``apiVersion``/``kind`` pair.
    """
    if not isinstance(doc, Mapping):
        raise InvalidInput("a manifest must be a mapping", [FieldError("$", "expected a mapping")])
    key = (doc.get("apiVersion"), doc.get("kind"))
    handler = KINDS.get(key)  # type: ignore[arg-type]
    if handler is not None:
        return handler
    known = ", ".join(f"{v}/{k}" for v, k in KINDS)
    if not any(key[0] == v for v, _ in KINDS):
        msg = f"unknown apiVersion {key[0]!r} (known: {known})"
        raise InvalidInput(msg, [FieldError("apiVersion", msg)])
    msg = f"unknown kind {key[1]!r} (known: {known})"
    raise InvalidInput(msg, [FieldError("kind", msg)])


def stored_kinds() -> dict[str, KindHandler]:
    """The handlers by the kind they store (one per stored kind)."""
    out: dict[str, KindHandler] = {}
    for handler in KINDS.values():
        out.setdefault(handler.kind, handler)
    return out
