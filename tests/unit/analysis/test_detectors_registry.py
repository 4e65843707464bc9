"""The registry: every detector has an oracle test and a docs entry; `build` names bad fields."""

from __future__ import annotations

import ast
import dataclasses
import math
import re
from pathlib import Path
from typing import ClassVar

import pytest

from llmpulse.analysis.detectors.base import DetectorInfo, described
from llmpulse.analysis.detectors.registry import DEFAULT_DETECTOR, REGISTRY, build
from llmpulse.domain.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[3]
DOC = (ROOT / "docs" / "reference" / "detectors.md").read_text()


def _test_names() -> set[str]:
    names: set[str] = set()
    for path in Path(__file__).parent.glob("test_detectors_*.py"):
        tree = ast.parse(path.read_text())
        names |= {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    return names


def _doc_section(name: str) -> str:
    match = re.search(rf"^## `{name}`\n(.*?)(?=^## |\Z)", DOC, re.S | re.M)
    return match.group(1) if match else ""


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_detector_has_an_oracle_test(name: str) -> None:
    assert any(t.startswith(f"test_{name}_oracle") for t in _test_names()), name


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_detector_is_documented_with_its_defaults(name: str) -> None:
    section = _doc_section(name)
    assert section, f"docs/reference/detectors.md has no '## `{name}`' section"
    info = REGISTRY[name]
    assert info.method_ref.split(" (")[0] in section
    for param in info.defaults:
        assert f"`{param}`" in section, (name, param)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_registry_defaults_are_the_dataclass_defaults(name: str) -> None:
    info = REGISTRY[name]
    params = {"upper": 1.0} if name == "static" else {}
    det = build(name, params)
    fields = {f.name: getattr(det, f.name) for f in dataclasses.fields(det) if f.init}  # type: ignore[arg-type]
    assert set(fields) == set(info.defaults)
    for key, default in info.defaults.items():
        got = fields[key] if key not in params else default
        same = got == default or (
            isinstance(got, float)
            and isinstance(default, float)
            and math.isnan(got)
            and math.isnan(default)
        )
        assert same, (name, key, got, default)
    assert info.applies_to <= {"value", "proportion"}
    assert info.method_ref.startswith("METHODS.md")


def test_default_detector_is_registered() -> None:
    assert DEFAULT_DETECTOR in REGISTRY


def test_build_names_the_field_of_bad_input() -> None:
    with pytest.raises(InvalidInput) as unknown:
        build("nope")
    assert unknown.value.errors[0].path == "detector.name"
    with pytest.raises(InvalidInput) as param:
        build("zscore", {"kk": 3})
    assert param.value.errors[0].path == "detector.params.kk"
    with pytest.raises(InvalidInput) as typed:
        build("zscore", {"k": "three"})
    assert typed.value.errors[0].path == "detector.params.k"
    with pytest.raises(InvalidInput) as side:
        build("zscore", {"side": "sideways"})
    assert side.value.errors[0].path == "detector.params"
    with pytest.raises(InvalidInput):
        build("zscore", {"log": 1})  # a bool parameter wants a bool
    with pytest.raises(InvalidInput):
        build("zscore", {"min_points": 2.5})


def test_build_applies_parameters_over_defaults() -> None:
    det = build("zscore", {"k": 4, "min_points": 10.0, "log": True})
    assert (det.k, det.min_points, det.log) == (4.0, 10, True)  # type: ignore[attr-defined]


def test_described_reads_defaults_off_the_fields_in_order() -> None:
    @described(name="probe", summary="s", applies_to=frozenset({"value"}), method_ref="M")
    @dataclasses.dataclass(frozen=True)
    class Probe:
        info: ClassVar[DetectorInfo]
        k: float = 2.5
        side: str = "down"
        min_points: int = 7
        log: bool = True

    assert Probe.info == DetectorInfo(
        "probe",
        "s",
        frozenset({"value"}),
        {"k": 2.5, "side": "down", "min_points": 7, "log": True},
        "M",
    )
    assert list(Probe.info.defaults) == ["k", "side", "min_points", "log"]


def test_described_refuses_a_field_without_a_scalar_default() -> None:
    with pytest.raises(TypeError, match=r"Probe\.weights"):

        @described(name="probe", summary="s", applies_to=frozenset({"value"}), method_ref="M")
        @dataclasses.dataclass(frozen=True)
        class Probe:
            info: ClassVar[DetectorInfo]
            weights: tuple[float, ...] = (1.0,)
