"""The detector registry: YAML and REST name a detector by `DetectorInfo.name`.

Adding a detector = a module in this package, one line in `_ENTRIES`, an entry in
`docs/reference/detectors.md` and an oracle test (a test walks this registry for both).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from types import MappingProxyType

from llmpulse.analysis.detectors.adaptive import Adaptive
from llmpulse.analysis.detectors.base import Detector, DetectorInfo, Param
from llmpulse.analysis.detectors.bincusum import BinomialCUSUM
from llmpulse.analysis.detectors.change import PercentChange
from llmpulse.analysis.detectors.cusum import CUSUM
from llmpulse.analysis.detectors.ewma import EWMA
from llmpulse.analysis.detectors.iqr import TukeyIQR
from llmpulse.analysis.detectors.proportions import PChart, WilsonBound
from llmpulse.analysis.detectors.seasonal import Seasonal
from llmpulse.analysis.detectors.static import StaticThreshold
from llmpulse.analysis.detectors.zscores import RobustZ, ZScore
from llmpulse.domain.errors import FieldError, InvalidInput

_ENTRIES: tuple[tuple[DetectorInfo, Callable[..., Detector]], ...] = (
    (StaticThreshold.info, StaticThreshold),
    (ZScore.info, ZScore),
    (RobustZ.info, RobustZ),
    (TukeyIQR.info, TukeyIQR),
    (EWMA.info, EWMA),
    (CUSUM.info, CUSUM),
    (PercentChange.info, PercentChange),
    (PChart.info, PChart),
    (WilsonBound.info, WilsonBound),
    (BinomialCUSUM.info, BinomialCUSUM),
    (Seasonal.info, Seasonal),
    (Adaptive.info, Adaptive),
)
_FACTORIES: Mapping[str, Callable[..., Detector]] = {info.name: cls for info, cls in _ENTRIES}

REGISTRY: Mapping[str, DetectorInfo] = MappingProxyType({info.name: info for info, _ in _ENTRIES})
"""Every detector's `DetectorInfo`, by name."""

DEFAULT_DETECTOR = Adaptive.info.name
"""The detector a monitor gets when it names none (chosen by benchmarks/detection.py, ADR 0013)."""


def build(
    name: str, params: Mapping[str, object] | None = None, path: str = "detector"
) -> Detector:
    """The detector `name` with `params` over its defaults.

    Raises:
        InvalidInput: Unknown detector, unknown parameter or a value of the wrong type; the
            field path names the offending key.
    """
    factory = _FACTORIES.get(name)
    if factory is None:
        known = ", ".join(sorted(_FACTORIES))
        raise InvalidInput(
            f"unknown detector {name!r}", [FieldError(f"{path}.name", f"one of {known}")]
        )
    defaults = REGISTRY[name].defaults
    given = dict(params or {})
    args: dict[str, Param] = {}
    for key, value in given.items():
        if key not in defaults:
            raise InvalidInput(
                f"{name} has no parameter {key!r}",
                [FieldError(f"{path}.params.{key}", f"one of {', '.join(sorted(defaults))}")],
            )
        args[key] = _coerce(value, defaults[key], f"{path}.params.{key}")
    try:
        return factory(**args)
    except InvalidInput as err:
        raise InvalidInput(err.detail, [FieldError(f"{path}.params", err.detail)]) from err


def _coerce(value: object, default: Param, path: str) -> Param:
    """Check `value` against the type of its default (bool, int, float or str)."""
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
        ok = ok or (isinstance(value, float) and value.is_integer())
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        ok = isinstance(value, str)
    if not ok:
        raise InvalidInput(
            f"{path} must be a {type(default).__name__}",
            [FieldError(path, f"expected {type(default).__name__}, got {value!r}")],
        )
    if isinstance(default, int) and not isinstance(default, bool):
        return int(value)
    if isinstance(default, float):
        result = float(value)  # type: ignore[arg-type]
        if math.isinf(result):
            raise InvalidInput(f"{path} must be finite", [FieldError(path, "must be finite")])
        return result
    return value  # type: ignore[return-value]
