"""``kind: AlertRoute``: a project's routing tree, with Alertmanager's vocabulary.

``metadata: {name: default, project: P}`` (one tree per project; the name is always
``default``); ``spec`` is the root route: ``receiver`` (required at the root), ``group_by``,
``group_wait``, ``group_interval``, ``repeat_interval``, ``send_resolved`` and ``routes``,
whose children also take ``matchers`` (``severity="critical"``, ``service=~"api|web"``) and
``continue``. Unset fields inherit from the parent (`llmpulse.alerts.routing`). The root also
takes ``inhibit_rules`` (`llmpulse.config.inhibit_rules`), as Alertmanager's configuration does
beside its route.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from llmpulse.alerts.matchers import parse_matcher
from llmpulse.alerts.routing import RouteSpec, build_route
from llmpulse.config.inhibit_rules import FIELD as INHIBIT_FIELD
from llmpulse.config.inhibit_rules import parse_inhibit_rules, split_spec
from llmpulse.config.resources import Resource, canonical_matchers, envelope, spec_errors
from llmpulse.domain.durations import parse_duration
from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.monitors.spec import format_duration

ROUTE_NAME = "default"
_TIMERS = ("group_wait", "group_interval", "repeat_interval")


class RouteNode(BaseModel):
    """One node of the routing tree as written in YAML."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    receiver: str | None = Field(default=None, min_length=1)
    matchers: tuple[str, ...] = ()
    continue_: bool = Field(default=False, alias="continue")
    group_by: tuple[str, ...] | None = None
    group_wait: timedelta | None = None
    group_interval: timedelta | None = None
    repeat_interval: timedelta | None = None
    send_resolved: bool | None = None
    routes: tuple[RouteNode, ...] = ()

    @field_validator("matchers")
    @classmethod
    def _matchers_parse(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return canonical_matchers(value)

    @field_validator(*_TIMERS, mode="before")
    @classmethod
    def _timers(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return parse_duration(value, "timer", unit_required=True)
            except InvalidInput as exc:
                raise ValueError(exc.detail) from exc
        return value

    def route_spec(self) -> RouteSpec:
        """The `alerts.routing.RouteSpec` of this node and its children."""
        return RouteSpec(
            receiver=self.receiver,
            matchers=tuple(parse_matcher(m) for m in self.matchers),
            continue_=self.continue_,
            group_by=self.group_by,
            group_wait=self.group_wait,
            group_interval=self.group_interval,
            repeat_interval=self.repeat_interval,
            send_resolved=self.send_resolved,
            routes=tuple(child.route_spec() for child in self.routes),
        )

    def canonical(self) -> dict[str, Any]:
        """The node as stored and exported: unset fields left out, timers as ``5m``."""
        out: dict[str, Any] = {}
        if self.receiver is not None:
            out["receiver"] = self.receiver
        if self.matchers:
            out["matchers"] = list(self.matchers)
        if self.continue_:
            out["continue"] = True
        if self.group_by is not None:
            out["group_by"] = list(self.group_by)
        for name in _TIMERS:
            value = getattr(self, name)
            if value is not None:
                out[name] = format_duration(value)
        if self.send_resolved is not None:
            out["send_resolved"] = self.send_resolved
        if self.routes:
            out["routes"] = [child.canonical() for child in self.routes]
        return out

    def receivers(self) -> set[str]:
        """Every receiver this node and its descendants name."""
        found = {self.receiver} if self.receiver else set()
        for child in self.routes:
            found |= child.receivers()
        return found


def route_node(spec: Mapping[str, Any]) -> RouteNode:
    """The root route of a stored AlertRoute spec (its ``inhibit_rules`` left aside)."""
    return RouteNode.model_validate(split_spec(spec)[0])


def parse_route_tree(spec: Mapping[str, Any]) -> RouteNode:
    """Validate a root route (``spec`` of an AlertRoute, without ``inhibit_rules``) and check it
    builds.

    Raises:
        InvalidInput: a field is invalid (``spec.routes[0].matchers[1]``), the root lacks a
            receiver or has matchers, or a timer is not positive.
    """
    try:
        root = RouteNode.model_validate(dict(spec))
    except ValidationError as err:
        raise spec_errors(err) from err
    try:
        build_route(root.route_spec())
    except InvalidInput as exc:
        field = exc.detail.split(":", 1)[0].removeprefix("route.")
        raise InvalidInput(exc.detail, [FieldError(f"spec.{field}", exc.detail)]) from exc
    return root


class AlertRouteKind:
    """Parses ``kind: AlertRoute`` manifests."""

    kind: ClassVar[str] = "AlertRoute"
    project_scoped: ClassVar[bool] = True

    def parse(self, doc: Mapping[str, Any]) -> Resource:
        """Validate a manifest into its canonical resource."""
        project, name, spec = envelope(doc, project_scoped=True)
        if name != ROUTE_NAME:
            raise InvalidInput(
                f"an AlertRoute is named {ROUTE_NAME!r} (one tree per project)",
                [FieldError("metadata.name", f"must be {ROUTE_NAME!r}")],
            )
        tree, raw_rules = split_spec(spec)
        canonical = parse_route_tree(tree).canonical()
        rules = parse_inhibit_rules(raw_rules)
        if rules:
            canonical[INHIBIT_FIELD] = [r.canonical() for r in rules]
        return Resource(self.kind, project, name, canonical)
