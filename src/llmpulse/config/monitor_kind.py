"""``kind: Monitor``: the `MonitorSpec` manifest (issue 10), stored in canonical form."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from llmpulse.config.resources import Resource, envelope
from llmpulse.monitors.spec import MonitorSpec


class MonitorKind:
    """Parses ``kind: Monitor`` manifests with `MonitorSpec.from_manifest`."""

    kind: ClassVar[str] = "Monitor"
    project_scoped: ClassVar[bool] = True

    def parse(self, doc: Mapping[str, Any]) -> Resource:
        """Validate a manifest into its canonical resource (errors name ``spec.<field>``)."""
        envelope(doc, project_scoped=True)
        spec = MonitorSpec.from_manifest(dict(doc))
        return resource_of(spec)


def resource_of(spec: MonitorSpec) -> Resource:
    """A `MonitorSpec` as a stored resource (its manifest's ``spec``)."""
    return Resource("Monitor", spec.project, spec.name, spec.to_manifest()["spec"])


def monitor_of(resource: Resource) -> MonitorSpec:
    """The `MonitorSpec` of a stored monitor resource."""
    return MonitorSpec.from_manifest(resource.manifest())
