"""Side-by-side benchmark of llmpulse and Arize Phoenix (run by hand, not by CI).

Not part of the product: nothing under ``src/`` imports it. It drives both servers as separate
processes over HTTP only; Phoenix runs from its own venv and is never imported.
"""
