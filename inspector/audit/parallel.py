"""An audit over processes: parts of the recorded list read in child processes, watched and restarted.

The list is in the database, so a child is a resume of its part of the run (`run_part`), started with
the spawn method (a fresh interpreter: no copied locks or sockets), or, for the warm children started
before any thread or connection exists, forked from the parent that has loaded the rules. A child that dies of a signal it
did not get from us -- a parser that crashed the interpreter -- is started again on the rest of its
part; the store's journal names the repos it had in flight, which are then read again alone, and a
repo that ended two processes is recorded as `invalid`. So when every part is a child's (`isolate`),
even a C-level crash costs one row, never the run.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..errors import AuditProcessFailed, InspectorError

if TYPE_CHECKING:  # the CLI imports this module for its constants: the audit's machinery loads on use
    from ..listing import Item
    from ..store import Store
    from .runner import Audit, RunStats
    from .summary import Summary

# Below this many repos a spawned child's start-up (an interpreter, the imports, the rules: ~0.5 s
# each) costs more than a second core gives back. A forked child starts in milliseconds: measured
# through the fake Hub at 50 ms, two forked processes were as fast as one at 16 repos, faster from 50.
AUTO_MIN_REPOS = 200
AUTO_MIN_REPOS_FORKED = 32
AUTO_MAX_PROCESSES = 4
MIN_WORKERS_PER_PROCESS = 4

# How often one part's child is started again after a crash: each crash leaves its repos in the journal,
# and a repo that takes down two processes is recorded as invalid, so a few restarts always suffice.
MAX_RESTARTS = 8


def auto_processes(repos: int, workers: int, *, forked: bool = False) -> int:
    """`processes="auto"`: one per core (at most 4, each with at least 4 workers) from AUTO_MIN_REPOS
    repos, or from AUTO_MIN_REPOS_FORKED when the children are `forked` from this process. More
    processes than cores did not pay: 300 repos, 16 workers, 2 cores: 3 or 4 processes audited them
    within 5% of 2 (faster in one sitting, slower in another) with 7-15% more CPU."""
    if repos < (AUTO_MIN_REPOS_FORKED if forked else AUTO_MIN_REPOS):
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, AUTO_MAX_PROCESSES, workers // MIN_WORKERS_PER_PROCESS))


@dataclass(frozen=True)
class PartSpec:
    """One part of the run recorded in `db`, as a child process audits it. It reaches the child through
    the spawn pipe, so the token never appears on a command line that `ps` shows."""

    db: Path
    part: tuple[int, int] = (1, 1)
    workers: int = 8
    headers: str = "default"
    rules_dirs: tuple[Path, ...] = ()
    max_rps: float | None = None  # the run's: each part takes its share
    token: str | None = field(default=None, repr=False)  # never in a repr, a log or a traceback
    endpoint: str | None = None  # the parent's Hub (HF_ENDPOINT or a client's): a child reads the same one
    follow_symlinks: bool = False
    follow: bool = False  # also audit what the parent's listing still records
    suspects_only: bool = False  # only the repos a dead process left in flight, one at a time


def run_part(spec: PartSpec, *, summary: bool = False, rules=None) -> tuple[RunStats, Summary | None]:
    """Audit `spec.part` of the recorded run in this process (what a child does); with `summary`, also
    the summary over the part's repos; `rules`: the RuleSet, if loaded already. A stop (SIGTERM,
    Ctrl-C) is raised as KeyboardInterrupt after the store is closed: every finished repo is committed."""
    from ..api import Inspector
    from ..store import Store
    from ..transport.http import HubClient
    from .runner import Audit, RunStats, in_part
    from .summary import summarize

    share = 1.0 / spec.part[1]
    # A part paces on its share of the Hub's quota (the RateLimit counts are the account's).
    client = HubClient(endpoint=spec.endpoint, max_rps=spec.max_rps * share if spec.max_rps else None, share=share,
                       token=spec.token)
    insp = Inspector(rules, extra_rules=list(spec.rules_dirs), headers=spec.headers, client=client, token=spec.token,
                     follow_symlinks=spec.follow_symlinks)
    freeze_loaded()
    with Store(spec.db) as store, signals_stop():
        audit = Audit(insp, store, workers=spec.workers)
        if not store.queue_end() and (store.get_meta("run.listed") or "1") != "0":
            return RunStats(), None  # a listing that ended empty before this part started
        todo = [it for it in audit.plan(None, resume=True) if in_part(it.pos, *spec.part)]
        more = audit.follow(spec.part, alive=_parent_alive()) if spec.follow else None
        if spec.suspects_only:
            orphans = store.orphans()
            todo, more = [it for it in todo if it.repo in orphans], None
        stats = audit.execute(todo, more)
        if not summary:
            return stats, None
        return stats, summarize(store, audit.queued_repos(spec.part))


def freeze_loaded() -> None:
    """Once modules and rules are loaded: the collector leaves them alone from now on. A repo
    allocates thousands of objects, and each full collection walked the whole rule set again (about
    1 ms of CPU a repo in an audit, halved by this)."""
    gc.freeze()


class Progress(Protocol):
    """A progress display the parent moves from the database (every process writes there)."""

    def start(self, total: int) -> None: ...
    def grow_to(self, total: int) -> None: ...
    def advance_to(self, done: int, failed: int = 0, base: int = 0) -> None: ...


def read_planned(audit: Audit, todo: list[Item], spec: PartSpec, *, processes: int | None = None, isolate: bool = True,
                 lister=None, client=None, bar: Progress | None = None, warm: Sequence[WarmChild] = ()) -> RunStats:
    """Read what `audit.plan` recorded (and what `lister` still records), then the listing's error if
    it failed. `processes`: None for auto_processes. Isolated, every repo is read in child processes;
    a run with nothing to read (every sha audited before, no listing) starts none. In process, a
    resume first reads the repos a dead process left in flight, alone, in a child."""
    if not isolate and audit.resumed and settle_suspects(audit.store, todo, spec):
        audit.reload()
    pending = sum(map(audit.needs_reading, todo))
    forked = bool(warm) and all(w.forked for w in warm)
    if processes is None and forked and lister is not None:
        processes = len(warm)  # cheap children: a listing does not wait to show the run large
    elif processes is None:
        least = AUTO_MIN_REPOS_FORKED if forked else AUTO_MIN_REPOS
        listed = lister.wait_for(least - pending) if lister is not None and pending < least else 0
        processes = auto_processes(pending + listed, spec.workers, forked=forked)
    if bar is not None:
        bar.start(len(todo) + (lister.count if lister is not None else 0))
    if (processes > 1 or isolate) and (pending or lister is not None):
        stats = run_children(spec, todo, processes, store=audit.store, audit=audit, client=client, lister=lister,
                             bar=bar, isolate=isolate, warm=warm)
    else:
        stats = audit.execute(todo, audit.follow(alive=lister.alive) if lister is not None else None)
    if lister is not None:
        lister.join()
        if lister.error is not None:
            raise lister.error  # after every repo it did list is audited and recorded
    return stats


def run_children(spec: PartSpec, todo: list[Item], processes: int, *, store: Store, audit: Audit, client=None,
                 lister=None, bar: Progress | None = None, isolate: bool = True,
                 warm: Sequence[WarmChild] = ()) -> RunStats:
    """Audit the recorded list as `processes` parts written to the same database. With `isolate` every
    part is a child's and this process only lists, watches and restarts them; without, this process
    audits the first part itself (it is warm: imports, rules, connections) while the children start.

    One Python process is bound to one core (the GIL): rule evaluation and HTTP parsing of many repos
    in flight saturate it. `spec` is the run's settings (`workers` for the whole run). A child's error
    (a full disk, a refused token) is raised here, as it would be in one process.
    """
    from multiprocessing.connection import wait

    from ..status import USABLE
    from .runner import RunStats, in_part

    per = max(1, -(-spec.workers // processes))
    spec = replace(spec, workers=per, follow=lister is not None, suspects_only=False)
    start, since = time.monotonic(), audit.run_started
    before = store.statuses_since(since)  # on resume, what the killed run had finished

    def progress() -> tuple[int, int]:
        """(done, failed) by the processes of this run, from the database every one writes to."""
        now = store.statuses_since(since)
        new = {k: n - before.get(k, 0) for k, n in now.items()}
        done = sum(n for k, n in new.items() if k in USABLE)
        return done, sum(new.values()) - done

    first = 1 if isolate else 2
    parts = {k: replace(spec, part=(k, processes)) for k in range(first, processes + 1)}
    children = {}
    if first == 1:  # started while this process planned: their rules are loaded
        children |= {k: w.take(parts[k]) for k, w in zip(parts, warm, strict=False)}
    children |= dict(zip([k for k in parts if k not in children],
                         spawn([p for k, p in parts.items() if k not in children]), strict=True))
    restarts = dict.fromkeys(parts, 0)
    pending = [c.sentinel for c in children.values()]
    finished = threading.Event()
    # Repos already finished (on resume, by the killed run): the bar starts past them and ends at 100%.
    already = len(todo) - sum(map(audit.needs_reading, todo))

    def watch() -> None:
        """The bar, from the database, and the listing's end."""
        while not finished.is_set():
            for ended in wait(list(pending), timeout=0.5):
                pending.remove(ended)
            if lister is not None and lister.finished and store.get_meta("run.listed") == "0":
                # The listing ended without saying so (its store write failed): say it now, or the
                # children would wait for more forever.
                store.set_meta("run.listed", "error")
            if bar is not None:
                bar.grow_to(len(todo) + (lister.count if lister is not None else 0))
                bar.advance_to(*progress(), base=already)
            if not pending and finished.wait(0.5):
                return

    watcher = threading.Thread(target=watch, daemon=True, name="audit-watch")
    watcher.start()
    try:
        if client is not None:
            client.pacer.set_share(1 / processes)  # the RateLimit counts are the account's
            if client.pacer.max_rps:
                client.pacer.max_rps /= processes
        if not isolate:
            audit.workers, audit.progress = per, None
            mine = [it for it in todo if in_part(it.pos, 1, processes)]
            more = audit.follow((1, processes), alive=lister.alive) if lister is not None else None
            audit.execute(mine, more)
        while True:
            # A child killed by a signal it did not get from us (a parser that crashed the
            # interpreter): started again on the rest of its part, whose journal names the repo.
            crashed = []
            for k, c in children.items():
                c.join()
                if c.exitcode is not None and c.exitcode < 0 and restarts[k] < MAX_RESTARTS:
                    crashed.append(k)
            if not crashed:
                break
            for k in crashed:
                restarts[k] += 1
                children[k].errors.close()  # a crash sends nothing
                children[k] = spawn([parts[k]])[0]
                pending.append(children[k].sentinel)
    except BaseException:
        stop_children(list(children.values()))
        raise
    finally:
        finished.set()
        watcher.join()
    if bar is not None:
        bar.advance_to(*progress(), base=already)
    failed = [c for c in children.values() if c.exitcode != 0]
    if failed:
        _raise_first(failed, f"{len(failed)} of {len(children)} audit processes failed (exit {failed[0].exitcode})",
                     store)
    stats = RunStats(total=len(todo) + (lister.count if lister is not None else 0), started=start)
    stats.done, stats.failed = progress()
    stats.skipped = max(0, stats.total - stats.done - stats.failed)
    return stats


def settle_suspects(store: Store, todo: list[Item], spec: PartSpec) -> bool:
    """Repos that were being read when a process died, each read again alone in a child process (one
    at a time, until its row is written or it is recorded as the crash), so that a resume in this
    process goes on. True when there were any (the caller reloads what is finished)."""
    orphans = store.orphans()
    if not any(it.repo in orphans for it in todo):
        return False
    spec = replace(spec, part=(1, 1), workers=1, follow=False, suspects_only=True)
    for _ in range(MAX_RESTARTS):
        child = spawn([spec])[0]
        try:
            child.join()
        except BaseException:
            stop_children([child])
            raise
        if child.exitcode is not None and child.exitcode > 0:
            _raise_first([child], f"the audit process reading the suspects failed (exit {child.exitcode})", store)
        if child.exitcode == 0:
            break
    return True


def stop_children(children: list) -> None:
    """Forward the stop: SIGTERM to each child (each ends as the parent does), a kill after a second."""
    for c in children:
        if c.is_alive():
            c.terminate()
    for c in children:
        c.join(timeout=1.5)
        if c.is_alive():
            c.kill()
            c.join(timeout=5)


def spawn(specs: list[PartSpec]) -> list:
    """A started child process per part; `.errors` reads the error it sent, if any (see _raise_first)."""
    import multiprocessing

    # spawn, not fork: a fresh interpreter per child, no copied locks or sockets of this one.
    ctx = multiprocessing.get_context("spawn")
    children = []
    for s in specs:
        # A pipe, not a queue: no semaphore to leak when a process ends with os._exit.
        reader, writer = ctx.Pipe(duplex=False)
        c = ctx.Process(target=_child, args=(s, writer, os.getpid()), name=f"audit-part-{s.part[0]}")
        c.start()
        writer.close()
        c.errors = reader
        children.append(c)
    return children


class WarmChild:
    """A child started before the run is planned, which then audits the part `take` sends it (a small
    audit does not wait for a cold start after planning). Ended unused by `close` (or this process's end).

    With `rules` (this process has loaded them; warm_children passes them only when a fork is safe),
    it is forked: it shares this process's imports and rules instead of loading its own (on two cores
    three interpreters loading at once cost an audit of a few hundred repos a quarter of its time).
    Otherwise it is spawned and loads them while this process plans."""

    def __init__(self, spec: PartSpec, k: int = 1, rules=None) -> None:
        import multiprocessing

        self.forked = rules is not None
        ctx = multiprocessing.get_context("fork" if self.forked else "spawn")
        go, self._go = ctx.Pipe(duplex=False)
        reader, writer = ctx.Pipe(duplex=False)
        args = (spec, writer, os.getpid(), go, rules)
        self.process = ctx.Process(target=_child, args=args, name=f"audit-part-{k}")
        self.process.start()
        go.close()
        writer.close()
        self.process.errors = reader
        self.taken = False
        _PARENT_ENDS.append(self._go)  # a later forked child closes its copy: `close` then ends this one's wait

    def take(self, spec: PartSpec):
        """The started process, now auditing `spec`'s part."""
        self._go.send(spec)
        self.taken = True
        return self.process

    def close(self) -> None:
        """Unused (nothing to read, or the run was refused): ended at once, it has not opened the store."""
        self._go.close()
        with contextlib.suppress(ValueError):
            _PARENT_ENDS.remove(self._go)
        if not self.taken:
            self.process.terminate()
            self.process.join()
            self.process.errors.close()


# The ends this process keeps of its warm children's pipes: a forked child inherits them, and holding a
# sibling's `go` end open would keep that sibling waiting after this process closed its own.
_PARENT_ENDS: list = []


def single_threaded() -> bool:
    """True when this process has one thread, counted by the OS (threads of C libraries too), so that a
    fork copies no lock another thread holds. Where the count is unknown (no /proc), False."""
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


def warm_children(spec: PartSpec, processes: int | None, repos: int | None, rules=None) -> list[WarmChild]:
    """As many warm children as the run will likely have parts: `processes` when fixed, else what
    `auto_processes` gives for `repos` (None: not known before listing, so as many as a large run).
    `rules`: this process's, for children forked from it when it runs no other thread. A spawned child
    takes ~0.5 s to import and load rules: one started after the listing had shown the run large left
    its workers idle for that long. Those a small run does not use are ended unused."""
    shared = rules if rules is not None and single_threaded() else None  # forking adds no thread
    n = processes or auto_processes(AUTO_MIN_REPOS if repos is None else repos, spec.workers,
                                    forked=shared is not None)
    return [WarmChild(spec, k, shared) for k in range(1, n + 1)]


def _child(spec: PartSpec, errors, parent: int, go=None, rules=None) -> None:
    """A child's life: its part, its error sent to the parent, which raises it (one line, its exit code).
    With `go` (a WarmChild): the rules first (unless forked with the parent's), then the part the parent sends."""
    # Ctrl-C reaches the whole process group: the parent alone answers it (one line) and tells its
    # children with SIGTERM, which they answer in silence.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _end_with(parent)
    for end in _PARENT_ENDS:  # forked: the copies of the siblings' pipe ends
        end.close()
    _PARENT_ENDS.clear()
    if spec.endpoint and "huggingface_hub" not in sys.modules:
        # huggingface_hub reads its endpoint once, at import (the URLs it builds, the hosts that keep the token).
        os.environ["HF_ENDPOINT"] = spec.endpoint
    if go is not None:
        with contextlib.suppress(Exception):  # a broken rule file: the parent refuses it itself
            if rules is None:
                from ..ruleset import load_ruleset
                from .runner import Audit  # noqa: F401 - loaded while the parent plans

                rules = load_ruleset(list(spec.rules_dirs))
            from ..transport.http import warm_session

            warm_session()
        try:
            spec = go.recv()
        except (EOFError, OSError):  # not needed after all (nothing to read, or the parent stopped)
            return
    try:
        run_part(spec, rules=rules)
    except KeyboardInterrupt as e:  # SIGTERM from the parent: the store is closed, every finished row kept
        hard_exit(e)
    except InspectorError as e:  # the parent raises it, in one line
        errors.send((type(e), e.message, e.where, e.names))
        sys.exit(1)
    except Exception as e:  # a bug: still one line, never a traceback
        errors.send((AuditProcessFailed, f"internal error: {type(e).__name__}: {' '.join(str(e).split())[:300]}",
                    None, None))
        sys.exit(1)


def _raise_first(children: list, otherwise: str, store: Store) -> None:
    """The first error a failed child sent, as this process would have raised it."""
    for c in children:
        with contextlib.suppress(EOFError, OSError):
            if c.exitcode != 0 and c.errors.poll():
                cls, message, where, names = c.errors.recv()
                try:
                    err = cls(message, where=where, names=names)
                except TypeError:  # an error class built otherwise (RuleError): its line is still its line
                    err = AuditProcessFailed(message, where=where)
                raise err
    raise AuditProcessFailed(otherwise, where=str(store.path))


def _end_with(parent: int) -> None:
    """A parent killed outright (kill -9) takes its children along (Linux: SIGTERM on its death), so that
    a --resume never runs beside readers of the dead run."""
    with contextlib.suppress(Exception):  # elsewhere: the children end when their part does
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # gone before the line above
        os._exit(128 + signal.SIGTERM)


def _parent_alive() -> Callable[[], bool]:
    parent = os.getppid()
    return lambda: os.getppid() == parent


# ---- stopping


class Stopped(KeyboardInterrupt):
    """SIGTERM, raised where the main thread is, like Ctrl-C's KeyboardInterrupt."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def stopped_by(e: BaseException) -> str:
    return "terminated" if isinstance(e, Stopped) else "interrupted"


@contextlib.contextmanager
def signals_stop() -> Iterator[None]:
    """SIGTERM stops the audit as Ctrl-C does: the main thread unwinds, children are told."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(signum, _frame):
        raise Stopped(signum)

    old = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def hard_exit(e: BaseException) -> None:
    """End the process at once with 128 + the signal's number, the store already closed by the caller.

    Worker threads may still be inside a C extension (RE2, SQLite, zlib): tearing the interpreter
    down under them aborts the process."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(128 + getattr(e, "signum", signal.SIGINT))
