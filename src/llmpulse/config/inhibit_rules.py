"""``inhibit_rules`` of an ``AlertRoute``: Alertmanager's inhibition, configured per project.

They sit beside the root route in the ``AlertRoute`` spec, as ``inhibit_rules`` sits beside
``route`` in Alertmanager's configuration::

    spec:
      receiver: oncall
      inhibit_rules:
        - source_matchers: ['severity="critical"']
          target_matchers: ['severity="warning"']
          equal: [service]

A firing alert matching ``source_matchers`` mutes the alerts matching ``target_matchers`` that
have the same values for every label in ``equal`` (`llmpulse.alerts.inhibition`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from llmpulse.alerts.inhibition import InhibitRule
from llmpulse.alerts.matchers import parse_matcher
from llmpulse.config.resources import canonical_matchers, spec_errors
from llmpulse.domain.errors import FieldError, InvalidInput

FIELD = "inhibit_rules"
_LABEL = r"^[A-Za-z_][A-Za-z0-9_]*$"


class InhibitRuleBody(BaseModel):
    """One inhibition rule as written in YAML or sent to the API."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    source_matchers: tuple[str, ...] = Field(min_length=1)
    target_matchers: tuple[str, ...] = Field(min_length=1)
    equal: tuple[str, ...] = ()

    @field_validator("source_matchers", "target_matchers")
    @classmethod
    def _matchers_parse(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return canonical_matchers(value)

    @field_validator("equal")
    @classmethod
    def _labels(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not re.match(_LABEL, name):
                raise ValueError(f"{name!r} is not a label name")
        return value

    def rule(self) -> InhibitRule:
        """The `alerts.inhibition.InhibitRule` of this body."""
        return InhibitRule(
            source_matchers=tuple(parse_matcher(m) for m in self.source_matchers),
            target_matchers=tuple(parse_matcher(m) for m in self.target_matchers),
            equal=self.equal,
        )

    def canonical(self) -> dict[str, Any]:
        """The rule as stored and exported (``equal`` left out when empty)."""
        out: dict[str, Any] = {
            "source_matchers": list(self.source_matchers),
            "target_matchers": list(self.target_matchers),
        }
        if self.equal:
            out["equal"] = list(self.equal)
        return out


def split_spec(spec: Mapping[str, Any]) -> tuple[dict[str, Any], Any]:
    """An AlertRoute spec as (the root route's fields, the raw ``inhibit_rules`` value)."""
    tree = dict(spec)
    return tree, tree.pop(FIELD, None)


def parse_inhibit_rules(value: Any) -> tuple[InhibitRuleBody, ...]:
    """Validate the ``inhibit_rules`` list of an AlertRoute spec.

    Raises:
        InvalidInput: not a list, or a bad rule (``spec.inhibit_rules[0].equal[1]``).
    """
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        msg = "must be a list of rules"
        raise InvalidInput(f"spec.{FIELD}: {msg}", [FieldError(f"spec.{FIELD}", msg)])
    out = []
    for i, item in enumerate(value):
        try:
            out.append(InhibitRuleBody.model_validate(item))
        except ValidationError as err:
            raise spec_errors(err, f"spec.{FIELD}[{i}]") from err
    return tuple(out)


def inhibit_rules_of(spec: Mapping[str, Any]) -> tuple[InhibitRule, ...]:
    """The inhibition rules of a stored AlertRoute spec."""
    return tuple(b.rule() for b in parse_inhibit_rules(spec.get(FIELD)))
