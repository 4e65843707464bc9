"""`Requester`: what the `Client` mixins rely on (its HTTP client and `Client.request`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx


class Requester:
    """The base of the `Client` mixins; `Client` provides both members."""

    _http: httpx.Client

    if TYPE_CHECKING:

        def request(
            self, method: str, path: str, *, json: object = None, params: Any = None
        ) -> Any: ...
