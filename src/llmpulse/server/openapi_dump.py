"""Write the app's OpenAPI document (``python -m llmpulse.server.openapi_dump PATH``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from llmpulse.server.app import create_app
from llmpulse.server.settings import ServerSettings


def render_openapi() -> str:
    """The OpenAPI document as stable, pretty JSON."""
    app = create_app(ServerSettings(data_dir=None, grpc_port=0))
    return json.dumps(app.openapi(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(render_openapi())
