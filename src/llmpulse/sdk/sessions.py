"""Sessions and users as `Client` methods (`SessionsMixin`).

Each list has a ``*_raw`` method returning the server's JSON and a DataFrame method (pandas
needed); the detail calls return JSON (a session's turns, a user's totals and sessions).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from llmpulse.sdk.query_params import project_path, to_time
from llmpulse.sdk.requester import Requester

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]

JsonDict = dict[str, Any]
Sort = Literal["last_seen", "first_seen", "turns", "tokens", "cost", "errors", "feedback"]
Order = Literal["desc", "asc"]


def _params(**values: Any) -> list[tuple[str, str]]:
    out = []
    for k, v in values.items():
        if v is not None:
            out.append((k, to_time(v) if isinstance(v, datetime) else str(v)))
    return out


def _flat(rows: list[JsonDict]) -> list[JsonDict]:
    """Rows with ``feedback`` spread into ``feedback_count`` and ``feedback_mean_score``."""
    out = []
    for r in rows:
        fb = r.get("feedback") or {}
        flat = {k: v for k, v in r.items() if k != "feedback"}
        flat["feedback_count"] = fb.get("count")
        flat["feedback_mean_score"] = fb.get("mean_score")
        out.append(flat)
    return out


class SessionsMixin(Requester):
    """Sessions (spans sharing a ``session.id``) and users (sharing a ``user.id``)."""

    def list_sessions_raw(
        self, project: str, *, sort: Sort = "last_seen", order: Order = "desc",
        user_id: str | None = None, start: datetime | None = None, end: datetime | None = None,
        limit: int = 100,
    ) -> JsonDict:  # fmt: skip
        """``GET …/sessions``: ``{data: [{session_id, user_id, turns, spans, first_seen,
        last_seen, total_tokens, cost_usd, errors, feedback: {count, mean_score}}]}``."""
        params = _params(sort=sort, order=order, user_id=user_id, start=start, end=end,
                         limit=limit)  # fmt: skip
        body: JsonDict = self.request("GET", project_path(project, "sessions"), params=params)
        return body

    def list_sessions(
        self, project: str, *, sort: Sort = "last_seen", order: Order = "desc",
        user_id: str | None = None, start: datetime | None = None, end: datetime | None = None,
        limit: int = 100,
    ) -> pd.DataFrame:  # fmt: skip
        """Sessions as a DataFrame, one row each (feedback as two columns)."""
        import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # lazy: optional

        body = self.list_sessions_raw(project, sort=sort, order=order, user_id=user_id,
                                      start=start, end=end, limit=limit)  # fmt: skip
        return pd.DataFrame(_flat(body["data"]))

    def get_session(self, project: str, session_id: str) -> JsonDict:
        """One session's turns in order: ``{session_id, turns: [{trace_id, span_id, name,
        start_time, input_value, output_value, …}]}``."""
        tail = f"sessions/{quote(session_id, safe='')}"
        body: JsonDict = self.request("GET", project_path(project, tail))
        return body

    def list_users_raw(
        self, project: str, *, sort: Sort = "last_seen", order: Order = "desc",
        start: datetime | None = None, end: datetime | None = None, limit: int = 100,
    ) -> JsonDict:  # fmt: skip
        """``GET …/users``: ``{data: [{user_id, sessions, traces, spans, first_seen, last_seen,
        total_tokens, cost_usd, errors, feedback}]}``."""
        params = _params(sort=sort, order=order, start=start, end=end, limit=limit)
        body: JsonDict = self.request("GET", project_path(project, "users"), params=params)
        return body

    def list_users(
        self, project: str, *, sort: Sort = "last_seen", order: Order = "desc",
        start: datetime | None = None, end: datetime | None = None, limit: int = 100,
    ) -> pd.DataFrame:  # fmt: skip
        """Users as a DataFrame, one row each (feedback as two columns)."""
        import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # lazy: optional

        body = self.list_users_raw(project, sort=sort, order=order, start=start, end=end,
                                   limit=limit)  # fmt: skip
        return pd.DataFrame(_flat(body["data"]))

    def get_user(self, project: str, user_id: str, *, limit: int = 100) -> JsonDict:
        """One user's totals and sessions: ``{user: {…}, sessions: [{…}]}``."""
        tail = f"users/{quote(user_id, safe='')}"
        body: JsonDict = self.request(
            "GET", project_path(project, tail), params=_params(limit=limit)
        )
        return body
