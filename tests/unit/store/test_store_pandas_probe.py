"""The Arrow encoding of span rows in the server: pyarrow's pandas probe."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_server_app_keeps_pandas_out_while_arrow_conversions_still_work() -> None:
    script = textwrap.dedent(
        """
        import sys
        import pyarrow as pa
        from llmpulse.server.app import create_app
        from llmpulse.server.settings import ServerSettings
        create_app(ServerSettings(data_dir=sys.argv[1]))
        pa.array(["text"] * 3, type=pa.string())
        print("pandas" in sys.modules)
        print(type(pa.table({"a": [1, None]}).to_pandas()).__name__)
        import pandas as pd
        print(pa.array(pd.Series([1.0, None])).null_count)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script, "unused-data-dir"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == ["False", "DataFrame", "1"]
