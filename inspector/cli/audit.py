"""`inspector audit`: bulk runs into SQLite, plus `export` and `merge`. Errors reach cli.main's handler."""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import replace
from pathlib import Path

import click

from ..audit.parallel import AUTO_MIN_REPOS, AUTO_MIN_REPOS_FORKED
from ..errors import UsageError
from .options import follow_symlinks_option, format_option, headers_option, rules_option, token_option

STDIN = "-"  # `--from -`: the list comes on standard input


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
                   f"for {AUTO_MIN_REPOS_FORKED} repos or more ({AUTO_MIN_REPOS} where children cannot be forked "
                   "from this process), else 1. One Python process runs its rules and HTTP on one core.")
@click.option("--isolate/--in-process", default=True, show_default=True,
              help="--isolate: repos are read in child processes only (this one lists, watches and restarts them), "
                   "so a parser that takes down the interpreter costs one row, never the run. --in-process: this "
                   "process reads a part itself (for a debugger; a C-level crash then ends the run, --resume "
                   "records the repo as invalid).")
@click.option("--part", hidden=True, help="K/N: with --resume, audit only this part of the recorded list, as a child does.")
@click.option("--follow", is_flag=True, hidden=True, help="With --part: also audit what the parent's listing still records.")
@click.option("--suspects-only", is_flag=True, hidden=True,
              help="With --part: read only the repos a dead process left in flight, one at a time.")
@click.option("--fail-on", default="any", show_default=True,
              help="Exit 1 when a repo of this run ends with one of these statuses (comma-separated), "
                   "`any` failure, or `none`.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary.")
@click.pass_context
def command(ctx: click.Context, from_file, authors, search, filters, population, derivatives, sort, limit, local_dir,
            follow_symlinks, db, workers, resume, refresh, max_rps, shard, token, headers, rules_dirs, processes_opt,
            isolate, part, follow, suspects_only, fail_on, quiet) -> None:
    """Audit many repos into SQLite; resumable. Subcommands: export, merge.

    Repos are read in child processes (--isolate, the default): a crash of a parser costs that repo
    one `invalid` row and the run goes on."""
    if ctx.invoked_subcommand is not None:
        return
    fail_statuses = _parse_fail_on(fail_on)
    from ..audit.parallel import PartSpec, warm_children  # light: the audit's machinery loads on use
    from ..transport.endpoint import check_env

    check_env()  # before huggingface_hub, which parses HF_ENDPOINT at import

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

    # What every child process is told: the run's settings (the list is in --db).
    spec = PartSpec(db=db, workers=workers, headers=headers, rules_dirs=tuple(rules_dirs), max_rps=max_rps, token=token,
                    follow_symlinks=follow_symlinks)
    fixed_processes = _parse_processes(processes_opt)

    from ..api import Inspector
    from ..audit import Audit, Lister, listing_query, render_summary, start_listing, summarize
    from ..audit.parallel import freeze_loaded, hard_exit, read_planned, run_part, signals_stop, stopped_by
    from ..listing import dedupe, in_shard, list_dir, parse_shard, read_list, read_list_stream
    from ..store import Store

    k_n = parse_shard(shard) if shard else None
    part_k_n = parse_shard(part, "part") if part else None
    if part_k_n and not resume:
        raise UsageError("--part is for the child processes of --processes (with --resume)")
    if part_k_n:
        # One part, in this process: what a child does (its exit code says nothing of failed repos).
        try:
            stats, summary = run_part(replace(spec, part=part_k_n, follow=follow, suspects_only=suspects_only),
                                      summary=not quiet)
        except KeyboardInterrupt as e:
            hard_exit(e)
        if summary is not None:
            click.echo(render_summary(summary, stats))
        return
    resume_cmd = _resume_command(db, workers, headers, rules_dirs, max_rps, processes_opt, follow_symlinks, token,
                                 isolate)

    client = None
    if not local_dir or from_file or listed or resume:
        from ..transport.http import HubClient

        client = HubClient(max_rps=max_rps, token=token)
        spec = replace(spec, endpoint=client.endpoint)
    # Loaded here even when children read every repo: a broken rule file is refused before anything is recorded.
    insp = Inspector(extra_rules=list(rules_dirs), headers=headers, client=client, token=token,
                     follow_symlinks=follow_symlinks)
    freeze_loaded()  # this process may audit too (--in-process); forked children share what it froze
    # The children start before the list is read and planned, forked from this process (its imports and
    # rules) while it has no thread, no connection and no database open: no run waits for a cold start.
    if client is not None:
        from ..transport.http import warm_session

        warm_session()  # before the children: its ~50 ms would otherwise delay the listing's first page
    warm = warm_children(spec, fixed_processes, _expected_repos(from_file, listed, resume),
                         rules=insp.rules) if isolate and not part else []
    for w in warm:
        ctx.call_on_close(w.close)

    # Read before the database is opened: a list that cannot be read leaves no database behind.
    found = []
    if from_file and not resume:
        found += read_list_stream(sys.stdin.buffer) if str(from_file) == STDIN else read_list(from_file)
    if local_dir and not resume:
        found += list_dir(local_dir)

    with Store(db) as store, signals_stop():
        store.claim()
        _record_run(store, client, rules_dirs)
        bar = _progress_bar(quiet)
        audit = Audit(insp, store, workers=workers, refresh=refresh, progress=bar.update if bar else None)
        lister: Lister | None = None
        stats = None
        try:
            if resume:
                todo = audit.plan(None, resume=True)
                if audit.listed != "1":
                    # Killed (or failed) while the Hub was still listing: list again, queue what is new.
                    lister = start_listing(audit, audit.query, seen={it.repo for it in todo})
                _refuse_offline(todo, audit.listed != "1")
            else:
                items = [it for it in dedupe(found) if k_n is None or in_shard(it.repo, *k_n)]
                _refuse_offline(items, listed)
                query = listing_query(authors, search, filters, sort, limit, shard, population, derivatives) if listed else None
                todo = audit.plan(items, listing=query)
                if query:
                    # Streamed: the first page is audited while the Hub pages the rest.
                    lister = start_listing(audit, query, seen={it.repo for it in items})
            stats = read_planned(audit, todo, spec, processes=fixed_processes, isolate=isolate, lister=lister,
                                 client=client, bar=bar, warm=warm)
            if lister is not None and lister.count == 0 and not todo:
                click.echo(f"warning: the listing ({_describe(authors, search, filters) or 'recorded query'}) "
                           "matched no models: nothing was audited", err=True)
            audit.finish()
        except KeyboardInterrupt as e:
            if bar:
                bar.close()
                bar = None
            if not quiet:
                n = sum(store.statuses_since(audit.run_started).values()) if audit.run_started else 0
                click.echo(f"{stopped_by(e)}: {n} repos audited in this run; continue with: {resume_cmd}", err=True)
            store.close()  # every finished repo is committed
            hard_exit(e)
        finally:
            if bar:
                bar.close()
        if not quiet:
            click.echo(render_summary(summarize(store, audit.queued_repos()), stats))
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


def _resume_command(db, workers, headers, rules_dirs, max_rps, processes_opt, follow_symlinks=False, token=None,
                    isolate=True) -> str:
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
    if not isolate:
        parts.append("--in-process")
    # Never printed: a token in a terminal or a log outlives the run.
    return " ".join(parts) + (" (and your --token again)" if token else "")


def _describe(authors, search, filters) -> str:
    from ..inert import inert

    bits = [f"--author {inert(a, 60)}" for a in authors] + ([f"--search {inert(search, 60)}"] if search else [])
    return " ".join(bits + [f"--filter {inert(f, 60)}" for f in filters])


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


def _expected_repos(from_file: Path | None, listed: bool, resume: bool) -> int | None:
    """About how many repos the run has, before anything is read: None when only the listing (or the
    recorded run) will tell; for a regular list file its lines, counted up to AUTO_MIN_REPOS (all the
    choice needs: a pipe or a FIFO is not read twice, /dev/zero not forever); else 1."""
    if listed or resume:
        return None
    if from_file is None or str(from_file) == STDIN:
        return 1
    lines = 0
    try:
        if not stat.S_ISREG(os.stat(from_file).st_mode):
            return 1
        with open(from_file, "rb") as f:
            while lines < AUTO_MIN_REPOS and (chunk := f.read(1 << 16)):
                lines += chunk.count(b"\n")
    except OSError:
        return 1  # refused later, in one line, by the list's reader
    return lines


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
