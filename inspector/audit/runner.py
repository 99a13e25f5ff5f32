"""One audit run: many repos through one Inspector and one HubClient, each result committed as it lands.

Workers are threads sharing the HubClient (one session, keep-alive, one Pacer for the whole run). A
single thread -- the caller's -- writes the store, so each repo is one short transaction and a kill at
any moment loses at most the repos in flight. Per repo the audit makes exactly the inspection's reads;
a listed repo (its RepoInfo from the listing) makes no model_info call at all.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace

from ..api import Inspector
from ..errors import InspectorError, SettingsError, TargetNotFound, UsageError
from ..listing import Item, split_target
from ..readout import IOStats
from ..repoinfo import RepoInfo
from ..status import RETRYABLE, USABLE, Status
from ..store import CRASH_ATTEMPTS, Row, Store, now_iso
from ..verdict import Verdict

# A test hook: the repo whose parse aborts the interpreter, as a C-level crash in a parser would.
CRASH_HOOK = "INSPECTOR_TEST_CRASH_ON"


def _to_queue(it: Item) -> tuple[str, str, bool, str | None]:
    return (it.target if it.revision and not it.sha else it.repo, it.sha, it.local, it.info.to_json() if it.info is not None else None)


def _from_queue(pos: int, target: str, sha: str, local: bool, info: str | None) -> Item:
    repo, _sha, rev = (target, "", None) if local else split_target(target)
    return Item(repo, sha, info=RepoInfo.from_json(info) if info else None, local=local, revision=rev, pos=pos)


def in_part(pos: int, k: int, n: int) -> bool:
    """Whether the repo at `pos` of the recorded list is part `k` of `n` (the processes of a run).

    Each run of n consecutive places gives one repo to every part, in an order that turns with the
    run (Knuth's multiplicative hash of its number): the parts differ by at most one repo, and a list
    that alternates kinds of repos (a model, then its single-file copy) is not split by kind. By a
    hash of the repo id the parts of 300 repos differed by 14 (157 and 143): the larger one ended
    ~0.2 s after the other. Stable across runs: places are recorded with the list."""
    if n == 1:
        return True
    run, place = divmod(pos - 1, n)
    turn = (run * 2654435761 & 0xFFFFFFFF) * n >> 32
    return (place + turn) % n == k - 1


@dataclass
class Outcome:
    repo: str
    sha: str
    status: str  # the row's status, or "skipped"
    row: Row | None = None  # None when nothing was fetched (finished earlier, same sha)

    @property
    def failed(self) -> bool:
        return self.row is not None and self.status not in USABLE


@dataclass
class RunStats:
    total: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


class Audit:
    """`run(items)` starts a run; `run(None, resume=True)` continues the one recorded in the store."""

    def __init__(self, inspector: Inspector, store: Store, *, workers: int = 8, refresh: bool = False,
                 progress: Callable[[Outcome, RunStats], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.insp = inspector
        self.store = store
        self.workers = max(1, workers)
        self.refresh = refresh
        self.progress = progress
        self.clock = clock
        self.stats = RunStats()
        self._state: dict[str, list[tuple[str, str, str]]] = {}
        self._run_started = ""
        self._resume = False
        self._queue_pos = 0
        self.listed = "1"  # run.listed: "0" while a listing still records repos, "1" ended, "error"
        self.query = ""

    # ---- planning

    def plan(self, items: Iterable[Item] | None, *, resume: bool = False, listing: str | None = None) -> list[Item]:
        """Record the work list (or read it back on resume) before any repo is read.

        `listing`: a Hub listing still to page through (its query, as JSON); its repos are recorded
        as they arrive (`record`), and `run.listed` says whether it ended, so a run killed while
        listing lists again on --resume.
        """
        self._resume = resume
        if resume:
            # With positions: the listing (another process) may be adding rows right now, and
            # follow() takes up exactly after the last one read here.
            saved = self.store.queue_after(0)
            self._run_started = self.store.get_meta("run.started") or ""
            self.listed = self.store.get_meta("run.listed") or "1"  # databases from before streaming: complete
            self.query = self.store.get_meta("run.query") or ""
            if not saved and self.listed == "1":
                raise UsageError("nothing to resume in this database (start a run without `resume=True`)",
                                 where=str(self.store.path), names={"resume": "`resume=True`"})
            items = [_from_queue(*q) for q in saved]
            self._queue_pos = saved[-1][0] if saved else 0
            if self.store.get_meta("run.refresh") == "1":
                self.refresh = True
        else:
            if self.store.get_meta("run.state") == "running":
                # Killed (or stopped, or failed) before its end: a new list would make --resume forget it.
                raise UsageError(f"this database holds an audit that did not finish (started "
                                 f"{(self.store.get_meta('run.started') or '?')[:19]}): continue it with `resume=True`, "
                                 "or give another `store`", where=str(self.store.path),
                                 names={"resume": "`resume=True`", "store": "`store`"})
            items = list(items or [])
            self._run_started = now_iso()
            self.listed, self.query = ("0", listing) if listing else ("1", "")
            self.store.set_queue((_to_queue(it) for it in items),
                                 {"run.started": self._run_started, "run.refresh": "1" if self.refresh else "0",
                                  "run.listed": self.listed, "run.query": self.query, "run.state": "running"})
            saved = self.store.queue_after(0)
            places = {q[1]: q[0] for q in saved}
            items = [replace(it, pos=places.get(_to_queue(it)[0], 0)) for it in items]
            self._queue_pos = saved[-1][0] if saved else 0
        self._state = self.store.state()
        return list(items)

    def reload(self) -> None:
        """Read again what is finished (another process wrote rows since plan())."""
        self._state = self.store.state()

    @property
    def resumed(self) -> bool:
        """plan() read back a recorded run."""
        return self._resume

    @property
    def run_started(self) -> str:
        return self._run_started

    def queued_repos(self, part: tuple[int, int] = (1, 1)) -> set[str]:
        """The repos of the recorded list (or of its `part`), as rows name them (a revision target's repo)."""
        return {target if local else split_target(target)[0]
                for pos, target, _sha, local, _info in self.store.queue_after(0) if in_part(pos, *part)}

    def record(self, items: list[Item]) -> None:
        """More of the work list, as a listing pages (see plan)."""
        self.store.append_queue(_to_queue(it) for it in items)

    def follow(self, part: tuple[int, int] | None = None, *, alive: Callable[[], bool] = lambda: True,
               poll: float = 0.02, sleep: Callable[[float], None] = time.sleep) -> Iterator[Item]:
        """The repos queued after plan(), as the listing records them (in this process or another),
        until it has ended, or `alive` says the process recording them is gone. While the queue is
        empty it looks again after 5 ms, then twice as long each time up to `poll` (a look is two
        indexed reads, ~0.1 ms): a child waiting for the listing's first page otherwise started on it
        up to `poll` late."""
        pos = self._queue_pos
        wait = first = min(poll, 0.005)
        while True:
            # The state before the rows: a listing marked ended has recorded all its rows.
            state = self.store.get_meta("run.listed") or "1"
            rows = self.store.queue_after(pos)
            for q in rows:
                pos = q[0]
                if part is None or in_part(pos, *part):
                    yield _from_queue(*q)
            if rows:
                wait = first
                continue
            if state != "0" or not alive():
                return
            sleep(wait)
            wait = min(poll, wait * 2)

    def _finished(self, repo: str, sha: str) -> bool:
        rows = self._state.get(repo, ())
        if self._resume and self._run_started and any(at >= self._run_started for _s, _st, at in rows):
            return True  # finished in this very run before it was killed: --resume redoes nothing
        if self.refresh:
            return False
        return bool(sha) and any(s == sha and st not in RETRYABLE for s, st, _at in rows)

    def needs_reading(self, it: Item) -> bool:
        """False for a known sha already audited: it costs nothing, not even a request."""
        return not ((it.sha or it.local or self._resume) and self._finished(it.repo, it.sha))

    # ---- running

    def run(self, items: Iterable[Item] | None, *, resume: bool = False) -> RunStats:
        stats = self.execute(self.plan(items, resume=resume))
        self.finish()
        return stats

    def finish(self) -> None:
        """The recorded run has ended (every repo has its row): a new run may replace its list."""
        self.store.set_meta("run.state", "done")

    def execute(self, todo: list[Item], more: Iterable[Item] | None = None) -> RunStats:
        """Audit a planned list (see plan), then whatever `more` brings (see follow); the caller's
        thread writes every row."""
        self.stats = RunStats(total=len(todo), started=self.clock())
        work: list[Item] = []
        orphans = self.store.orphans()
        suspects: list[Item] = []
        for it in todo:
            if it.repo in orphans and self.needs_reading(it):
                suspects.append(it)
            elif self.needs_reading(it):
                work.append(it)
            else:
                self._report(Outcome(it.repo, it.sha, "skipped"))
        try:
            # A repo that was in flight when a process died: alone, so that if its parse is what kills
            # the process, the journal names it and nothing else; twice, and it is recorded as invalid.
            for it in suspects:
                if orphans[it.repo] >= CRASH_ATTEMPTS:
                    out = self._crashed(it, orphans[it.repo])
                else:
                    self.store.begin(it.repo)
                    out = self.process(it)
                self.store.put(out.row)
                self._report(out)
        except BaseException:
            self._release()
            raise
        if not work and more is None:
            return self.stats

        def arriving() -> Iterator[Item]:
            for it in more or ():
                self.stats.total += 1
                if self.needs_reading(it):
                    yield it
                else:
                    self.stats.skipped += 1

        results: queue.Queue[Outcome | None] = queue.Queue()
        feed = itertools.chain(work, arriving())
        feed_lock = threading.Lock()
        stop = threading.Event()

        feed_errors: list[Exception] = []

        def worker() -> None:
            while not stop.is_set():
                with feed_lock:
                    try:
                        it = next(feed, None)
                    except Exception as e:  # the queue could not be read: end here, raised below
                        feed_errors.append(e)
                        it = None
                if it is None:
                    break
                try:
                    self.store.begin(it.repo)
                except Exception as e:  # the store cannot be written (disk full): end here, raised below
                    feed_errors.append(e)
                    break
                try:
                    out = self.process(it)
                except SettingsError as e:  # the account's token or endpoint, not a repo: the run stops in one line
                    feed_errors.append(e)
                    stop.set()
                    break
                results.put(out)
            results.put(None)

        n = self.workers if more is not None else min(self.workers, len(work))
        # Daemon threads: an interrupted run exits at once; what was committed stays committed.
        threads = [threading.Thread(target=worker, daemon=True, name=f"audit-{i}") for i in range(n)]
        for t in threads:
            t.start()
        running = n
        try:
            while running:
                out = results.get()
                if out is None:
                    running -= 1
                    continue
                if out.row is not None:
                    self.store.put(out.row)
                else:
                    self.store.end(out.repo)
                self._report(out)
        except BaseException:
            # Stopped on purpose (a signal) or by the store (disk full): the repos in flight were not
            # the cause, and their rows were not written; the next run reads them as usual.
            stop.set()
            self._release()
            raise
        finally:
            stop.set()
        if feed_errors:
            self._release()
            raise feed_errors[0]
        return self.stats

    def _release(self) -> None:
        # The store may be what failed: the journal then stays as it is, and resume copes.
        with contextlib.suppress(Exception):
            self.store.release()

    def _crashed(self, it: Item, attempts: int) -> Outcome:
        msg = (f"{it.repo}: reading it ended the audit process {attempts} times (a parser crash); "
               "recorded as invalid and not retried (`inspector audit --refresh` tries again)")
        return self._row(it.repo, it.sha, Verdict(target=it.repo, revision=it.sha or None,
                                                  status=Status.INVALID.value, error=msg), None)

    def _report(self, out: Outcome) -> None:
        if out.row is None:
            self.stats.skipped += 1
        elif out.failed:
            self.stats.failed += 1
        else:
            self.stats.done += 1
        if self.progress is not None:
            self.progress(out, self.stats)

    # ---- one repo

    def process(self, it: Item) -> Outcome:
        """Never raises: every repo ends as a row with a status (or a skip)."""
        crash = os.environ.get(CRASH_HOOK)
        if crash and crash in it.repo:
            os.abort()
        try:
            if it.local:
                v = self.insp.inspect(it.repo)
                return self._row(it.repo, it.sha, v, None)
            return self._process_hub(it)
        except SettingsError:
            raise
        except Exception as e:  # a bug costs one repo, not the run
            msg = f"{it.repo}: internal error: {type(e).__name__}: {' '.join(str(e).split())[:200]}"
            return self._row(it.repo, it.sha, Verdict(target=it.repo, status="invalid", error=msg), None)

    def _process_hub(self, it: Item) -> Outcome:
        from ..sources.hub import fetch_info, parse_repo_target

        io = IOStats()
        author = None
        listing = None
        try:
            repo_id, _rev = parse_repo_target(it.repo)
            info = it.info
            if info is None:
                # A list file without a sha: the model_info the inspection needs anyway tells the sha
                # first, so an unchanged repo costs this one API call and nothing more.
                info = fetch_info(self.insp.client, repo_id, it.sha or it.revision, io)
                if self._finished(it.repo, info.sha or ""):
                    return Outcome(it.repo, info.sha, "skipped")
            author = getattr(info, "author", None)
            listing = info.listing_fields()
            sha = info.sha or it.sha
            v = self.insp.inspect(repo_id, info=info)
            if v.status == "not_found" and it.info is not None:
                # Listed, then gone or force-pushed: ask the Hub again once, never in a loop.
                try:
                    fresh = fetch_info(self.insp.client, repo_id, None, io)
                except TargetNotFound:
                    v.error = f"{repo_id}: vanished since the listing ({v.error})"
                else:
                    if fresh.sha and fresh.sha != sha:
                        sha, v = fresh.sha, self.insp.inspect(repo_id, info=fresh)
        except SettingsError:
            raise
        except InspectorError as e:
            v = Verdict(target=it.repo, revision=it.sha or None, status=e.status, error=e.one_line())
            sha = it.sha
        return self._row(it.repo, sha or "", v, author, io, listing)

    def _row(self, repo: str, sha: str, v: Verdict, author: str | None, io: IOStats | None = None,
             listing: dict | None = None) -> Outcome:
        d = v.to_dict()
        extra = io or IOStats()
        row = Row.from_verdict(repo, sha, d, author=author or (None if "/" not in repo or repo.startswith((".", "/")) else repo.split("/")[0]),
                               requests=(d.get("io") or {}).get("requests", 0) + extra.requests,
                               nbytes=(d.get("io") or {}).get("bytes", 0) + extra.bytes, listing=listing)
        return Outcome(repo, sha, v.status, row)
