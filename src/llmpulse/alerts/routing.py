"""The routing tree: which receivers get an alert and with which grouping and timers.

Alertmanager semantics (`dispatch/route.go`): an alert enters at the root (which matches
everything); at each node the children are tried in order; a matching child is descended
into, and unless it has `continue` the search stops at it. A node none of whose children
match is the match itself. Children inherit `receiver`, `group_by` and the three timers from
their parent unless they set them. `group_by=("...",)` groups by every label.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from llmpulse.alerts.matchers import LabelSet, Matcher, matches_all
from llmpulse.domain.errors import InvalidInput

GROUP_BY_ALL = "..."
DEFAULT_GROUP_WAIT = timedelta(seconds=30)
DEFAULT_GROUP_INTERVAL = timedelta(minutes=5)
DEFAULT_REPEAT_INTERVAL = timedelta(hours=4)


@dataclass(frozen=True)
class RouteOpts:
    """The effective options of a route node after inheritance.

    Attributes:
        receiver: Who gets the notifications.
        group_by: Labels that split alerts into groups; ``("...",)`` = all labels.
        group_wait: Wait before the first notification of a new group.
        group_interval: Wait between notifications about changes to a group.
        repeat_interval: Wait before re-sending an unchanged firing group.
        send_resolved: Whether resolved alerts alone cause a notification.
    """

    receiver: str
    group_by: tuple[str, ...] = ()
    group_wait: timedelta = DEFAULT_GROUP_WAIT
    group_interval: timedelta = DEFAULT_GROUP_INTERVAL
    repeat_interval: timedelta = DEFAULT_REPEAT_INTERVAL
    send_resolved: bool = True

    @property
    def group_by_all(self) -> bool:
        """Whether every label is a grouping label."""
        return GROUP_BY_ALL in self.group_by


@dataclass(frozen=True)
class RouteSpec:
    """A route as configured: unset fields (``None``) inherit from the parent.

    Attributes:
        receiver: Receiver name; required at the root.
        matchers: All must match for the route to apply (ignored at the root).
        continue_: Keep trying later siblings after this route matched.
        group_by: Grouping labels, or ``None`` to inherit.
        group_wait: Timer, or ``None`` to inherit.
        group_interval: Timer, or ``None`` to inherit.
        repeat_interval: Timer, or ``None`` to inherit.
        send_resolved: Whether to notify resolutions, or ``None`` to inherit.
        routes: Child routes, tried in order.
    """

    receiver: str | None = None
    matchers: tuple[Matcher, ...] = ()
    continue_: bool = False
    group_by: tuple[str, ...] | None = None
    group_wait: timedelta | None = None
    group_interval: timedelta | None = None
    repeat_interval: timedelta | None = None
    send_resolved: bool | None = None
    routes: tuple[RouteSpec, ...] = ()


@dataclass(frozen=True)
class Route:
    """A node of the built tree with its effective options and a stable key.

    Attributes:
        opts: Effective options after inheritance.
        matchers: The node's own matchers.
        continue_: Whether matching continues with later siblings.
        key: Stable identity of the node: its ancestors' matchers and its index path.
        routes: Children.
    """

    opts: RouteOpts
    matchers: tuple[Matcher, ...]
    continue_: bool
    key: str
    routes: tuple[Route, ...] = field(default=())

    def match(self, labels: LabelSet) -> list[Route]:
        """Return the nodes that handle ``labels``, in tree order (the root if no child does)."""
        found = self._match(labels)
        return found if found is not None else [self]

    def _match(self, labels: LabelSet) -> list[Route] | None:
        if not matches_all(self.matchers, labels):
            return None
        found: list[Route] = []
        for child in self.routes:
            got = child._match(labels)
            if got is None:
                continue
            found.extend(got)
            if not child.continue_:
                break
        return found or [self]

    def walk(self) -> list[Route]:
        """Return this node and all its descendants, depth first."""
        out = [self]
        for child in self.routes:
            out.extend(child.walk())
        return out


def _check_timer(name: str, value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise InvalidInput(f"route.{name}: must be positive, got {value}")
    return value


def build_route(spec: RouteSpec) -> Route:
    """Build the tree from its root spec, resolving inheritance.

    Raises:
        InvalidInput: When the root has no receiver, carries matchers, or a timer is not
            positive (the message names the field).
    """
    if not spec.receiver:
        raise InvalidInput("route.receiver: the root route needs a default receiver")
    if spec.matchers:
        raise InvalidInput("route.matchers: the root route must match every alert")
    if spec.continue_:
        raise InvalidInput("route.continue: cannot be set on the root route")
    return _build(spec, None, "{}", ())


def _build(
    spec: RouteSpec, parent: RouteOpts | None, parent_key: str, path: Sequence[int]
) -> Route:
    base = parent or RouteOpts(receiver=spec.receiver or "")
    opts = RouteOpts(
        receiver=spec.receiver or base.receiver,
        group_by=tuple(spec.group_by) if spec.group_by is not None else base.group_by,
        group_wait=_check_timer("group_wait", spec.group_wait or base.group_wait),
        group_interval=_check_timer("group_interval", spec.group_interval or base.group_interval),
        repeat_interval=_check_timer(
            "repeat_interval", spec.repeat_interval or base.repeat_interval
        ),
        send_resolved=spec.send_resolved if spec.send_resolved is not None else base.send_resolved,
    )
    if parent is None:
        key = parent_key
    else:
        own = "{" + ",".join(str(m) for m in spec.matchers) + "}"
        key = f"{parent_key}/{own}/{path[-1]}"
    children = tuple(_build(child, opts, key, (*path, i)) for i, child in enumerate(spec.routes))
    return Route(opts, tuple(spec.matchers), spec.continue_, key, children)
