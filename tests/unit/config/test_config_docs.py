"""`docs/reference/config-files.md` documents every kind and every field of each."""

from __future__ import annotations

from pathlib import Path

from llmpulse.config.kinds import KINDS
from llmpulse.config.receiver_kind import SECRET_FIELDS, SETTINGS
from llmpulse.config.route_kind import RouteNode
from llmpulse.config.silence_kind import SilenceBody
from llmpulse.monitors.spec import MonitorSpec

DOC = (Path(__file__).resolve().parents[3] / "docs" / "reference" / "config-files.md").read_text()


def _camel(field: str) -> str:
    head, *rest = field.split("_")
    return head + "".join(p.title() for p in rest)


def _section(kind: str) -> str:
    start = DOC.index(f"## `{kind}`")
    end = DOC.find("\n## ", start + 1)
    return DOC[start : end if end > 0 else None]


def test_every_kind_has_a_section() -> None:
    for _, kind in KINDS:
        assert f"## `{kind}`" in DOC, kind


def test_every_field_is_documented_in_its_kinds_section() -> None:
    wanted = {
        "Monitor": [f.alias or n for n, f in MonitorSpec.model_fields.items()
                    if n not in ("name", "project")],
        "AlertRoute": [f.alias or n for n, f in RouteNode.model_fields.items()],
        "Silence": list(SilenceBody.model_fields),
        "Receiver": [
            f"{_camel(n)}FromEnv" if n in SECRET_FIELDS[t] else (f.alias or n)
            for t, model in SETTINGS.items()
            for n, f in model.model_fields.items()
        ],
    }  # fmt: skip
    missing = [
        f"{kind}.{name}" for kind, names in wanted.items() for name in names
        if f"`{name}`" not in _section(kind)
    ]  # fmt: skip
    assert not missing
