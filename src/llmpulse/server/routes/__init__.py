"""One module per resource; each handler parses, calls one service, maps the result."""
