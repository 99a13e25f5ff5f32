"""The audit's SQLite store: one row per (repo, sha), committed as each repo finishes.

The `results` table is a contract (the report reads it); `queue` and the `run.*` meta keys belong to
the runner, so a run killed at any moment can be resumed without listing the Hub again.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import UsageError

SCHEMA_VERSION = 1
# Final statuses are never redone for the same sha; a network error is transient by definition, so a
# later run (not a --resume of the same run) tries it again.
RETRYABLE = frozenset({"network_error"})

RESULTS_DDL = """
CREATE TABLE IF NOT EXISTS results(
    repo TEXT NOT NULL,
    sha TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    error TEXT,
    kind TEXT,
    layout TEXT,
    lineage TEXT,
    base TEXT,
    confidence REAL,
    mismatch INTEGER,
    declared_lineage TEXT,
    declared_kind TEXT,
    author TEXT,
    verdict TEXT NOT NULL,
    requests INTEGER,
    bytes INTEGER,
    finished_at TEXT,
    PRIMARY KEY(repo, sha)
)"""
DDL = (
    RESULTS_DDL,
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # The run's work list, with the listing's ModelInfo (as JSON) so --resume needs no listing call.
    "CREATE TABLE IF NOT EXISTS queue(pos INTEGER PRIMARY KEY, repo TEXT NOT NULL UNIQUE, sha TEXT NOT NULL DEFAULT '', "
    "local INTEGER NOT NULL DEFAULT 0, info TEXT)",
)
COLUMNS = ("repo", "sha", "status", "error", "kind", "layout", "lineage", "base", "confidence", "mismatch",
           "declared_lineage", "declared_kind", "author", "verdict", "requests", "bytes", "finished_at")
# The latest row of each repo: history of older shas stays in the table, exports show the present.
LATEST = ("SELECT * FROM results r WHERE rowid = (SELECT rowid FROM results s WHERE s.repo = r.repo "
          "ORDER BY s.finished_at DESC, s.rowid DESC LIMIT 1) ORDER BY repo")


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


@dataclass
class Row:
    repo: str
    sha: str
    status: str
    verdict: dict[str, Any]
    error: str | None = None
    kind: str | None = None
    layout: str | None = None
    lineage: str | None = None
    base: str | None = None
    confidence: float | None = None
    mismatch: bool | None = None
    declared_lineage: str | None = None
    declared_kind: str | None = None
    author: str | None = None
    requests: int = 0
    bytes: int = 0
    finished_at: str = ""

    @classmethod
    def from_verdict(cls, repo: str, sha: str, v: dict[str, Any], *, author: str | None,
                     requests: int | None = None, nbytes: int | None = None) -> Row:
        io_ = v.get("io") or {}
        declared = v.get("declared") or {}
        usable = v.get("status") in ("ok", "no_config", "no_weights_metadata")
        return cls(
            repo=repo, sha=sha, status=v["status"], verdict=v, error=v.get("error"),
            kind=v.get("kind") if usable else None, layout=v.get("layout") if usable else None,
            lineage=v.get("lineage") if usable else None, base=v.get("base"),
            confidence=v.get("confidence") if usable else None, mismatch=bool(v.get("mismatch")) if usable else None,
            declared_lineage=declared.get("lineage"), declared_kind=declared.get("kind"), author=author,
            requests=io_.get("requests", 0) if requests is None else requests,
            bytes=io_.get("bytes", 0) if nbytes is None else nbytes,
            finished_at=now_iso(),
        )

    def values(self) -> tuple:
        return (self.repo, self.sha, self.status, self.error, self.kind, self.layout, self.lineage, self.base,
                self.confidence, None if self.mismatch is None else int(self.mismatch), self.declared_lineage,
                self.declared_kind, self.author, json.dumps(self.verdict), self.requests,
                self.bytes, self.finished_at or now_iso())


class Store:
    """Thread-safe by a lock; the runner writes from one thread anyway."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.lock = threading.Lock()
        try:
            self.db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=30)
            self.db.row_factory = sqlite3.Row
            # WAL: readers (the report, an export) never block the running audit. synchronous=NORMAL
            # keeps every commit across a killed process (only an OS crash could lose the last ones).
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            for stmt in DDL:
                self.db.execute(stmt)
        except sqlite3.DatabaseError as e:
            raise UsageError(f"cannot open the audit database: {e}", where=str(path)) from None
        version = self.get_meta("schema_version")
        if version is None:
            self.set_meta("schema_version", str(SCHEMA_VERSION))
        elif version != str(SCHEMA_VERSION):
            raise UsageError(f"audit database schema_version {version}, this inspector writes {SCHEMA_VERSION}",
                             where=str(path))

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- meta

    def _read(self, sql: str, params: tuple = ()) -> list:
        """A whole read under the lock, its cursor closed: on this shared connection a read still open
        in one thread would make another thread's write upgrade a stale snapshot, which SQLite
        refuses at once ("database is locked") when another process has written meanwhile."""
        with self.lock:
            cur = self.db.execute(sql, params)
            try:
                return cur.fetchall()
            finally:
                cur.close()

    def get_meta(self, key: str) -> str | None:
        rows = self._read("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        # Under the lock: on this shared connection, a write outside it could land inside another
        # thread's open transaction.
        with self.lock:
            self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction under the lock: all of it committed, or none of it."""
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    # ---- results

    def put(self, row: Row) -> None:
        """One transaction per repo: the row, and the end of a sha-less failure it supersedes."""
        with self._transaction():
            if row.sha:
                # A repo once recorded without a sha (not found, network error) now has one: the old
                # row described nothing that still exists.
                self.db.execute("DELETE FROM results WHERE repo = ? AND sha = ''", (row.repo,))
            self.db.execute(f"INSERT OR REPLACE INTO results({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                            row.values())

    def state(self) -> dict[str, list[tuple[str, str, str]]]:
        """repo -> [(sha, status, finished_at)]: what the runner needs to skip finished work."""
        out: dict[str, list[tuple[str, str, str]]] = {}
        for r in self._read("SELECT repo, sha, status, finished_at FROM results"):
            out.setdefault(r[0], []).append((r[1], r[2], r[3] or ""))
        return out

    def rows(self, *, latest: bool = True) -> Iterator[sqlite3.Row]:
        """Streamed, not under the lock (an export may be large): for when no other thread writes."""
        yield from self.db.execute(LATEST if latest else "SELECT * FROM results ORDER BY repo, finished_at")

    def count(self) -> int:
        return self._read("SELECT count(*) FROM results")[0][0]

    def statuses_since(self, finished_at: str) -> dict[str, int]:
        """status -> rows finished at or after that time (a re-audited (repo, sha) replaces its row,
        so counting rows would miss it)."""
        return dict(self._read("SELECT status, count(*) FROM results WHERE finished_at >= ? GROUP BY status", (finished_at,)))

    # ---- queue

    def set_queue(self, items: Iterable[tuple[str, str, bool, str | None]], meta: dict[str, str]) -> None:
        """The work list and the run's meta in one transaction: a kill can never leave one without the other."""
        with self._transaction():
            self.db.execute("DELETE FROM queue")
            self._enqueue(items)
            self.db.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", meta.items())

    def append_queue(self, items: Iterable[tuple[str, str, bool, str | None]]) -> None:
        """More of the work list (a listing still paging); a repo already queued keeps its place."""
        with self._transaction():
            self._enqueue(items)

    def _enqueue(self, items: Iterable[tuple[str, str, bool, str | None]]) -> None:
        self.db.executemany("INSERT OR IGNORE INTO queue(repo, sha, local, info) VALUES (?, ?, ?, ?)",
                            ((r, s, int(loc), info) for r, s, loc, info in items))

    def queue(self) -> list[tuple[str, str, bool, str | None]]:
        return [q[1:] for q in self.queue_after(0)]

    def queue_after(self, pos: int) -> list[tuple[int, str, str, bool, str | None]]:
        """(pos, repo, sha, local, info) of the entries queued after `pos`."""
        rows = self._read("SELECT pos, repo, sha, local, info FROM queue WHERE pos > ? ORDER BY pos", (pos,))
        return [(r[0], r[1], r[2], bool(r[3]), r[4]) for r in rows]

    def queue_end(self) -> int:
        return self._read("SELECT coalesce(max(pos), 0) FROM queue")[0][0]


# ---- merge and export


def merge(out: str | Path, sources: list[str | Path]) -> int:
    """Union of the sources' results; for the same (repo, sha) the later finished row wins."""
    for s in sources:
        if not Path(s).is_file():
            raise UsageError("no such audit database", where=str(s))
    with Store(out) as dst:
        for i, src in enumerate(sources):
            with Store(src):  # validates the schema version before attaching
                pass
            alias = f"src{i}"
            dst.db.execute(f"ATTACH DATABASE ? AS {alias}", (str(src),))
            try:
                cols = ", ".join(COLUMNS)
                with dst._transaction():
                    # `WHERE true` lets SQLite parse the upsert after a SELECT (documented ambiguity).
                    dst.db.execute(
                        f"INSERT INTO results({cols}) SELECT {cols} FROM {alias}.results WHERE true "
                        f"ON CONFLICT(repo, sha) DO UPDATE SET "
                        + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[2:])
                        + " WHERE coalesce(excluded.finished_at, '') > coalesce(results.finished_at, '')")
            finally:
                dst.db.execute(f"DETACH DATABASE {alias}")
        return dst.count()


EXPORT_FORMATS = ("jsonl", "csv", "parquet")


def _flat(v: dict[str, Any]) -> dict[str, Any]:
    """The contract's nested values as JSON text: one scalar per CSV/Parquet cell."""
    return {k: json.dumps(x, sort_keys=True) if isinstance(x, (dict, list)) else x for k, x in v.items()}


def export_records(store: Store) -> Iterator[dict[str, Any]]:
    """A record per repo (its latest row): the inspection's JSON contract, plus where it came from."""
    for r in store.rows():
        v = json.loads(r["verdict"])
        # The audit keys the repo by id and sha even when the inspection failed before reading a sha.
        v.setdefault("revision", None)
        if not v["revision"] and r["sha"] and not r["sha"].startswith("local:"):
            v["revision"] = r["sha"]
        yield v


def export(store: Store, fmt: str, out: io.TextIOBase | str | Path) -> int:
    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"--format must be one of {', '.join(EXPORT_FORMATS)}")
    records = list(export_records(store))
    if fmt == "parquet":
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise UsageError("parquet export needs pyarrow: pip install 'hf-repo-inspector[parquet]'") from None
        if not isinstance(out, (str, Path)):
            raise UsageError("parquet export needs -o FILE")
        pq.write_table(pa.Table.from_pylist([_flat(v) for v in records]), str(out))
        return len(records)
    with contextlib.ExitStack() as stack:
        fh = stack.enter_context(open(out, "w", newline="", encoding="utf-8")) if isinstance(out, (str, Path)) else out
        if fmt == "jsonl":
            for v in records:
                fh.write(json.dumps(v) + "\n")
        else:
            keys: list[str] = []
            for v in records:
                keys.extend(k for k in v if k not in keys)
            w = csv.DictWriter(fh, fieldnames=keys, extrasaction="ignore")
            w.writeheader()
            for v in records:
                w.writerow(_flat(v))
    return len(records)
