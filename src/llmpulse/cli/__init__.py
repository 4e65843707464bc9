"""The `llmpulse` command line: top layer; may import every package. Entry: `main.main`."""
