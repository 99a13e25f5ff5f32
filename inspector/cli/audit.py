"""`inspector audit`: bulk runs into SQLite, plus `export` and `merge`. Errors reach cli.main's handler."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import click

from ..errors import UsageError
from .options import follow_symlinks_option, format_option, headers_option, rules_option, token_option

# Below this many repos the children's start-up (an interpreter, the imports, the rules: ~0.5 s each)
# costs more than a second core gives back.
AUTO_MIN_REPOS = 200
AUTO_MAX_PROCESSES = 4
MIN_WORKERS_PER_PROCESS = 4


@click.group("audit", invoke_without_command=True)
@click.option("--from", "from_file", type=click.Path(path_type=Path),
              help="Repo ids one per line (org/name[@sha]), or CSV / JSONL with an id (and optional sha) column; "
                   "`-` reads them from standard input.")
@click.option("--author", "authors", multiple=True, help="List this author's / org's models (repeatable).")
@click.option("--search", help="List models whose id contains TEXT.")
@click.option("--filter", "filters", multiple=True, help="List models with this tag (repeatable: all must match).")
@click.option("--population", help="List the models of a population's organisations: a shipped name (china) or a population file.")
@click.option("--derivatives", is_flag=True, help="With --population: also the models that declare one of them as base_model.")
@click.option("--sort", type=click.Choice(["downloads", "likes", "created", "modified"]), help="Listing order.")
@click.option("--limit", type=click.IntRange(min=1), help="At most N models per listing query.")
@click.option("--dir", "local_dir", type=click.Path(path_type=Path), help="One local model per subfolder.")
@follow_symlinks_option
@click.option("--db", type=click.Path(path_type=Path), default=Path("audit.sqlite"), show_default=True)
@click.option("--workers", type=click.IntRange(1, 256), default=8, show_default=True, help="Repos in flight.")
@click.option("--resume", is_flag=True, help="Continue the run recorded in --db (its list, nothing redone).")
@click.option("--refresh", is_flag=True, help="Inspect again even repos whose sha was audited before.")
@click.option("--max-rps", type=click.FloatRange(min=0.01), help="Cap on Hub requests per second.")
@click.option("--shard", help="K/N: audit only this stable 1/N of the list (by a hash of the repo id).")
@token_option
@headers_option
@rules_option
@click.option("--processes", "processes_opt", default="auto", show_default=True,
              help="Split --workers over N processes, or `auto`: one per core (at most 4, at least 4 workers each) "
                   f"for {AUTO_MIN_REPOS} repos or more, else 1. One Python process runs its rules and HTTP on one core.")
@click.option("--part", hidden=True, help="K/N: the slice of the recorded list this child process audits.")
@click.option("--follow", is_flag=True, hidden=True, help="A child of --processes: also audit what the parent's listing still records.")
@click.option("--isolate", is_flag=True,
              help="Read repos in child processes only, restarted after a crash: a parser that takes down the "
                   "interpreter costs one row, never the run (default: this process audits a part itself).")
@click.option("--suspects-only", is_flag=True, hidden=True,
              help="A child of the audit: read only the repos a dead process left in flight, one at a time.")
@click.option("--fail-on", default="any", show_default=True,
              help="Exit 1 when a repo of this run ends with one of these statuses (comma-separated), "
                   "`any` failure, or `none`.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary.")
@click.pass_context
def command(ctx: click.Context, from_file, authors, search, filters, population, derivatives, sort, limit, local_dir,
            follow_symlinks, db, workers, resume, refresh, max_rps, shard, token, headers, rules_dirs, processes_opt, part,
            follow, isolate, suspects_only, fail_on, quiet) -> None:
    """Audit many repos into SQLite; resumable. Subcommands: export, merge."""
    if ctx.invoked_subcommand is not None:
        return
    fail_statuses = _parse_fail_on(fail_on)
    resume_cmd = _resume_command(db, workers, headers, rules_dirs, max_rps, processes_opt, follow_symlinks, token)
    # What every child process (and a --resume's) must be told too.
    passed = (["--token", token] if token else []) + (["--follow-symlinks"] if follow_symlinks else [])
    from ..api import Inspector
    from ..audit import Audit, Lister, render_summary, summarize
    from ..listing import STDIN, dedupe, in_shard, list_dir, parse_shard, read_list, read_list_stream
    from ..store import Store

    if derivatives and not population:
        raise UsageError("--derivatives goes with --population")
    if population and (authors or search or filters):
        raise UsageError("--population lists its organisations itself: give no --author/--search/--filter with it")
    if population:
        from ..population import load_population

        load_population(population)  # a broken file is refused before anything is recorded
    listed = bool(authors or search or filters or population)
    has_source = bool(from_file or listed or local_dir)
    if resume and has_source:
        raise UsageError("--resume continues the list recorded in --db: give no --from/--author/--search/--filter/--dir")
    if not resume and not has_source:
        raise UsageError("nothing to audit: give --from FILE, --author ORG, --search TEXT, --filter TAG, --population NAME "
                         "or --dir DIR")
    if (sort or limit) and not listed:
        raise UsageError("--sort and --limit apply to Hub listings (--author, --search, --filter)")
    if resume and not db.is_file():
        raise UsageError("no such audit database to resume", where=str(db))
    k_n = parse_shard(shard) if shard else None
    part_k_n = parse_shard(part, "part") if part else None
    if part_k_n and not resume:
        raise UsageError("--part is for the child processes of --processes (with --resume)")
    share = 1.0 / part_k_n[1] if part_k_n else 1.0
    fixed_processes = 1 if part_k_n else _parse_processes(processes_opt)

    client = None
    if not local_dir or from_file or listed or resume:
        from ..transport.http import HubClient

        # A child process paces on its share of the Hub's quota (the RateLimit counts are global).
        client = HubClient(max_rps=max_rps * share if max_rps else None, share=share, token=token)
    insp = Inspector(extra_rules=list(rules_dirs), headers=headers, client=client, token=token,
                     follow_symlinks=follow_symlinks)

    # Read before the database is opened: a list that cannot be read leaves no database behind.
    found = []
    if from_file and not resume:
        found += read_list_stream(sys.stdin.buffer) if str(from_file) == STDIN else read_list(from_file)
    if local_dir and not resume:
        found += list_dir(local_dir)

    with Store(db) as store, _signals_stop():
        if not part_k_n:
            store.claim()  # a --processes child works for the process that holds the claim
            _record_run(store, client, rules_dirs)
        bar = _progress_bar(quiet)
        audit = Audit(insp, store, workers=workers, refresh=refresh, progress=bar.update if bar else None)
        lister: Lister | None = None
        stats = None
        try:
            if resume:
                todo = audit.plan(None, resume=True)
                if part_k_n:
                    todo = [it for it in todo if in_shard(it.repo, *part_k_n)]
                elif audit.listed != "1":
                    # Killed (or failed) while the Hub was still listing: list again, queue what is new.
                    lister = _listing(audit, audit.query, seen={it.repo for it in todo})
            else:
                items = [it for it in dedupe(found) if k_n is None or in_shard(it.repo, *k_n)]
                _refuse_offline(items, listed)
                query = _query(authors, search, filters, sort, limit, shard, population, derivatives) if listed else None
                todo = audit.plan(items, listing=query)
                if query:
                    # Streamed: the first page is audited while the Hub pages the rest.
                    lister = _listing(audit, query, seen={it.repo for it in items})
            if resume and not part_k_n:
                _refuse_offline(todo, audit.listed != "1")
                if _settle_suspects(store, todo, _child_args(db, 1, headers, rules_dirs, max_rps, passed)):
                    audit.reload()
            if suspects_only:
                orphans = store.orphans()
                todo, lister = [it for it in todo if it.repo in orphans], None
            pending = sum(map(audit.needs_reading, todo))
            if fixed_processes:
                processes = fixed_processes
            else:
                listed_so_far = lister.wait_for(AUTO_MIN_REPOS - pending) if lister and pending < AUTO_MIN_REPOS else 0
                processes = auto_processes(pending + listed_so_far, workers)
            if bar:
                bar.start(len(todo) + (lister.count if lister else 0))
            if processes > 1 or (isolate and not part_k_n):
                stats = _run_children(db, todo, processes, workers, resume=resume, refresh=refresh, max_rps=max_rps,
                                      headers=headers, rules_dirs=rules_dirs, store=store, bar=bar, lister=lister,
                                      audit=audit, client=client, isolate=isolate, passed=passed)
            else:
                more = None
                if lister is not None:
                    more = audit.follow(alive=lister.alive)
                elif follow:
                    more = audit.follow(part_k_n, alive=_parent_alive())
                stats = audit.execute(todo, more)
            if lister is not None:
                lister.join()
                if lister.error is not None:
                    raise lister.error  # after every repo it did list is audited and recorded
                if lister.count == 0 and not todo:
                    click.echo(f"warning: the listing ({_describe(authors, search, filters) or 'recorded query'}) "
                               "matched no models: nothing was audited", err=True)
            if not part_k_n:
                audit.finish()
        except KeyboardInterrupt as e:
            if bar:
                bar.close()
                bar = None
            if not part_k_n and not quiet:
                n = sum(store.statuses_since(audit.run_started).values()) if audit.run_started else 0
                click.echo(f"{_stopped_by(e)}: {n} repos audited in this run; continue with: {resume_cmd}", err=True)
            # Worker threads may still be inside a C extension (RE2, SQLite, zlib): tearing the
            # interpreter down under them aborts the process. Every finished repo is committed.
            store.close()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(128 + getattr(e, "signum", 2))
        finally:
            if bar:
                bar.close()
        if not quiet:
            repos = audit.queued_repos()
            if part_k_n:
                repos = {r for r in repos if in_shard(r, *part_k_n)}
            click.echo(render_summary(summarize(store, repos), stats))
        if not part_k_n:
            _exit_on_failures(store, audit.run_started, fail_statuses, db)


def _record_run(store, client, rules_dirs) -> None:
    """What the report's methods box and links need: the tool, the rules and the Hub this run read."""
    from .. import __version__
    from ..study import rules_digest

    store.set_meta("run.tool", f"inspector {__version__}")
    store.set_meta("run.rules", rules_digest(list(rules_dirs)))
    if client is not None and getattr(client, "endpoint", None):
        store.set_meta("run.endpoint", str(client.endpoint).rstrip("/"))


def _parse_fail_on(value: str) -> tuple[str, ...]:
    """The statuses that make the exit code 1."""
    from ..status import Status

    v = value.strip().lower()
    if v == "none":
        return ()
    if v == "any":
        return tuple(s.value for s in Status if not s.usable)
    out = tuple(p.strip() for p in v.split(",") if p.strip())
    bad = [p for p in out if Status.of(p) is None]
    if bad or not out:
        from ..errors import did_you_mean

        raise UsageError(f"--fail-on takes `any`, `none` or statuses ({', '.join(s.value for s in Status)}), "
                         f"not {(bad or [value])[0][:40]!r}" + did_you_mean(bad[0] if bad else value, [s.value for s in Status]))
    return out


def _exit_on_failures(store, since: str, statuses: tuple[str, ...], db: Path) -> None:
    """Exit 1 naming the first failures of this run (all of them are in the report)."""
    from ..inert import inert

    counts = {k: n for k, n in store.statuses_since(since).items() if k in statuses} if since else {}
    if not counts:
        return
    total = sum(counts.values())
    first = store.failures_since(since, statuses, limit=3)
    names = "; ".join(f"{inert(r, 80)} ({st})" for r, st, _err in first)
    more = f" and {total - len(first)} more" if total > len(first) else ""
    click.echo(f"audit: {total} repos failed ({', '.join(f'{k} {n}' for k, n in sorted(counts.items()))}): "
               f"{names}{more}; every error: inspector report {_quote(db)} --format md", err=True)
    sys.exit(1)


def _quote(p) -> str:
    import shlex

    return shlex.quote(str(p))


def _resume_command(db, workers, headers, rules_dirs, max_rps, processes_opt, follow_symlinks=False, token=None) -> str:
    """The command line that continues this run with the same settings (the list is in --db)."""
    parts = ["inspector", "audit", "--resume", "--db", _quote(db)]
    if workers != 8:
        parts += ["--workers", str(workers)]
    if headers != "default":
        parts += ["--headers", headers]
    for r in rules_dirs:
        parts += ["--rules", _quote(r)]
    if max_rps:
        parts += ["--max-rps", str(max_rps)]
    if processes_opt != "auto":
        parts += ["--processes", _quote(processes_opt)]
    if follow_symlinks:
        parts.append("--follow-symlinks")
    # Never printed: a token in a terminal or a log outlives the run.
    return " ".join(parts) + (" (and your --token again)" if token else "")


def _describe(authors, search, filters) -> str:
    from ..inert import inert

    bits = [f"--author {inert(a, 60)}" for a in authors] + ([f"--search {inert(search, 60)}"] if search else [])
    return " ".join(bits + [f"--filter {inert(f, 60)}" for f in filters])


class _Stopped(KeyboardInterrupt):
    """SIGTERM, raised where the main thread is, like Ctrl-C's KeyboardInterrupt."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stopped_by(e: BaseException) -> str:
    return "terminated" if isinstance(e, _Stopped) else "interrupted"


@contextlib.contextmanager
def _signals_stop():
    """SIGTERM stops the audit as Ctrl-C does: the main thread unwinds, children are told, one line."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(signum, _frame):
        raise _Stopped(signum)

    old = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _refuse_offline(items, listing: bool) -> None:
    """Under HF_HUB_OFFLINE no Hub repo can be read: say so before recording rows of network errors."""
    import os

    if os.environ.get("HF_HUB_OFFLINE", "").strip().upper() not in ("1", "ON", "YES", "TRUE"):
        return
    hub = [it.repo for it in items if not it.local]
    if listing or hub:
        from ..inert import inert

        what = f"{len(hub)} Hub repos (e.g. {inert(hub[0], 80)})" if hub else "a Hub listing"
        raise UsageError(f"HF_HUB_OFFLINE is set and this audit needs {what}: unset it, or audit local folders with --dir")


def _query(authors, search, filters, sort, limit, shard, population=None, derivatives=False) -> str:
    import json

    q = {"authors": list(authors), "search": search, "filters": list(filters), "sort": sort, "limit": limit,
         "shard": shard}
    if population:
        # The file's absolute path (a shipped name stays a name): --resume from another folder lists the same.
        from ..population import population_path

        path = population_path(population)
        q |= {"population": population if path.parent.name == "populations" and path.stem == population
              else str(path.resolve()), "derivatives": bool(derivatives)}
    return json.dumps(q, sort_keys=True)


def _listing(audit, query: str, *, seen: set[str]):
    """The recorded query, listed in a thread (see audit.Lister)."""
    import json

    from ..audit import Lister
    from ..listing import in_shard, list_hub, parse_shard

    try:
        q = json.loads(query)
        k_n = parse_shard(q["shard"]) if q.get("shard") else None
        if q.get("population"):
            from ..population import list_population, load_population

            pop = load_population(q["population"])
            audit.store.set_meta("run.population", f"{pop.id} ({pop.file}, {len(pop.orgs)} organisations"
                                 + (", with derivatives)" if q.get("derivatives") else ")"))
            items = (it for it, _q in list_population(pop, derivatives=bool(q.get("derivatives")), sort=q.get("sort"),
                                                       limit=q.get("limit"), client=audit.insp.client))
        else:
            items = list_hub(authors=q.get("authors") or (), search=q.get("search"), filters=q.get("filters") or (),
                             sort=q.get("sort"), limit=q.get("limit"), client=audit.insp.client)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise UsageError("the database records a listing this inspector cannot read again; start a new run",
                         where=str(audit.store.path)) from None
    return Lister(audit, items, seen=seen, keep=lambda it: k_n is None or in_shard(it.repo, *k_n)).start()


def _parent_alive():
    import os

    parent = os.getppid()
    return lambda: os.getppid() == parent


def _parse_processes(opt: str) -> int | None:
    """None for `auto`."""
    if opt.strip().lower() == "auto":
        return None
    try:
        n = int(opt)
    except ValueError:
        n = 0
    if not 1 <= n <= 64:
        raise UsageError(f"--processes must be `auto` or a number from 1 to 64, not {opt[:20]!r}")
    return n


def auto_processes(repos: int, workers: int) -> int:
    if repos < AUTO_MIN_REPOS:
        return 1
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, AUTO_MAX_PROCESSES, workers // MIN_WORKERS_PER_PROCESS))


def _run_children(db: Path, todo, processes: int, workers: int, *, resume: bool, refresh: bool, max_rps, headers: str,
                  rules_dirs, store, bar, audit, client, lister=None, isolate: bool = False, passed: list[str] = ()):
    """Audit the recorded list as `processes` parts: this process audits the first, N-1 child
    processes the others, all writing to --db.

    One Python process is bound to one core (the GIL): rule evaluation and HTTP parsing of many repos
    in flight saturate it. The list is in the database, so each child is a --resume of its part (with
    --follow while this process's listing still adds to it). This process is already warm (imports,
    rules, connections), so its part starts while the children start up.
    """
    import threading
    import time
    from multiprocessing.connection import wait

    from ..audit import USABLE, RunStats
    from ..listing import in_shard

    per = max(1, -(-workers // processes))
    args = _child_args(db, per, headers, rules_dirs, max_rps, list(passed))
    if lister is not None:
        args.append("--follow")  # the parent still lists: each child takes its part of what arrives
    start, since = time.monotonic(), audit.run_started
    before = store.statuses_since(since)  # on --resume, what the killed run had finished

    def progress() -> tuple[int, int]:
        """(done, failed) by the processes of this run, from the database every one writes to."""
        now = store.statuses_since(since)
        new = {k: n - before.get(k, 0) for k, n in now.items()}
        done = sum(n for k, n in new.items() if k in USABLE)
        return done, sum(new.values()) - done

    # --isolate: this process only lists, watches and restarts; every part is a child's.
    first = 1 if isolate else 2
    commands = {k: [*args, "--part", f"{k}/{processes}"] for k in range(first, processes + 1)}
    children = dict(zip(commands, _spawn(list(commands.values()), first_part=first), strict=True))
    restarts = dict.fromkeys(commands, 0)
    pending = [c.sentinel for c in children.values()]
    finished = threading.Event()
    # Repos already finished (on --resume, by the killed run): the bar starts past them and ends at 100%.
    already = len(todo) - sum(map(audit.needs_reading, todo))

    def watch() -> None:
        """The bar, from the database (every process writes there), and the listing's end."""
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
        audit.workers, audit.progress = per, None
        if not isolate:
            mine = [it for it in todo if in_shard(it.repo, 1, processes)]
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
                children[k] = _spawn([commands[k]], first_part=k)[0]
                pending.append(children[k].sentinel)
    except BaseException:
        _stop_children(list(children.values()))
        raise
    finally:
        finished.set()
        watcher.join()
    if bar is not None:
        bar.advance_to(*progress(), base=already)
    failed = [c for c in children.values() if c.exitcode != 0]
    if failed:
        raise UsageError(f"{len(failed)} of {processes} audit processes failed (exit {failed[0].exitcode}; their errors are above)")
    stats = RunStats(total=len(todo) + (lister.count if lister is not None else 0), started=start)
    stats.done, stats.failed = progress()
    stats.skipped = max(0, stats.total - stats.done - stats.failed)
    return stats


def _child_args(db: Path, workers: int, headers: str, rules_dirs, max_rps, passed: list[str]) -> list[str]:
    """The command line of a child process: a quiet --resume of the run recorded in --db."""
    args = ["audit", "--resume", "--db", str(db), "--workers", str(workers), "--processes", "1", "--headers", headers, "-q"]
    for r in rules_dirs:
        args += ["--rules", str(r)]
    if max_rps:
        args += ["--max-rps", str(max_rps)]  # each child takes its share of it
    # The token travels in the spawn pipe, not on a command line that `ps` shows.
    return args + passed


def _settle_suspects(store, todo, args: list[str]) -> bool:
    """Repos that were being read when a process died, each read again alone in a child process (one
    at a time, until its row is written or it is recorded as the crash): the run itself goes on."""
    orphans = store.orphans()
    if not any(it.repo in orphans for it in todo):
        return False
    for _ in range(MAX_RESTARTS):
        child = _spawn([[*args, "--part", "1/1", "--suspects-only"]], first_part=1)[0]
        try:
            child.join()
        except BaseException:
            _stop_children([child])
            raise
        if child.exitcode is not None and child.exitcode >= 0:
            break
    return True


# How often one part's child is started again after a crash: each crash leaves its repos in the journal,
# and a repo that takes down two processes is recorded as invalid, so a few restarts always suffice.
MAX_RESTARTS = 8


def _stop_children(children: list) -> None:
    """Forward the stop: SIGTERM to each child (each ends as the parent does), a kill after a second."""
    for c in children:
        if c.is_alive():
            c.terminate()
    for c in children:
        c.join(timeout=1.5)
        if c.is_alive():
            c.kill()
            c.join(timeout=5)


def _spawn(commands: list[list[str]], first_part: int) -> list:
    """A started child process per command line (parts first_part, first_part + 1, ...)."""
    import multiprocessing

    # spawn, not fork: a fresh interpreter per child, no copied locks or sockets of this one.
    ctx = multiprocessing.get_context("spawn")
    children = [ctx.Process(target=_child, args=(args,), name=f"audit-part-{first_part + i}") for i, args in enumerate(commands)]
    for c in children:
        c.start()
    return children


def _child(args: list[str]) -> None:
    """A --processes child: the same command line, in-process (its exit code is the process's)."""
    import signal

    # Ctrl-C reaches the whole process group: the parent alone answers it (one line) and tells its
    # children with SIGTERM, which they answer in silence.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from .root import main

    main(args)


class _Bar:
    """tqdm, only on a terminal: a log file gets the summary, not a stream of carriage returns."""

    def __init__(self) -> None:
        self.bar = None

    def start(self, total: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit="repo", dynamic_ncols=True, smoothing=0.1, file=sys.stderr)

    def update(self, _out, stats) -> None:
        if self.bar is not None:
            self.grow_to(stats.total)  # a listing still paging adds to the total
            self.bar.set_postfix(done=stats.done, failed=stats.failed, unchanged=stats.skipped, refresh=False)
            self.bar.update(1)

    def grow_to(self, total: int) -> None:
        if self.bar is not None and total > (self.bar.total or 0):
            self.bar.total = total
            self.bar.refresh()

    def advance_to(self, done: int, failed: int = 0, base: int = 0) -> None:
        if self.bar is not None and base + done + failed > self.bar.n:
            self.bar.set_postfix(done=done, failed=failed, refresh=False)
            self.bar.update(base + done + failed - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _progress_bar(quiet: bool) -> _Bar | None:
    """A bar where it is seen: on stderr (where it writes) when that is a terminal, unless the user
    turned bars off the Hugging Face way or tqdm's."""
    import os

    off = {"1", "ON", "YES", "TRUE"}
    if quiet or not sys.stderr.isatty():
        return None
    if any(os.environ.get(k, "").strip().upper() in off for k in ("HF_HUB_DISABLE_PROGRESS_BARS", "TQDM_DISABLE")):
        return None
    return _Bar()


@command.command("export")
@click.option("--db", type=click.Path(path_type=Path), default=Path("audit.sqlite"), show_default=True)
@format_option("jsonl", "csv", "parquet", default="jsonl", json_as="jsonl",
               help="jsonl: the inspection's JSON, one object a line; csv: the report's flat schema; parquet (needs -o).")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="File to write (default: stdout).")
def export_cmd(db: Path, fmt: str, output: Path | None) -> None:
    """A row per repo (its latest audit): the inspection's JSON contract (jsonl, parquet), or the
    report's one flat CSV schema."""
    from ..export import export
    from ..store import Store

    if fmt == "parquet" and output is None:
        raise UsageError("--format parquet needs -o FILE")
    with Store(db, readonly=True) as store:
        n = export(store, fmt, output if output is not None else sys.stdout)
    if output is not None:
        click.echo(f"{n} repos written to {output}", err=True)


@command.command("merge")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="Merged database.")
def merge_cmd(sources: tuple[Path, ...], output: Path) -> None:
    """Union of audit databases (e.g. the shards of one audit); a newer row wins for the same (repo, sha)."""
    from ..store import merge

    if output.resolve() in {s.resolve() for s in sources}:
        raise UsageError("-o must not be one of the sources", where=str(output))
    n = merge(output, list(sources))
    click.echo(f"{n} rows in {output}", err=True)
