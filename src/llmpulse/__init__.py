"""llmpulse: self-hostable observability and monitoring for LLM applications.

Public SDK names only; importing ``llmpulse`` stays light (no engines, no web framework).
"""

from llmpulse.sdk.client import Client
from llmpulse.sdk.register import register
from llmpulse.sdk.schema import Schema

__all__ = ["Client", "Schema", "register"]
