"""Typed identifiers: one NewType per entity, never a bare str in signatures."""

from typing import NewType

ProjectName = NewType("ProjectName", str)
TraceId = NewType("TraceId", str)  # 32 lowercase hex characters
SpanId = NewType("SpanId", str)  # 16 lowercase hex characters
PredictionId = NewType("PredictionId", str)
AnnotationId = NewType("AnnotationId", str)
