"""The traces table's search over HTTP at 1M spans, uncached (issue 14, ADR 0051).

Usage: ``.venv/bin/python benchmarks/search_http.py FILE [--runs 10] [--first 0]``

``FILE`` is a span file `search.py` loaded (``search.py --save FILE``). The script copies it
into a new data directory, starts ``llmpulse serve`` on it (the search index is rebuilt
behind ingest if the file has none), sends one span so that the project is registered,
waits ``--settle`` seconds (60) for the index to catch up, then times over one keep-alive
connection, with a new word every run (so no cache answers):

* REST ``GET …/spans?q=WORD&fields=summary&total=true&total_limit=1000``: what the table
  shows (summary rows, each with the excerpt of where it matched, and the count the table
  stops at 1,000);
* the UI's traces page with the search (``/ui/projects/…/traces?q=WORD&all=1``);

for a rare word (in 40 spans) and a common one (~1 % of the spans). Every answer is checked:
each row's excerpt holds the word. Prints medians and maxima; the machine is shared.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from search import P, _rare, _vocabulary
from support.otlp import make_request, make_span

PORT = 7617


def _serve(data: Path) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).with_name("llmpulse")
    return subprocess.Popen(
        [str(exe), "serve", "--data-dir", str(data), "--port", str(PORT), "--grpc-port", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _ready(c: httpx.Client) -> None:
    for _ in range(600):
        try:
            if c.get("/api/v1/projects").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise SystemExit("the server did not start")


def _register(c: httpx.Client) -> None:
    """One span into the project, so that the server knows it (the file has no state)."""
    span = make_span("register", start_ns=1_762_560_000_000_000_000, duration_ns=1_000_000)
    r = c.post(
        "/v1/traces",
        content=make_request([span], P).SerializeToString(),
        headers={"content-type": "application/x-protobuf"},
    )
    r.raise_for_status()


def _settle(c: httpx.Client, seconds: float) -> None:
    """Give the search index time to catch up behind the load (1M spans: ~35 CPU-s when it
    has to be built; a file a store opened before holds it already)."""
    r = c.get(f"/api/v1/projects/{P}/spans", params={"q": _rare(39), "limit": 1})
    r.raise_for_status()
    time.sleep(seconds)


def main() -> None:
    """Copy the file, serve it, time the searches, stop the server."""
    parser = argparse.ArgumentParser()
    parser.add_argument("file", type=Path)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--first", type=int, default=0, help="first rare word (< 40 - 2 runs)")
    parser.add_argument("--settle", type=float, default=60.0, help="seconds before timing")
    args = parser.parse_args()
    if args.first + 2 * args.runs > 40:
        parser.error("--first plus twice --runs must be at most 40: the file holds 40 rare words")
    vocab = _vocabulary(np.random.default_rng(7))
    rng = np.random.default_rng(100 + args.first)
    commons = [vocab[int(i)] for i in rng.choice(np.arange(300, 800), 2 * args.runs, False)]
    with tempfile.TemporaryDirectory(dir=args.file.parent) as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        shutil.copyfile(args.file, data / "events.duckdb")
        server = _serve(data)
        times: dict[str, list[float]] = {}
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{PORT}", timeout=120) as c:
                _ready(c)
                _register(c)
                _settle(c, args.settle)
                for i in range(args.runs):
                    _run(c, times, _rare(args.first + i), commons[i], args.runs)
                    _run(c, times, _rare(args.first + args.runs + i), commons[args.runs + i], 0)
        finally:
            server.terminate()
            server.wait(60)
    for label, t in times.items():
        print(f"{label:<32} median {statistics.median(t):7.1f} ms, max {max(t):7.1f} ms")


def _run(c: httpx.Client, times: dict[str, list[float]], rare: str, common: str, rest: int) -> None:
    """Time one word of each kind: through REST when ``rest``, else through the UI page."""
    for kind, word in (("rare", rare), ("common", common)):
        if rest:
            label = f"{kind}: REST summary page + count"
            params = {"q": word.upper(), "fields": "summary", "total": "true", "total_limit": 1000}
            began = time.perf_counter()
            r = c.get(f"/api/v1/projects/{P}/spans", params=params)
        else:
            label = f"{kind}: UI traces page"
            began = time.perf_counter()
            r = c.get(f"/ui/projects/{P}/traces", params={"q": word.upper(), "all": "1"})
        times.setdefault(label, []).append((time.perf_counter() - began) * 1000)
        r.raise_for_status()
        if rest:
            rows = r.json()["data"]
            assert rows, word
            assert all(word in row["match"] for row in rows), word
        else:
            assert 'mark class="hit"' in r.text, word


if __name__ == "__main__":
    main()
