"""SLOs as configuration objects: ``kind: SLO`` rows of the generic store live in ``slos``.

`SqlConfigStore` hands every read and write of kind ``SLO`` here, so ``llmpulse apply`` and
``export`` see the same SLOs as `SloService` (one table, one truth). The ``slos`` table keeps
the whole ``llmpulse/v1`` manifest; the config store speaks of its ``spec`` only, so this
module wraps and unwraps the envelope. Writes stay optimistic (``before`` must match) and get
their audit row from the caller, in the caller's transaction.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Select, delete, insert, select, update

from llmpulse.store.config_api import ObjectWrite, StoredObject
from llmpulse.store.state.tables import slos

SLO_KIND = "SLO"
_API_VERSION = "llmpulse/v1"


def _spec_text(manifest_json: str) -> str:
    """The canonical JSON of a stored manifest's ``spec`` (as `Resource.spec_json` writes it)."""
    spec = json.loads(manifest_json).get("spec", {})
    return json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _manifest_text(project: str, name: str, spec_json: str) -> str:
    """The stored form `SloService` reads: the whole manifest, keys sorted (its `canonical`)."""
    manifest = {
        "apiVersion": _API_VERSION,
        "kind": SLO_KIND,
        "metadata": {"name": name, "project": project},
        "spec": json.loads(spec_json),
    }
    return orjson.dumps(manifest, option=orjson.OPT_SORT_KEYS).decode()


def _object(row: Any) -> StoredObject:
    return StoredObject(
        SLO_KIND, row.project, row.name, _spec_text(row.spec), row.created_at, row.updated_at,
        "",
    )  # fmt: skip


def select_slos(project: str | None) -> Select[Any]:
    """Every SLO row (of one project when given), by project and name."""
    q = select(slos).order_by(slos.c.project, slos.c.name)
    return q if project is None else q.where(slos.c.project == project)


def list_slo_objects(conn: Connection, project: str | None) -> list[StoredObject]:
    """Every SLO (of one project when given), by project and name."""
    return [_object(r) for r in conn.execute(select_slos(project)).all()]


def get_slo_object(conn: Connection, project: str, name: str) -> StoredObject | None:
    """One SLO, or None."""
    row = conn.execute(select(slos).where(slos.c.project == project, slos.c.name == name)).first()
    return None if row is None else _object(row)


def write_slo(conn: Connection, w: ObjectWrite, now: datetime) -> None:
    """Create, replace or delete one SLO (409 when it changed since it was planned).

    Raises:
        Conflict: the stored SLO is not ``w.before``.
    """
    old = get_slo_object(conn, w.project, w.name)
    w.check_planned(None if old is None else old.spec)
    key = (slos.c.project == w.project, slos.c.name == w.name)
    if w.after is None:
        conn.execute(delete(slos).where(*key))
        return
    body = _manifest_text(w.project, w.name, w.after)
    if old is None:
        conn.execute(
            insert(slos).values(
                project=w.project, name=w.name, spec=body, created_at=now, updated_at=now
            )
        )
    else:
        conn.execute(update(slos).where(*key).values(spec=body, updated_at=now))
