"""Explanation records: the immutable facts an explanation leaves behind (issue 13, item 5).

A record says which method explained what (a span or a prediction, plus external record ids
such as a case id), a hash of the inputs it saw, what it produced and which model versions were
involved. Records are chained by hash per project (`llmpulse.analysis.explain.records`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class SubjectKind(StrEnum):
    """What an explanation is about."""

    SPAN = "span"
    PREDICTION = "prediction"
    PROJECT = "project"  # global importance, surrogate fits


@dataclass(frozen=True, slots=True)
class ExplanationDraft:
    """An explanation before it is stored (the service adds id, time and chain link).

    Attributes:
        project: The project.
        subject_kind: Span, prediction or the whole project.
        subject_id: The span id, the prediction id, or the project name.
        method: The method (``shap.client``, ``shap.surrogate``, ``contextcite``, ...).
        inputs_hash: sha256 hex of the canonical JSON of what the method saw.
        outputs: What it produced (JSON-serialisable).
        model_versions: Models involved (``{"model": "v3", "surrogate": "..."}``).
        external_ids: External record ids (``{"case_id": "C-17"}``).
    """

    project: str
    subject_kind: SubjectKind
    subject_id: str
    method: str
    inputs_hash: str
    outputs: Mapping[str, Any]
    model_versions: Mapping[str, str] = field(default_factory=dict)
    external_ids: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ExplanationRecord:
    """A stored explanation record with its place in the project's chain.

    Attributes:
        seq: Position in the store (increasing).
        record_id: Unique id.
        body: The hashed record (every field of the draft plus id, project and time).
        created_at: When it was stored.
        previous_hash: Hash of the project's previous record (64 zeros for the first).
        hash: sha256 hex of previous_hash + canonical JSON of body.
    """

    seq: int
    record_id: str
    body: Mapping[str, Any]
    created_at: datetime
    previous_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """The outcome of verifying a project's chain of records.

    Attributes:
        ok: True when every link holds and the searchable columns agree with the bodies.
        records: How many records were checked.
        head_hash: The hash of the last record (anchor it elsewhere to detect a rewrite).
        first_bad_record: The record id of the first record that fails, or None.
        reason: Why it failed.
    """

    ok: bool
    records: int
    head_hash: str
    first_bad_record: str | None = None
    reason: str = ""
