"""The audit's SQLite store: one row per (repo, sha), committed as each repo finishes.

The `results` table is a contract (the report reads it); `queue`, `inflight` and the `run.*` meta keys
belong to the runner, so a run killed at any moment -- or taken down by one repo's parse -- can be
resumed without listing the Hub again and without losing or endlessly retrying a repo.

Every SQLite failure leaves here as one `StoreError` line (disk full, a corrupted page, a locked file);
readers (report, export, merge sources) open the file read-only and never create it.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import StoreError, UsageError
from .inert import json_safe
from .status import RETRYABLE, Status, is_usable

__all__ = ["RETRYABLE", "Row", "Store", "Status", "merge", "now_iso"]

SCHEMA_VERSION = 1
UNKNOWN = "unknown"

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
    declared_model_type TEXT,
    vocab INTEGER,
    downloads INTEGER,
    likes INTEGER,
    created_at TEXT,
    last_modified TEXT,
    traits TEXT,
    PRIMARY KEY(repo, sha)
)"""
# The Hub listing's fields and the traits' values (compact JSON), for the study (inspector/study.py).
STUDY_COLUMNS = (("downloads", "INTEGER"), ("likes", "INTEGER"), ("created_at", "TEXT"), ("last_modified", "TEXT"),
                 ("traits", "TEXT"))
# The study reads them with the repo by this index alone (they sit after the verdict, on overflow pages).
STUDY_INDEX = ("CREATE INDEX IF NOT EXISTS results_study ON results(repo, downloads, likes, created_at, last_modified, "
               "traits)")
# Added after the first release: an older database gains them (NULL: the report reads the verdict).
ADDED_COLUMNS = (("declared_model_type", "TEXT"), ("vocab", "INTEGER"), *STUDY_COLUMNS)
# Every column the report groups by, in one index: "newest row per repo" walks it by (repo,
# finished_at), and the report's counts read it alone, never the verdict JSON that makes a row ~5 kB
# (the columns after it sit on overflow pages).
REPORT_INDEX = ("CREATE INDEX IF NOT EXISTS results_report ON results(repo, finished_at, status, kind, layout, lineage, "
                "confidence, mismatch, declared_lineage, declared_kind, declared_model_type, vocab, author, sha)")
DDL = (
    RESULTS_DDL,
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # The run's work list, with the listing's RepoInfo (as JSON) so --resume needs no listing call.
    "CREATE TABLE IF NOT EXISTS queue(pos INTEGER PRIMARY KEY, repo TEXT NOT NULL UNIQUE, sha TEXT NOT NULL DEFAULT '', "
    "local INTEGER NOT NULL DEFAULT 0, info TEXT)",
    # Repos being read right now, by which process, and how many processes died reading each: a repo
    # whose parse kills the interpreter is found here by the next run, not retried forever.
    "CREATE TABLE IF NOT EXISTS inflight(repo TEXT PRIMARY KEY, pid INTEGER, attempts INTEGER NOT NULL DEFAULT 0, "
    "started_at TEXT)",
)
COLUMNS = ("repo", "sha", "status", "error", "kind", "layout", "lineage", "base", "confidence", "mismatch",
           "declared_lineage", "declared_kind", "author", "verdict", "requests", "bytes", "finished_at",
           "declared_model_type", "vocab", "downloads", "likes", "created_at", "last_modified", "traits")
# One home for "the newest row of each repo": history of older shas stays in the table, every reader
# (summary, export, report) sees the present. The subquery walks the primary key's index.
LATEST_WHERE = ("rowid = (SELECT s.rowid FROM results s WHERE s.repo = results.repo "
                "ORDER BY s.finished_at DESC, s.rowid DESC LIMIT 1)")
# A repo's process is asked to die this many times before its repo is recorded as the cause.
CRASH_ATTEMPTS = 2
VOCAB_RE = re.compile(r"\bvocab_size\s*[=:]\s*(\d{1,9})\b")


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _str(v: Any, default: str | None = None) -> str | None:
    """A stored value as text (hostile rows may hold any SQLite type), or the default for null/empty."""
    if v is None or v == "":
        return default
    if isinstance(v, bytes):
        return v.decode("utf-8", "backslashreplace")
    return v if isinstance(v, str) else str(v)


def _float(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError, OverflowError):
        return None
    return f if math.isfinite(f) else None


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def vocab_of(verdict: dict[str, Any]) -> int | None:
    """The vocabulary size a verdict shows: a fact if it carries one, else an evidence's observed value."""
    facts = verdict.get("facts") if isinstance(verdict.get("facts"), dict) else {}
    for holder in (verdict, facts):
        v = holder.get("vocab_size")
        if isinstance(v, int) and not isinstance(v, bool) and v > 0:
            return v
    ev = verdict.get("evidence")
    for e in ev if isinstance(ev, list) else ():
        m = VOCAB_RE.search(str(e.get("observed", ""))) if isinstance(e, dict) else None
        if m:
            return int(m.group(1))
    return None


def trait_values(verdict: dict[str, Any]) -> str | None:
    """The traits' values as compact JSON (`{"attention": "GQA", "moe": "MoE", ...}`) plus the few
    numbers a trend needs (context, vocabulary size, experts); None for a verdict without traits."""
    traits = verdict.get("traits")
    if not isinstance(traits, dict) or not traits:
        return None
    out: dict[str, Any] = {}
    for name, t in traits.items():
        if isinstance(t, dict) and isinstance(name, str):
            out[name] = str(t.get("value", UNKNOWN))[:60]
            d = t.get("details") if isinstance(t.get("details"), dict) else {}
            for k in TREND_DETAILS.get(name, ()):
                if isinstance(d.get(k), (int, float)) and not isinstance(d.get(k), bool):
                    out[f"{name}.{k}"] = d[k]
    return json.dumps(out, separators=(",", ":"), sort_keys=True) if out else None


# Numbers kept beside the trait values for the study's medians over time.
TREND_DETAILS = {"context": ("max_positions",), "vocab": ("vocab_size",), "moe": ("experts",),
                 "params": ("total", "active")}


def load_verdict(text: Any) -> dict[str, Any] | None:
    """A stored verdict, or None when it is not a JSON object (a broken or foreign row)."""
    try:
        v = json.loads(text) if isinstance(text, (str, bytes)) else None
    except (ValueError, RecursionError):
        return None
    return v if isinstance(v, dict) else None


def dump_verdict(v: dict[str, Any]) -> str:
    """Compact JSON (no spaces): the verdict is most of a row's bytes. ASCII: a lone surrogate from a
    repo stays in it losslessly as an escape (SQLite text must be UTF-8)."""
    return json.dumps(v, separators=(",", ":"), default=str)


@dataclass
class Row:
    """One audited (repo, sha): the store's columns and the full verdict. The one row type: the runner
    writes it, the summary, export and report read it back (`from_record`, which trusts nothing)."""

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
    declared_model_type: str | None = None
    vocab: int | None = None
    downloads: int | None = None
    likes: int | None = None
    created_at: str | None = None
    last_modified: str | None = None
    traits: str | None = None  # {"attention": "GQA", ...}: the values of verdict["traits"]

    @property
    def usable(self) -> bool:
        return is_usable(self.status)

    @property
    def local(self) -> bool:
        return self.verdict.get("source") == "local" or self.sha.startswith("local:")

    @classmethod
    def from_verdict(cls, repo: str, sha: str, v: dict[str, Any], *, author: str | None,
                     requests: int | None = None, nbytes: int | None = None,
                     listing: dict[str, Any] | None = None) -> Row:
        io_ = v.get("io") or {}
        declared = v.get("declared") or {}
        lst = listing or {}
        usable = is_usable(v.get("status"))
        return cls(
            repo=repo, sha=sha, status=str(v["status"]), verdict=v, error=v.get("error"),
            kind=v.get("kind") if usable else None, layout=v.get("layout") if usable else None,
            lineage=v.get("lineage") if usable else None, base=v.get("base"),
            confidence=v.get("confidence") if usable else None, mismatch=bool(v.get("mismatch")) if usable else None,
            declared_lineage=declared.get("lineage"), declared_kind=declared.get("kind"), author=author,
            requests=io_.get("requests", 0) if requests is None else requests,
            bytes=io_.get("bytes", 0) if nbytes is None else nbytes,
            # '' and 0: looked for, found none (NULL is a row from before these columns existed).
            finished_at=now_iso(), declared_model_type=_str(declared.get("model_type"), ""), vocab=vocab_of(v) or 0,
            downloads=_int(lst.get("downloads")), likes=_int(lst.get("likes")), created_at=_str(lst.get("createdAt")),
            last_modified=_str(lst.get("lastModified")), traits=trait_values(v) if usable else None,
        )

    @classmethod
    def from_record(cls, rec: sqlite3.Row | dict[str, Any], *, with_verdict: bool = True) -> Row:
        """A stored row, whatever it holds: a column that is null, of another type or absent falls back
        to the verdict JSON, and a verdict that is not JSON costs that JSON only (status and columns
        still count). Strings are returned as stored: renderers make them inert."""
        d = rec if isinstance(rec, dict) else dict(zip(rec.keys(), rec, strict=True))
        c = d.get

        verdict = (load_verdict(c("verdict")) if with_verdict else None) or {}
        declared = verdict.get("declared") if isinstance(verdict.get("declared"), dict) else {}

        def col(name: str, fallback: Any = None) -> Any:
            v = c(name)
            return fallback if v is None else v

        status = _str(col("status", verdict.get("status")), UNKNOWN) or UNKNOWN
        mismatch = col("mismatch", verdict.get("mismatch"))
        vocab = _int(c("vocab"))
        return cls(
            repo=_str(c("repo"), "") or "", sha=_str(c("sha"), "") or "", status=status, verdict=verdict,
            error=_str(col("error", verdict.get("error"))),
            kind=_str(col("kind", verdict.get("kind")), UNKNOWN), layout=_str(col("layout", verdict.get("layout")), UNKNOWN),
            lineage=_str(col("lineage", verdict.get("lineage")), UNKNOWN), base=_str(col("base", verdict.get("base"))),
            confidence=_float(col("confidence", verdict.get("confidence"))),
            mismatch=mismatch.lower() in ("1", "true") if isinstance(mismatch, str) else bool(mismatch),
            declared_lineage=_str(col("declared_lineage", declared.get("lineage"))),
            declared_kind=_str(col("declared_kind", declared.get("kind"))),
            author=_str(c("author")), requests=_int(c("requests")) or 0, bytes=_int(c("bytes")) or 0,
            finished_at=_str(c("finished_at"), "") or "",
            declared_model_type=_str(col("declared_model_type", declared.get("model_type"))),
            vocab=vocab if vocab is not None else (vocab_of(verdict) if verdict else None),
            downloads=_int(c("downloads")), likes=_int(c("likes")), created_at=_str(c("created_at")),
            last_modified=_str(c("last_modified")), traits=_str(c("traits")),
        )

    def record(self) -> dict[str, Any]:
        """The inspection's JSON contract for this row: every key of a verdict, even when the stored
        JSON is broken, and the revision the audit keyed it by."""
        from .verdict import Verdict

        base = Verdict(target=self.repo, status=self.status, error=self.error).to_dict()
        v = {**base, **self.verdict} if self.verdict else {
            **base, "error": self.error or "the stored verdict is not readable JSON"}
        if not v.get("revision") and self.sha and not self.sha.startswith("local:"):
            v["revision"] = self.sha
        return v

    def values(self) -> tuple:
        """The row as SQL parameters; a text column holding what UTF-8 cannot (a lone surrogate from a
        repo) keeps it escaped, so one bad string never costs the row."""
        t = _utf8
        return (t(self.repo), t(self.sha), t(self.status), t(self.error), t(self.kind), t(self.layout),
                t(self.lineage), t(self.base), self.confidence, None if self.mismatch is None else int(self.mismatch),
                t(self.declared_lineage), t(self.declared_kind), t(self.author), dump_verdict(self.verdict),
                self.requests, self.bytes, self.finished_at or now_iso(), t(self.declared_model_type), self.vocab,
                self.downloads, self.likes, t(self.created_at), t(self.last_modified), t(self.traits))


def _utf8(v: Any) -> Any:
    return json_safe(v) if isinstance(v, str) else v


def _decode(b: bytes) -> str:
    return b.decode("utf-8", "backslashreplace")


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's live process
    return True


@dataclass(frozen=True)
class _Journal:
    db: sqlite3.Connection
    lock: threading.Lock  # held while it writes: close() waits for it


class Store:
    """The audit database. Thread-safe by a lock; the runner writes from one thread anyway.

    `readonly=True` opens an existing file without ever writing it (the report, export, merge
    sources); a missing file is a one-line error, never a new empty database.
    """

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self.lock = threading.Lock()
        self._claim_fd: int | None = None
        self._put_trigger = False
        self._local = threading.local()  # each worker thread's journal connection (see begin)
        self._journals: list[_Journal] = []
        self._closed = False
        if readonly and not self.path.is_file():
            raise UsageError("no such audit database", where=str(path))
        try:
            if readonly:
                self.db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                                          check_same_thread=False, isolation_level=None, timeout=30)
            else:
                self.db = self._writer()
            self.db.row_factory = sqlite3.Row
            # Text that is not UTF-8 (a foreign writer) costs its own value, not the whole read.
            self.db.text_factory = _decode
            if not readonly:
                # WAL (the file's, once set): readers (the report, an export) never block the running audit.
                self.db.execute("PRAGMA journal_mode=WAL")
                for stmt in DDL:
                    self.db.execute(stmt)
                have = {r[1] for r in self.db.execute("PRAGMA table_info(results)")}
                for name, typ in ADDED_COLUMNS:
                    if name not in have:
                        self.db.execute(f"ALTER TABLE results ADD COLUMN {name} {typ}")
                self.db.execute(REPORT_INDEX)
                self.db.execute(STUDY_INDEX)
            self.columns = {r[1] for r in self.db.execute("PRAGMA table_info(results)")}
        except (sqlite3.Error, UnicodeDecodeError) as e:  # a damaged schema can hold bytes that are not UTF-8
            raise StoreError(f"cannot open the audit database: {_reason(e)}", where=str(path)) from None
        need = {"repo", "sha", "status", "verdict"}
        if not need <= self.columns:
            self.db.close()
            raise StoreError(f"not an inspector audit database (no table results with {', '.join(sorted(need))})",
                             where=str(path))
        version = self.get_meta("schema_version")
        if version is None and not readonly:
            self.set_meta("schema_version", str(SCHEMA_VERSION))
        elif version is not None and version != str(SCHEMA_VERSION):
            self.db.close()
            raise UsageError(f"audit database schema_version {version[:20]}, this inspector writes {SCHEMA_VERSION}",
                             where=str(path))

    def _writer(self) -> sqlite3.Connection:
        """A connection that writes: the shared one, and each worker thread's journal connection."""
        # A URI connection: merge ATTACHes its sources by read-only URIs.
        db = sqlite3.connect(self.path.resolve().as_uri(), uri=True, check_same_thread=False, isolation_level=None,
                             timeout=30)
        # Per connection: keeps every commit across a killed process (only an OS crash could lose the last ones).
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def close(self) -> None:
        # Under the lock: a worker thread of an audit that stopped early may still be inside a write,
        # and closing a connection under a running statement crashes SQLite; after this, its next
        # write raises (ProgrammingError) instead.
        with self.lock:
            self._closed = True
            for journal in self._journals:
                with journal.lock:
                    journal.db.close()
            self.db.close()
        if self._claim_fd is not None:
            os.close(self._claim_fd)  # after SQLite's own descriptors: closing it drops our flock only
            self._claim_fd = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """Any SQLite failure as one line naming the database (never "internal error")."""
        try:
            yield
        except (sqlite3.Error, UnicodeDecodeError) as e:
            raise StoreError(_reason(e), where=str(self.path)) from None

    # ---- the writer's claim

    def claim(self) -> None:
        """Become the one process that runs an audit on this database (its --processes children join
        it). A second audit is refused in one line instead of replacing the first one's list."""
        try:
            import fcntl
        except ImportError:  # no flock (Windows): the unfinished-run check in the runner still applies
            return
        fd = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            pid = self.get_meta("run.pid") or "?"
            raise StoreError(f"another audit (pid {pid[:12]}) is running on this database: wait for it to finish, "
                             "or give another --db", where=str(self.path)) from None
        self._claim_fd = fd
        self.set_meta("run.pid", str(os.getpid()))

    # ---- meta

    def _read(self, sql: str, params: tuple = ()) -> list:
        """A whole read under the lock, its cursor closed: on this shared connection a read still open
        in one thread would make another thread's write upgrade a stale snapshot, which SQLite
        refuses at once ("database is locked") when another process has written meanwhile."""
        with self.lock, self._guard():
            cur = self.db.execute(sql, params)
            try:
                return cur.fetchall()
            finally:
                cur.close()

    def get_meta(self, key: str) -> str | None:
        try:
            rows = self._read("SELECT value FROM meta WHERE key = ?", (key,))
        except StoreError:
            if "meta" not in self.tables():
                return None  # a foreign database read-only: no meta is no meta
            raise
        return _str(rows[0][0]) if rows else None

    def tables(self) -> set[str]:
        return {r[0] for r in self._read("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def meta(self) -> dict[str, str]:
        if "meta" not in self.tables():
            return {}
        return {_str(k, "") or "": _str(v, "") or "" for k, v in self._read("SELECT key, value FROM meta")}

    def set_meta(self, key: str, value: str) -> None:
        # Under the lock: on this shared connection, a write outside it could land inside another
        # thread's open transaction.
        with self.lock, self._guard():
            self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction under the lock: all of it committed, or none of it."""
        with self.lock, self._guard():
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield
                self.db.execute("COMMIT")
            except BaseException:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise

    # ---- results

    def put(self, row: Row) -> None:
        """One statement per repo, so one transaction: the row, and by this connection's trigger the
        end of a sha-less failure it supersedes and of its entry in the journal of repos in flight.
        One statement, not three in a transaction: no wait for the interpreter lock between them while
        SQLite's write lock, which the audit's other processes wait for, is held."""
        with self.lock, self._guard():
            if not self._put_trigger:
                # TEMP: this connection's only (a merge's INSERT ... SELECT keeps its own rules).
                # A repo once recorded without a sha (not found, network error) now has one: the old
                # row described nothing that still exists.
                self.db.execute("CREATE TEMP TRIGGER IF NOT EXISTS put_row AFTER INSERT ON main.results BEGIN "
                                "DELETE FROM results WHERE repo = NEW.repo AND sha = '' AND NEW.sha <> ''; "
                                "DELETE FROM inflight WHERE repo = NEW.repo; END")
                self._put_trigger = True
            self.db.execute(f"INSERT OR REPLACE INTO results({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                            row.values())

    def state(self) -> dict[str, list[tuple[str, str, str]]]:
        """repo -> [(sha, status, finished_at)]: what the runner needs to skip finished work."""
        out: dict[str, list[tuple[str, str, str]]] = {}
        for r in self._read("SELECT repo, sha, status, finished_at FROM results"):
            out.setdefault(r[0], []).append((r[1], r[2], r[3] or ""))
        return out

    def _select(self, columns: Iterable[str]) -> str:
        """A select list of `columns`, null for those an older or foreign table lacks."""
        return ", ".join(c if c in self.columns else f"NULL AS {c}" for c in columns)

    def records(self, *, latest: bool = True, where: str = "", params: tuple = (), order: str = "repo",
                columns: Iterable[str] = COLUMNS, limit: int | None = None) -> Iterator[sqlite3.Row]:
        """Stored rows, streamed (an export may be large): for when no other thread of this process
        writes. `where`/`order` are SQL over the results columns, written by this package only."""
        conds = [w for w in (LATEST_WHERE if latest else "", where) if w]
        sql = f"SELECT {self._select(columns)} FROM results" + (" WHERE " + " AND ".join(conds) if conds else "")
        sql += f" ORDER BY {order}" + (f" LIMIT {int(limit)}" if limit is not None else "")
        with self._guard():
            cur = self.db.execute(sql, params)
            try:
                while batch := cur.fetchmany(500):
                    yield from batch
            finally:
                with contextlib.suppress(sqlite3.Error):  # a reader abandoned after close()
                    cur.close()

    def rows(self, *, latest: bool = True, with_verdict: bool = True, **kw: Any) -> Iterator[Row]:
        """`records` as Rows."""
        for rec in self.records(latest=latest, **kw):
            yield Row.from_record(rec, with_verdict=with_verdict)

    def count(self) -> int:
        return self._read("SELECT count(*) FROM results")[0][0]

    def statuses_since(self, finished_at: str) -> dict[str, int]:
        """status -> rows finished at or after that time (a re-audited (repo, sha) replaces its row,
        so counting rows would miss it)."""
        return dict(self._read("SELECT status, count(*) FROM results WHERE finished_at >= ? GROUP BY status", (finished_at,)))

    def failures_since(self, finished_at: str, statuses: Iterable[str], limit: int = 5) -> list[tuple[str, str, str]]:
        """(repo, status, error) of the first rows finished since then with one of `statuses`."""
        st = list(statuses)
        if not st:
            return []
        marks = ", ".join("?" * len(st))
        return [(r[0], r[1], r[2] or "") for r in self._read(
            f"SELECT repo, status, error FROM results WHERE finished_at >= ? AND status IN ({marks}) "
            f"ORDER BY repo LIMIT ?", (finished_at, *st, limit))]

    # ---- the journal of repos in flight

    def begin(self, repo: str) -> None:
        """`repo` is being read by this process: if the process dies before its row is put, the next
        run finds it here."""
        with self._guard():
            journal = self._journal()
            with journal.lock:
                journal.db.execute("INSERT INTO inflight(repo, pid, attempts, started_at) VALUES (?, ?, 1, ?) "
                                   "ON CONFLICT(repo) DO UPDATE SET pid = excluded.pid, attempts = attempts + 1, "
                                   "started_at = excluded.started_at", (repo, os.getpid(), now_iso()))

    def _journal(self) -> _Journal:
        """This thread's own connection for its journal entries. On the shared connection each worker
        waited for the others' writes and the rows' (mean 7-11 ms, p90 17-27 ms a repo, on the path of
        every read); SQLite orders the connections' one-statement writes itself."""
        journal = getattr(self._local, "journal", None)
        if journal is None:
            db = self._writer()
            journal = _Journal(db, threading.Lock())
            with self.lock:
                if self._closed:  # as a write on the closed shared connection raises
                    db.close()
                    raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
                self._journals.append(journal)
            self._local.journal = journal
        return journal

    def end(self, repo: str) -> None:
        """`repo` was read to its end without a row to write (its sha was audited before)."""
        with self.lock, self._guard():
            self.db.execute("DELETE FROM inflight WHERE repo = ?", (repo,))

    def release(self) -> None:
        """This process stops on purpose (a signal, an error): what it had in flight was not the cause."""
        with self._transaction():
            self.db.execute("UPDATE inflight SET attempts = attempts - 1, pid = NULL WHERE pid = ?", (os.getpid(),))
            self.db.execute("DELETE FROM inflight WHERE attempts <= 0")

    def orphans(self) -> dict[str, int]:
        """repo -> how many processes died reading it, for the repos no live process is reading."""
        return {r[0]: r[2] for r in self._read("SELECT repo, pid, attempts FROM inflight") if not _pid_alive(r[1])}

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


def _reason(e: sqlite3.Error | UnicodeDecodeError) -> str:
    if isinstance(e, UnicodeDecodeError):
        return "the database file is damaged (text in it is not UTF-8); `sqlite3 FILE .recover` may save its rows"
    name = getattr(e, "sqlite_errorname", "")
    if name == "SQLITE_FULL":
        return "database or disk is full: every row committed so far is kept; free space, then --resume"
    text = " ".join(str(e).split())[:200]
    if name in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or "malformed" in text:
        return f"the database file is damaged ({text}); `sqlite3 FILE .recover` may save its rows"
    return text or type(e).__name__


# ---- merge


def merge(out: str | Path, sources: list[str | Path]) -> int:
    """Union of the sources' results; for the same (repo, sha) the later finished row wins. Sources
    are opened read-only: a foreign or broken file is refused, never modified."""
    checked = []
    for s in sources:
        with Store(s, readonly=True) as src:  # validates the table and schema version, writes nothing
            checked.append((src.path.resolve(), src.columns))
    with Store(out) as dst:
        dst.claim()
        for i, (path, columns) in enumerate(checked):
            alias = f"src{i}"
            with dst._guard():
                dst.db.execute(f"ATTACH DATABASE ? AS {alias}", (f"{path.as_uri()}?mode=ro",))
            try:
                cols = [c for c in COLUMNS if c in columns]
                names = ", ".join(cols)
                with dst._transaction():
                    # `WHERE true` lets SQLite parse the upsert after a SELECT (documented ambiguity).
                    dst.db.execute(
                        f"INSERT INTO results({names}) SELECT {names} FROM {alias}.results WHERE true "
                        f"ON CONFLICT(repo, sha) DO UPDATE SET "
                        + ", ".join(f"{c} = excluded.{c}" for c in cols[2:])
                        + " WHERE coalesce(excluded.finished_at, '') > coalesce(results.finished_at, '')")
            finally:
                with dst._guard():
                    dst.db.execute(f"DETACH DATABASE {alias}")
        return dst.count()
