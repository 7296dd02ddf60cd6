"""The sweep store: one SQLite file (WAL) in the output folder, one row per point.

``plan`` holds every point of the sweep (written before any work, so ``status`` knows what is
pending); ``results`` one row per finished point, keyed by the point's hash and written once,
in its own transaction, by the driver only. A point that raised is a ``failed`` row with its
error; a re-run skips ``done`` rows and retries ``failed`` ones in place, so a key never
appears twice. A killed driver loses at most the points it had not committed yet.

Columns added since the first schema (a store made before them gains them, empty, when a
sweep next runs in it): ``plan.choice`` (the axis values of the point, JSON), the cost-model
features (:data:`~hwsim.sweep.spec.COST_METRICS`), ``results.violation`` (why the point
breaks the sweep's constraints; NULL when it meets them), and for RTL unit sweeps the unit's
other targets (:data:`UNIT_ONLY`) and its dataset record (``record``, JSON).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from hwsim.errors import HwsimError
from hwsim.sweep.spec import COST_METRICS, METRICS, UNIT_METRICS, Point

#: unit-sweep metrics without a column of their own above
UNIT_ONLY = tuple(m for m in UNIT_METRICS if m not in COST_METRICS)
DB_NAME = "sweep.db"
SPEC_NAME = "sweep.yaml"

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS plan (key TEXT PRIMARY KEY, params TEXT NOT NULL, choice TEXT);
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
    error TEXT,
    params TEXT NOT NULL,
    {", ".join(f"{m} NUMERIC" for m in METRICS)},
    energy_pj TEXT,
    wall_s REAL,
    version TEXT NOT NULL,
    {", ".join(f"{m} NUMERIC" for m in COST_METRICS)},
    violation TEXT,
    {", ".join(f"{m} NUMERIC" for m in UNIT_ONLY)},
    record TEXT
);
"""
#: columns added after the first schema: table -> (column, type)
_ADDED = {"plan": (("choice", "TEXT"),),
          "results": (*((m, "NUMERIC") for m in COST_METRICS), ("violation", "TEXT"),
                      *((m, "NUMERIC") for m in UNIT_ONLY), ("record", "TEXT"))}
#: what record() writes
_COLUMNS = ("key", "status", "error", "params", *METRICS, "energy_pj", "wall_s", "version",
            *COST_METRICS, "violation", *UNIT_ONLY, "record")


class Store:
    """The SQLite file of one sweep folder."""

    def __init__(self, folder: str | Path, *, create: bool = False) -> None:
        self.folder = Path(folder)
        path = self.folder / DB_NAME
        if not create and not path.is_file():
            raise HwsimError(f"{str(self.folder)!r} holds no sweep store ({DB_NAME}); run "
                             "'hwsim sweep FILE -o DIR' first")
        try:
            self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            if create:
                self.db.executescript(_SCHEMA)
                self._add_columns()
            self.db.execute("SELECT 1 FROM plan, results LIMIT 1").fetchall()
        except sqlite3.DatabaseError as exc:
            raise HwsimError(f"{str(path)!r} is not a sweep store: {exc}") from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _add_columns(self) -> None:
        with self._transaction():
            for table, columns in _ADDED.items():
                have = {r[1] for r in self.db.execute(f"PRAGMA table_info({table})")}
                for name, typ in columns:
                    if name not in have:
                        self.db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {typ}")

    def add_plan(self, points: list[Point]) -> None:
        with self._transaction():
            self.db.executemany(
                "INSERT OR IGNORE INTO plan (key, params, choice) VALUES (?, ?, ?)",
                [(p.key, json.dumps(p.canonical, sort_keys=True),
                  json.dumps(p.choice, sort_keys=True) if p.choice is not None else None)
                 for p in points])

    def done_keys(self) -> set[str]:
        return {k for (k,) in self.db.execute("SELECT key FROM results WHERE status='done'")}

    def finished(self) -> list[dict[str, Any]]:
        """Every result row with its plan's ``choice`` (decoded; None if not recorded)."""
        cur = self.db.execute("SELECT r.*, p.choice AS choice FROM results r "
                              "LEFT JOIN plan p ON p.key = r.key ORDER BY r.rowid")
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur]
        for r in rows:
            r["choice"] = json.loads(r["choice"]) if r["choice"] else None
        return rows

    def record(self, key: str, params: dict[str, Any], outcome: dict[str, Any],
               version: str) -> None:
        """Write one finished point (``outcome``: status, error, metrics) in one transaction;
        a ``done`` row is never replaced."""
        cols = _COLUMNS
        energy = outcome.get("energy_pj")
        metrics = outcome.get("metrics", {})
        row = [key, outcome["status"], outcome.get("error"), json.dumps(params, sort_keys=True),
               *(metrics.get(m) for m in METRICS),
               json.dumps(energy, sort_keys=True) if energy is not None else None,
               outcome.get("wall_s"), version, *(metrics.get(m) for m in COST_METRICS),
               outcome.get("violation"), *(metrics.get(m) for m in UNIT_ONLY),
               json.dumps(outcome["record"]) if "record" in outcome else None]
        updates = ", ".join(f"{c}=excluded.{c}" for c in cols[1:])
        with self._transaction():
            self.db.execute(
                f"INSERT INTO results ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
                f"ON CONFLICT(key) DO UPDATE SET {updates} WHERE results.status='failed'", row)

    def status(self) -> dict[str, int]:
        done, failed = (self.db.execute(
            "SELECT COUNT(*) FROM results WHERE status=?", (s,)).fetchone()[0]
            for s in ("done", "failed"))
        pending = self.db.execute(
            "SELECT COUNT(*) FROM plan WHERE key NOT IN (SELECT key FROM results)").fetchone()[0]
        return {"done": done, "failed": failed, "pending": pending}

    def frame(self):
        """Every result row as a pandas DataFrame (params stays a JSON column)."""
        import pandas as pd

        return pd.read_sql_query("SELECT * FROM results ORDER BY key", self.db)

    def _transaction(self):
        return _Transaction(self.db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")


def dataset_frame(folder: str | Path) -> Any:
    """The cost-model dataset table (``designs.csv``'s rows) of a unit sweep's finished
    designs (:func:`costmodel.dataset.records_frame`)."""
    from costmodel.dataset import records_frame

    with Store(folder) as store:
        recs = [json.loads(r) for (r,) in store.db.execute(
            "SELECT record FROM results WHERE status='done' AND record IS NOT NULL")]
    if not recs:
        raise HwsimError(f"{str(folder)!r} holds no finished unit designs")
    return records_frame(recs)


def export(folder: str | Path, out: str | Path) -> Path:
    """Write the store's results to ``out`` (``.parquet`` or ``.csv``) atomically."""
    import io

    from hwsim.io import atomic_write_bytes

    out = Path(out)
    if out.suffix not in (".parquet", ".csv"):
        raise HwsimError(f"export file {str(out)!r} must end in .parquet or .csv")
    with Store(folder) as store:
        df = store.frame()
    buf = io.BytesIO()
    if out.suffix == ".parquet":
        df.to_parquet(buf, engine="pyarrow", index=False)
    else:
        df.to_csv(buf, index=False)
    return atomic_write_bytes(out, buf.getvalue())
