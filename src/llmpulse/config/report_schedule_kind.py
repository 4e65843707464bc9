"""``kind: ReportSchedule``: a project's scheduled digest or compliance report (issue 11 item 6).

```yaml
apiVersion: llmpulse/v1
kind: ReportSchedule
metadata: {name: weekly-health, project: rag-demo}
spec: {report: digest, every: weekly, weekday: 0, hour: 8, receivers: [team-email]}
```

Stored in canonical form (defaults left out) like the other kinds; receivers must exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import ValidationError

from llmpulse.config.resources import Resource, envelope, spec_errors
from llmpulse.slos.schedule import ReportSchedule


class ReportScheduleKind:
    """Parses ``kind: ReportSchedule`` manifests into `ReportSchedule` specs."""

    kind: ClassVar[str] = "ReportSchedule"
    project_scoped: ClassVar[bool] = True

    def parse(self, doc: Mapping[str, Any]) -> Resource:
        """Validate a manifest (errors name ``spec.<field>``)."""
        project, name, spec = envelope(doc, project_scoped=True)
        try:
            body = ReportSchedule.model_validate(spec)
        except ValidationError as exc:
            raise spec_errors(exc) from None
        canonical = body.model_dump(mode="json", exclude_defaults=True)
        canonical["receivers"] = list(body.receivers)
        return Resource(self.kind, project, name, canonical)


def schedule_of(resource: Resource) -> ReportSchedule:
    """The `ReportSchedule` of a stored resource."""
    return ReportSchedule.model_validate(dict(resource.spec))
