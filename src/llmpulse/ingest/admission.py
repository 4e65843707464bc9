"""`ByteBudget`: the bound on request body bytes held in memory at once.

The span queue (`SpanWriter`) bounds decoded spans awaiting commit; this bounds the bytes of
the requests themselves, from the moment their body is read until their answer is sent, so
that bodies waiting for decode count too. A request that does not fit is refused (503 +
Retry-After over HTTP, UNAVAILABLE over gRPC) before more of its body is read. A body larger
than the whole budget is still taken when nothing else is in flight, so a single body within
the size limits is never refused for ever.

All calls happen on the server's event loop (HTTP handlers and the gRPC aio server share it),
so the counter needs no lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class ByteBudget:
    """Bytes of request bodies in flight, against a limit."""

    limit: int
    in_flight: int = 0
    refused: int = field(default=0)

    def try_reserve(self, n: int) -> bool:
        """Take ``n`` bytes if they fit (or if nothing is in flight); False refuses them."""
        if n <= 0:
            return True
        if self.in_flight > 0 and self.in_flight + n > self.limit:
            self.refused += 1
            return False
        self.in_flight += n
        return True

    def release(self, n: int) -> None:
        """Give back ``n`` bytes taken by `try_reserve`."""
        if n > 0:
            self.in_flight = max(0, self.in_flight - n)

    def retry_after_s(self) -> int:
        """Seconds a refused client should wait: one per budget's worth in flight, 1 to 30."""
        return max(1, min(30, self.in_flight // max(1, self.limit) + 1))
