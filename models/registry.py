"""The model registry: versioned detector configurations and trained models in PostgreSQL.

Why a table and not files: the stream workers, the app and ``netvigil models ...``
already share the database, a promotion must be atomic (one production version per
family, enforced by a partial unique index) and audited, and a worker must find the
new version without a restart (``models.registry_watch.RegistryWatcher``).

A *family* is the name a worker asks for: ``"online"`` carries the stream detector's
hyperparameters (``params``: ``{"detector": NAME, "overrides": {...}}``, no artefact);
series families (``"cpu"``, ``"interface"``, ...) carry scikit-learn models as
``artefact`` bytes plus their metrics.

Trust boundary: artefacts are pickles (joblib), and unpickling runs code.  They are
only ever loaded from this table, which only the writer role (``postgres.dsn``) can
write: the app's read-only role has SELECT only (migration 0004).  Never register an
artefact from a file or a source you did not produce, and never load one from
anywhere else.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

log = logging.getLogger(__name__)

ONLINE_FAMILY = "online"
MODELS_CHANNEL = "netvigil:models"  # Redis pub/sub channel announcing promotions
STAGES = ("candidate", "production", "archived")
_LOCK_NAMESPACE = 74_310  # advisory-lock key space of the registry (db.py uses 74201)


class RegistryError(LookupError):
    """A family/version that does not exist, or a stage change that is not allowed."""


@dataclass(frozen=True)
class ModelVersion:
    """One registry row; ``artefact`` is None when not loaded (listings) or absent."""

    family: str
    version: int
    algorithm: str
    params: dict[str, Any]
    metrics: dict[str, Any]
    stage: str
    created_by: str
    created_at: datetime
    promoted_at: datetime | None
    artefact_bytes: int
    artefact: bytes | None = None

    def summary(self) -> dict[str, Any]:
        """JSON-friendly view without the artefact (for ``versions --json`` and tables)."""
        return {
            "family": self.family,
            "version": self.version,
            "algorithm": self.algorithm,
            "stage": self.stage,
            "params": self.params,
            "metrics": self.metrics,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "promoted_at": self.promoted_at.isoformat() if self.promoted_at else None,
            "artefact_bytes": self.artefact_bytes,
        }


_COLUMNS = (
    "family, version, algorithm, params, metrics, stage, created_by, created_at,"
    " promoted_at, coalesce(octet_length(artefact), 0)"
)


def _row(row: tuple[Any, ...], artefact: bytes | None = None) -> ModelVersion:
    return ModelVersion(
        family=row[0],
        version=int(row[1]),
        algorithm=row[2],
        params=dict(row[3] or {}),
        metrics=dict(row[4] or {}),
        stage=row[5],
        created_by=row[6],
        created_at=row[7],
        promoted_at=row[8],
        artefact_bytes=int(row[9]),
        artefact=artefact,
    )


def _lock_family(conn: psycopg.Connection, family: str) -> None:
    """Serialise registry writes of one family until the transaction ends."""
    conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_LOCK_NAMESPACE, family))


def register(
    conn: psycopg.Connection,
    family: str,
    algorithm: str,
    params: dict[str, Any],
    metrics: dict[str, Any],
    artefact: bytes | None,
    created_by: str,
) -> int:
    """Add a ``candidate`` version; returns its number (1 + the family's highest).

    Race-safe: concurrent registrations of one family are serialised by a
    transaction-scoped advisory lock, so two writers never compute the same number
    (and UNIQUE (family, version) would refuse it if they did).  Committed on return,
    unless the caller has a transaction open: then it is a savepoint in it, committed
    (or rolled back) with it.  The same holds for ``promote``.
    """
    if not family:
        raise RegistryError("family must not be empty")
    with conn.transaction():
        _lock_family(conn, family)
        row = conn.execute(
            "INSERT INTO model_registry (family, version, algorithm, params, metrics, artefact,"
            " stage, created_by)"
            " SELECT %s, coalesce(max(version), 0) + 1, %s, %s, %s, %s, 'candidate', %s"
            " FROM model_registry WHERE family = %s RETURNING version",
            (
                family,
                algorithm,
                Jsonb(_jsonable(params)),
                Jsonb(_jsonable(metrics)),
                artefact,
                created_by,
                family,
            ),
        ).fetchone()
    assert row is not None  # INSERT ... SELECT of an aggregate always yields one row
    version = int(row[0])
    log.info("registered %s v%d (%s) by %s", family, version, algorithm, created_by)
    return version


def promote(conn: psycopg.Connection, family: str, version: int, actor: str) -> int | None:
    """Make ``version`` the production one; the previous production is archived.

    Returns the previous production version (None if there was none, or if
    ``version`` already was production, in which case nothing changes).  The
    change and its ``app_audit`` row are one transaction.  Raises ``RegistryError``
    for an unknown version.  Announcing it on Redis is ``models.registry_watch.notify``.
    """
    with conn.transaction():
        _lock_family(conn, family)
        row = conn.execute(
            "SELECT stage FROM model_registry WHERE family = %s AND version = %s FOR UPDATE",
            (family, version),
        ).fetchone()
        if row is None:
            raise RegistryError(f"no model {family!r} version {version}")
        if row[0] == "production":
            return None
        prev = conn.execute(
            "UPDATE model_registry SET stage = 'archived' WHERE family = %s AND stage = 'production'"
            " RETURNING version",
            (family,),
        ).fetchall()
        conn.execute(
            "UPDATE model_registry SET stage = 'production', promoted_at = now()"
            " WHERE family = %s AND version = %s",
            (family, version),
        )
        previous = [int(r[0]) for r in prev]
        conn.execute(
            "INSERT INTO app_audit (actor, action, detail) VALUES (%s, 'promote', %s)",
            (actor, Jsonb({"family": family, "version": version, "previous": previous})),
        )
    log.info("promoted %s v%d (previous: %s) by %s", family, version, previous or "none", actor)
    return previous[0] if previous else None


def get(conn: psycopg.Connection, family: str, version: int, *, artefact: bool = True) -> ModelVersion:
    """One version (with its artefact unless ``artefact=False``); ``RegistryError`` if absent."""
    row = conn.execute(
        f"SELECT {_COLUMNS}, {'artefact' if artefact else 'NULL'} FROM model_registry"
        " WHERE family = %s AND version = %s",
        (family, version),
    ).fetchone()
    if row is None:
        raise RegistryError(f"no model {family!r} version {version}")
    return _row(row[:-1], bytes(row[-1]) if row[-1] is not None else None)


def production(conn: psycopg.Connection, family: str) -> ModelVersion | None:
    """The family's production version with its artefact, or None."""
    row = conn.execute(
        f"SELECT {_COLUMNS}, artefact FROM model_registry WHERE family = %s AND stage = 'production'",
        (family,),
    ).fetchone()
    if row is None:
        return None
    return _row(row[:-1], bytes(row[-1]) if row[-1] is not None else None)


def list_versions(conn: psycopg.Connection, family: str | None = None) -> list[ModelVersion]:
    """Every version (artefacts not loaded), by family then newest first."""
    where, args = ("WHERE family = %s", (family,)) if family else ("", ())
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM model_registry {where} ORDER BY family, version DESC", args
    ).fetchall()
    return [_row(r) for r in rows]


def production_versions(conn: psycopg.Connection) -> dict[str, int]:
    """family -> production version: the cheap query a watcher polls."""
    rows = conn.execute("SELECT family, version FROM model_registry WHERE stage = 'production'").fetchall()
    return {str(f): int(v) for f, v in rows}


def _jsonable(value: dict[str, Any]) -> dict[str, Any]:
    """Plain JSON: numpy scalars become numbers, tuples lists, NaN/inf null (JSON has none)."""
    out: dict[str, Any] = json.loads(json.dumps(_clean(value), default=_default, allow_nan=False))
    return out


def _clean(obj: Any) -> Any:
    if hasattr(obj, "item") and not isinstance(obj, dict | list | tuple):  # numpy scalar
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [_clean(v) for v in obj]
    return obj


def _default(obj: Any) -> Any:
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


__all__ = [
    "MODELS_CHANNEL",
    "ONLINE_FAMILY",
    "STAGES",
    "ModelVersion",
    "RegistryError",
    "get",
    "list_versions",
    "production",
    "production_versions",
    "promote",
    "register",
]
