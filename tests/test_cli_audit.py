"""`inspector audit` from the command line, including a run killed with SIGKILL and resumed."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SAMPLES

from inspector.cli import main
from inspector.status import is_usable

QWEN = SAMPLES / "Qwen__Qwen-7B"


def run(*args: str):
    return CliRunner().invoke(main, ["audit", *map(str, args)])


def test_audit_a_folder_of_local_models_then_again_without_work(tmp_path):
    db = tmp_path / "a.sqlite"
    r = run("--dir", SAMPLES, "--db", db)
    assert r.exit_code == 0, r.output
    n = sum(1 for p in SAMPLES.iterdir() if p.is_dir())
    assert f"{n} done, 0 failed" in r.output and "lineage" in r.output
    r = run("--dir", SAMPLES, "--db", db)
    assert f"0 done, 0 failed, {n} unchanged" in r.output
    assert sqlite3.connect(db).execute("SELECT count(*) FROM results").fetchone()[0] == n


def test_export_and_merge_commands(tmp_path):
    a, b = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    assert run("--dir", SAMPLES, "--db", a, "--shard", "1/2", "-q").exit_code == 0
    assert run("--dir", SAMPLES, "--db", b, "--shard", "2/2", "-q").exit_code == 0
    r = run("merge", a, b, "-o", tmp_path / "all.sqlite")
    assert r.exit_code == 0, r.output
    r = run("export", "--db", tmp_path / "all.sqlite", "--format", "jsonl")
    assert r.exit_code == 0, r.output
    recs = [json.loads(line) for line in r.output.splitlines() if line.startswith("{")]
    assert len(recs) == sum(1 for p in SAMPLES.iterdir() if p.is_dir())
    assert all("lineage" in x and "evidence" in x for x in recs)
    out = tmp_path / "o.csv"
    assert run("export", "--db", a, "--format", "csv", "-o", out).exit_code == 0
    from inspector.report import CSV_FIELDS

    assert out.read_text().startswith(",".join(CSV_FIELDS) + "\n")  # the report's CSV schema: one for both


@pytest.mark.parametrize("args, message", [
    ((), "nothing to audit"),
    (("--resume", "--dir", "samples"), "give no"),
    (("--dir", "samples", "--sort", "likes"), "apply to Hub listings"),
    (("--dir", "samples", "--shard", "3/2"), "--shard"),
    (("export", "--db", "nope.sqlite"), "no such audit database"),
    (("export", "--db", "x", "--format", "parquet"), "needs -o"),
])
def test_usage_errors_are_one_line_and_exit_2(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x").touch()
    r = run(*args)
    assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output


def test_a_run_killed_with_sigkill_resumes_with_exactly_one_row_per_repo(hub, tmp_path):
    repos = [f"org/m{i:02d}" for i in range(24)]
    for r in repos:
        hub.add_folder(r, QWEN)
    hub.set_faults(latency=0.03)  # slow enough to be killed mid-run, fast enough for a test
    db = tmp_path / "a.sqlite"
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")}
    env.update(hub.env(tmp_path / "hf"))
    cmd = [sys.executable, "-c", "from inspector.cli import main; main()",
           "audit", "--author", "org", "--db", str(db), "--workers", "2", "--quiet"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        done = 0
        deadline = time.monotonic() + 60
        while done < 5 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)  # polling a subprocess, not a backoff
            if db.exists():
                try:
                    done = sqlite3.connect(db).execute("SELECT count(*) FROM results").fetchone()[0]
                except sqlite3.OperationalError:
                    done = 0
        assert proc.poll() is None, proc.stderr.read()
        # A second audit on the same --db while the first runs: refused in one line, the list kept.
        (tmp_path / "other.txt").write_text("org/other\n")
        second = run("--from", tmp_path / "other.txt", "--db", db, "--quiet")
        assert second.exit_code == 1 and "another audit (pid" in second.output
        assert len(second.output.strip().splitlines()) == 1
        readers = _children_of(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(10)
    # Its child processes end with it: a --resume never runs beside readers of the dead run.
    deadline = time.monotonic() + 30
    while any(map(_alive, readers)) and time.monotonic() < deadline:
        time.sleep(0.02)  # polling processes, not a backoff
    assert readers and not any(map(_alive, readers))
    before = {r for (r,) in sqlite3.connect(db).execute("SELECT repo FROM results")}
    assert 5 <= len(before) < len(repos)
    # After the kill, a new run would make --resume forget the first list: refused, with the way on.
    second = run("--from", tmp_path / "other.txt", "--db", db, "--quiet")
    assert second.exit_code == 2 and "did not finish" in second.output and "--resume" in second.output
    hub.clear_faults()
    hub.reset_stats()
    # In a process of its own: the repos in flight at the kill are read again in a child process,
    # which finds the fake Hub by the environment.
    r = subprocess.run([*cmd[:3], "audit", "--resume", "--db", str(db), "--quiet"], env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    counts = Counter(x for (x,) in sqlite3.connect(db).execute("SELECT repo FROM results"))
    assert set(counts) == set(repos) and set(counts.values()) == {1}
    assert not set(hub.stats.by_repo) & before  # nothing finished before the kill was read again
    assert hub.stats.by_kind["list"] == 0 and hub.stats.by_kind["api"] == 0  # the queue came from the db
    statuses = {s for (s,) in sqlite3.connect(db).execute("SELECT status FROM results")}
    assert statuses == {"ok"}


def test_processes_split_the_list_and_write_one_row_per_repo(tmp_path):
    """--processes 2: two child processes (--resume --part k/2) share the recorded list and the db."""
    import sqlite3
    import subprocess
    import sys

    from conftest import SAMPLES

    db = tmp_path / "p.sqlite"
    out = subprocess.run([sys.executable, "-m", "inspector", "audit", "--dir", str(SAMPLES), "--db", str(db),
                          "--workers", "4", "--processes", "2", "-q"], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    folders = {p.name for p in SAMPLES.iterdir() if p.is_dir()}
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT repo, COUNT(*) FROM results GROUP BY repo").fetchall()
    assert {r.rsplit("/", 1)[-1] for r, _n in rows} == folders
    assert all(n == 1 for _r, n in rows)


def test_a_part_without_resume_is_a_usage_error(tmp_path):
    r = CliRunner().invoke(main, ["audit", "--dir", str(tmp_path), "--part", "1/2", "--db", str(tmp_path / "x.sqlite")])
    assert r.exit_code == 2 and "--part" in r.output


def test_processes_started_during_a_listing_each_take_their_part(hub, tmp_path):
    """--processes 2 with a Hub listing: the children start while the parent lists, then split the list."""
    from fakehub import from_folder

    files = from_folder(SAMPLES / "TheBloke__Llama-2-7B-fp16")
    repos = [f"procs/m{i}" for i in range(6)]
    for r in repos:
        hub.add_repo(r, files)
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")}
    env.update(hub.env(tmp_path / "hf"))
    db = tmp_path / "p.sqlite"
    out = subprocess.run([sys.executable, "-m", "inspector", "audit", "--author", "procs", "--db", str(db),
                          "--workers", "4", "--processes", "2", "-q"], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    with sqlite3.connect(db) as con:
        rows = dict(con.execute("SELECT repo, COUNT(*) FROM results GROUP BY repo").fetchall())
    assert rows == dict.fromkeys(repos, 1)


@pytest.mark.parametrize("value", ["0", "65", "two", ""])
def test_a_bad_processes_value_is_a_usage_error(tmp_path, value):
    r = CliRunner().invoke(main, ["audit", "--dir", str(tmp_path), "--processes", value, "--db", str(tmp_path / "x.sqlite")])
    assert r.exit_code == 2 and "--processes" in r.output


def test_auto_processes_stay_one_for_a_short_list_and_follow_the_cores_for_a_long_one(monkeypatch):
    from inspector.audit import parallel

    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1, 2, 3, 4, 5, 6, 7}, raising=False)
    assert parallel.auto_processes(parallel.AUTO_MIN_REPOS - 1, 16) == 1
    assert parallel.auto_processes(parallel.AUTO_MIN_REPOS, 16) == 4  # at most 4, each with 4 workers
    assert parallel.auto_processes(10_000, 8) == 2
    assert parallel.auto_processes(10_000, 2) == 1
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0}, raising=False)
    assert parallel.auto_processes(10_000, 16) == 1


def test_a_listing_cut_short_audits_what_it_listed_and_resume_lists_the_rest(hub, tmp_path, monkeypatch):
    """The listing is streamed: repos are audited as pages arrive. A page that fails ends the run with a
    one-line error after the listed repos are recorded; --resume lists again and audits only the rest."""
    monkeypatch.chdir(tmp_path)
    repos = [f"stream/m{i:02d}" for i in range(12)]
    for r in repos:
        hub.add_folder(r, QWEN)
    hub.page_size = 5
    hub.fail_next(1, 400, "cursor=")  # the second page
    db = tmp_path / "s.sqlite"
    r = run("--author", "stream", "--db", str(db), "--workers", "2", "--quiet")
    assert r.exit_code == 1 and "listing failed" in r.output and "Traceback" not in r.output  # NetworkError
    assert len(r.output.strip().splitlines()) == 1
    with sqlite3.connect(db) as con:
        first = {x for (x,) in con.execute("SELECT repo FROM results")}
        listed = con.execute("SELECT value FROM meta WHERE key = 'run.listed'").fetchone()[0]
    assert first == set(repos[:5]) and listed == "error"
    hub.reset_stats()
    r = run("--resume", "--db", str(db), "--quiet")
    assert r.exit_code == 0, r.output
    with sqlite3.connect(db) as con:
        counts = Counter(x for (x,) in con.execute("SELECT repo FROM results"))
        listed = con.execute("SELECT value FROM meta WHERE key = 'run.listed'").fetchone()[0]
    assert counts == Counter(dict.fromkeys(repos, 1)) and listed == "1"
    assert not set(hub.stats.by_repo) & first  # what the first run finished is not read again


def test_follow_ends_when_the_listing_ends_or_its_process_is_gone(tmp_path):
    from inspector.api import Inspector
    from inspector.audit import Audit
    from inspector.listing import Item
    from inspector.store import Store

    with Store(tmp_path / "f.sqlite") as store:
        audit = Audit(Inspector(), store)
        audit.plan([], listing="{}")
        audit.record([Item("a/b", "1" * 40), Item("a/c", "2" * 40)])
        naps: list[float] = []
        got = [it.repo for it in audit.follow(alive=lambda: len(naps) < 2, sleep=naps.append)]
        assert got == ["a/b", "a/c"] and len(naps) == 2  # still listing: it waited, until the lister was gone
        store.set_meta("run.listed", "1")
        audit.record([Item("a/d", "3" * 40)])
        assert [it.repo for it in audit.follow(sleep=naps.append)] == ["a/b", "a/c", "a/d"]


def test_follow_looks_again_soon_then_less_often_while_the_queue_stays_empty(tmp_path):
    from inspector.api import Inspector
    from inspector.audit import Audit
    from inspector.store import Store

    with Store(tmp_path / "f.sqlite") as store:
        audit = Audit(Inspector(), store)
        audit.plan([], listing="{}")
        naps: list[float] = []
        assert list(audit.follow(alive=lambda: len(naps) < 8, sleep=naps.append, poll=0.1)) == []
        assert naps == [0.005, 0.01, 0.02, 0.04, 0.08, 0.1, 0.1, 0.1]


def test_a_refresh_over_processes_counts_what_it_did_again(tmp_path):
    """Re-audited rows replace theirs: the summary counts them by finish time, not by row count."""
    db = tmp_path / "r.sqlite"
    base = [sys.executable, "-m", "inspector", "audit", "--dir", str(SAMPLES), "--db", str(db), "--workers", "4",
            "--processes", "2"]
    assert subprocess.run([*base, "-q"], capture_output=True, text=True, cwd=tmp_path).returncode == 0
    out = subprocess.run([*base, "--refresh"], capture_output=True, text=True, cwd=tmp_path)
    n = sum(1 for p in SAMPLES.iterdir() if p.is_dir())
    assert out.returncode == 0, out.stderr
    assert f"{n} repos: {n} done, 0 failed, 0 unchanged" in out.stdout, out.stdout


def test_a_list_with_a_revision_is_audited_and_summarised_under_its_repo(hub, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    hub.add_folder("rev/q", QWEN)
    (tmp_path / "list.txt").write_text("rev/q@main\n")
    r = run("--from", tmp_path / "list.txt", "--db", tmp_path / "v.sqlite")
    assert r.exit_code == 0, r.output
    assert "1 repos: 1 done" in r.output and "1 repos in the store's view" in r.output


def test_a_long_listing_as_typed_audits_every_repo_once(hub, tmp_path):
    """The default command on more than AUTO_MIN_REPOS listed repos: the listing streams over many
    pages while this process and (on a multi-core machine) child processes audit their parts."""
    from fakehub import from_folder

    from inspector.audit.parallel import AUTO_MIN_REPOS

    files = from_folder(SAMPLES / "Qwen__Qwen3-4B__sophgo-copy")
    repos = [f"many/m{i:03d}" for i in range(AUTO_MIN_REPOS + 40)]
    for r in repos:
        hub.add_repo(r, files)
    hub.page_size = 20
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")}
    env.update(hub.env(tmp_path / "hf"))
    db = tmp_path / "many.sqlite"
    out = subprocess.run([sys.executable, "-m", "inspector", "audit", "--author", "many", "--db", str(db),
                          "--workers", "8"], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    assert f"{len(repos)} repos: {len(repos)} done, 0 failed" in out.stdout, out.stdout
    with sqlite3.connect(db) as con:
        rows = dict(con.execute("SELECT repo, COUNT(*) FROM results GROUP BY repo").fetchall())
        listed = con.execute("SELECT value FROM meta WHERE key = 'run.listed'").fetchone()[0]
    assert rows == dict.fromkeys(repos, 1) and listed == "1"


def test_a_recorded_listing_that_cannot_be_read_again_is_a_usage_error(tmp_path):
    from inspector.store import Store

    db = tmp_path / "q.sqlite"
    with Store(db) as store:
        store.set_queue([], {"run.started": "2026-01-01T00:00:00+00:00", "run.listed": "0", "run.query": "{not json"})
    r = run("--resume", "--db", db)
    assert r.exit_code == 2 and "cannot read again" in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1


# ---- a parse that kills the interpreter costs one row


def crash_dir(tmp_path, n: int = 4, part: tuple[int, int] | None = None):
    """Copies of real samples in a folder, one of them named for the crash hook (in `part` if given)."""
    import shutil

    from inspector.listing import in_shard

    root = tmp_path / "models"
    root.mkdir()
    for p in sorted(q for q in SAMPLES.iterdir() if q.is_dir())[:n]:
        shutil.copytree(p, root / p.name)
    i = 0
    while part and not in_shard(str(root / f"crash-me-{i}"), *part):
        i += 1
    shutil.copytree(QWEN, root / f"crash-me-{i}")
    return root, f"crash-me-{i}"


def audit_proc(args, env_extra=None, **kw):
    env = {**os.environ, "INSPECTOR_TEST_CRASH_ON": "crash-me", **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "inspector", "audit", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=300, **kw)


def statuses(db) -> dict[str, tuple[str, str]]:
    with sqlite3.connect(db) as con:
        return {r.rsplit("/", 1)[-1]: (s, e or "") for r, s, e in con.execute("SELECT repo, status, error FROM results")}


def test_in_process_a_parse_that_aborts_ends_the_run_and_resume_costs_one_row(tmp_path):
    root, crasher = crash_dir(tmp_path)
    db = tmp_path / "a.sqlite"
    first = audit_proc(["--dir", root, "--db", db, "--workers", "2", "--processes", "1", "--in-process", "-q"])
    assert first.returncode == -signal.SIGABRT  # the whole interpreter, as a C-level crash would
    # One --resume: the repos in flight at the crash are read again alone, each in a child process.
    r = audit_proc(["--resume", "--db", db, "--workers", "2", "--processes", "1", "--in-process", "-q"])
    assert r.returncode == 1, r.stderr  # a repo failed: it is named
    assert crasher in r.stderr and "invalid" in r.stderr
    got = statuses(db)
    assert len(got) == 5
    bad = {k: v for k, v in got.items() if not is_usable(v[0])}
    assert list(bad) == [crasher] and bad[crasher][0] == "invalid" and "parser crash" in bad[crasher][1]
    # Never retried again: a further --resume has nothing to do and does not crash.
    again = audit_proc(["--resume", "--db", db, "--processes", "1", "--in-process", "-q"])
    assert again.returncode == 1 and statuses(db) == got


@pytest.mark.parametrize("source", ["--author", "--from"])
def test_by_default_a_parse_that_aborts_costs_one_invalid_row_and_the_run_goes_on(hub, tmp_path, source):
    """The command as typed, against the Hub: every repo is read in a child process, so the crash
    costs its repo one row; the exit code is 1 because a repo of the run failed (--fail-on any)."""
    repos = ["crash/m0", "crash/crash-me", "crash/m1"] if source == "--author" else ["crash/m0", "crash/crash-me"]
    for r in repos:
        hub.add_folder(r, QWEN)
    (tmp_path / "list.txt").write_text("\n".join(repos) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")}
    env.update(hub.env(tmp_path / "hf"))
    db = tmp_path / "a.sqlite"
    r = audit_proc([source, "crash" if source == "--author" else tmp_path / "list.txt", "--db", db], env_extra=env)
    assert r.returncode == 1, r.stderr
    assert "1 repos failed (invalid 1): crash/crash-me (invalid)" in r.stderr and "Traceback" not in r.stderr
    assert f"{len(repos)} repos: {len(repos) - 1} done, 1 failed" in r.stdout
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT repo, status, error FROM results").fetchall()
        state = con.execute("SELECT value FROM meta WHERE key = 'run.state'").fetchone()[0]
    assert sorted(r for r, _s, _e in rows) == sorted(repos)  # one row each
    assert {r: s for r, s, _e in rows} == {r: "invalid" if "crash-me" in r else "ok" for r in repos}
    assert "parser crash" in next(e for r, _s, e in rows if "crash-me" in r)
    assert state == "done"  # nothing left for --resume
    # --in-process, the opt-out: the crash ends the run, as before.
    inproc = audit_proc([source, "crash" if source == "--author" else tmp_path / "list.txt", "--db",
                         tmp_path / "b.sqlite", "--in-process", "-q"], env_extra=env)
    assert inproc.returncode == -signal.SIGABRT


def test_the_parent_restarts_a_child_that_crashed_and_the_run_goes_on(tmp_path):
    root, crasher = crash_dir(tmp_path, n=6, part=(2, 2))  # in the child's part
    db = tmp_path / "a.sqlite"
    # --in-process: this process audits part 1 itself; the child that crashes on part 2 is restarted.
    r = audit_proc(["--dir", root, "--db", db, "--workers", "4", "--processes", "2", "--in-process", "-q"])
    assert r.returncode == 1, r.stderr  # one invocation: the crash cost one row, not the run
    got = statuses(db)
    assert len(got) == 7
    assert [k for k, v in got.items() if not is_usable(v[0])] == [crasher]


# ---- stops, exit codes and conventions


@pytest.mark.parametrize("sig, word", [(signal.SIGTERM, "terminated"), (signal.SIGINT, "interrupted")])
def test_a_signal_stops_parent_and_children_with_one_line_and_resume_finishes(hub, tmp_path, sig, word):
    repos = [f"org/m{i:02d}" for i in range(40)]
    for r in repos:
        hub.add_folder(r, QWEN)
    hub.set_faults(latency=0.05)
    db = tmp_path / "a.sqlite"
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")}
    env.update(hub.env(tmp_path / "hf"))
    cmd = [sys.executable, "-m", "inspector", "audit", "--author", "org", "--db", str(db), "--workers", "4",
           "--processes", "2"]
    # A session of its own: Ctrl-C is a SIGINT to the whole process group, as a terminal sends it.
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    children: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        done = 0
        while (done < 3 or not children) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)  # polling a subprocess, not a backoff
            children = _children_of(proc.pid)
            with contextlib.suppress(sqlite3.Error):
                done = sqlite3.connect(db).execute("SELECT count(*) FROM results").fetchone()[0] if db.exists() else 0
        assert proc.poll() is None and children
        if sig == signal.SIGINT:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        err = proc.communicate(timeout=30)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 128 + sig, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"{word}: ") and "repos audited in this run" in lines[0]
    assert f"continue with: inspector audit --resume --db {db} --workers 4 --processes 2" in lines[0]
    assert not {p for p in children if _alive(p)}  # the children were told, and ended with it
    hub.clear_faults()
    r = subprocess.run([*cmd[:3], "audit", "--resume", "--db", str(db), "--quiet", "--processes", "1"], env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    counts = Counter(x for (x,) in sqlite3.connect(db).execute("SELECT repo FROM results"))
    assert set(counts) == set(repos) and set(counts.values()) == {1}


def _children_of(pid: int) -> set[int]:
    """The audit processes `pid` started (not multiprocessing's resource tracker)."""
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and b"resource_tracker" not in (stat.parent / "cmdline").read_bytes():
                out.add(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_failed_repos_make_exit_1_and_are_named_unless_fail_on_says_otherwise(hub, tmp_path, monkeypatch):
    hub.add_folder("org/good", QWEN)
    for k, v in hub.env(tmp_path / "hf").items():
        monkeypatch.setenv(k, v)
    (tmp_path / "list.txt").write_text("org/good\norg/missing\n")
    r = run("--from", tmp_path / "list.txt", "--db", tmp_path / "a.sqlite", "-q")
    assert r.exit_code == 1 and "1 repos failed (not_found 1): org/missing (not_found)" in r.output
    assert "inspector report" in r.output
    for fail_on, code in (("none", 0), ("invalid,network_error", 0), ("not_found", 1)):
        r = run("--from", tmp_path / "list.txt", "--db", tmp_path / f"{fail_on}.sqlite", "-q", "--fail-on", fail_on)
        assert r.exit_code == code, r.output
    r = run("--from", tmp_path / "list.txt", "--db", tmp_path / "x.sqlite", "--fail-on", "invalidd")
    assert r.exit_code == 2 and "did you mean 'invalid'" in r.output


def test_hub_ids_under_hf_hub_offline_are_refused_up_front(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (tmp_path / "list.txt").write_text("org/a\norg/b\n")
    for args in (["--from", tmp_path / "list.txt"], ["--author", "org"]):
        r = run(*args, "--db", tmp_path / "a.sqlite")
        assert r.exit_code == 2 and "HF_HUB_OFFLINE" in r.output
    assert not (tmp_path / "a.sqlite").exists() or sqlite3.connect(tmp_path / "a.sqlite").execute(
        "SELECT count(*) FROM results").fetchone()[0] == 0
    assert run("--dir", SAMPLES, "--db", tmp_path / "local.sqlite", "-q").exit_code == 0  # folders need no Hub


def test_a_listing_that_matches_nothing_warns(hub, tmp_path, monkeypatch):
    for k, v in hub.env(tmp_path / "hf").items():
        monkeypatch.setenv(k, v)
    r = run("--author", "nobody", "--db", tmp_path / "a.sqlite", "-q")
    assert r.exit_code == 0 and "warning: the listing (--author nobody) matched no models" in r.output, r.output


@pytest.mark.parametrize("args", [
    ["report", "{db}"], ["audit", "export", "--db", "{db}"], ["audit", "merge", "{db}", "-o", "{out}"],
    ["audit", "--resume", "--db", "{db}"]])
def test_a_missing_database_is_never_created(tmp_path, args):
    db, out = tmp_path / "nope.sqlite", tmp_path / "out.sqlite"
    r = CliRunner().invoke(main, [a.format(db=db, out=out) for a in args])
    assert r.exit_code == 2 and "no such audit database" in r.output
    assert not db.exists() and not out.exists()


@pytest.mark.parametrize("env, tty, shown", [
    ({}, True, True), ({}, False, False), ({"HF_HUB_DISABLE_PROGRESS_BARS": "1"}, True, False),
    ({"TQDM_DISABLE": "1"}, True, False)])
def test_the_progress_bar_shows_only_on_a_terminal_stderr_unless_turned_off(monkeypatch, env, tty, shown):
    from inspector.cli import audit as cli_audit

    for k in ("HF_HUB_DISABLE_PROGRESS_BARS", "TQDM_DISABLE"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)

    class Stderr:
        def isatty(self):
            return tty

    monkeypatch.setattr(cli_audit.sys, "stderr", Stderr())
    monkeypatch.setattr(cli_audit.sys.stdout, "isatty", lambda: not tty, raising=False)
    assert (cli_audit._progress_bar(False) is not None) is shown


@pytest.mark.parametrize("processes", ["1", "2"])
def test_the_bar_of_a_resumed_run_ends_at_100_percent(tmp_path, monkeypatch, processes):
    from inspector.cli import audit as cli_audit

    db = tmp_path / "a.sqlite"
    assert run("--dir", SAMPLES, "--db", db, "-q").exit_code == 0
    with sqlite3.connect(db) as con:  # as a run killed two thirds of the way leaves it
        con.execute("UPDATE meta SET value = 'running' WHERE key = 'run.state'")
        con.execute("DELETE FROM results WHERE rowid % 3 = 0")
    bars = []

    class Bar(cli_audit._Bar):
        def close(self):
            bars.append((self.bar.n, self.bar.total))
            super().close()

    monkeypatch.setattr(cli_audit, "_progress_bar", lambda quiet: Bar())
    r = run("--resume", "--db", db, "--processes", processes)
    assert r.exit_code == 0, r.output
    n = sum(1 for p in SAMPLES.iterdir() if p.is_dir())
    assert bars == [(n, n)]


def test_a_full_disk_mid_audit_is_one_line_and_resume_finishes(tmp_path, monkeypatch):
    from inspector.store import Store

    db = tmp_path / "a.sqlite"
    real_put = Store.put
    puts = []

    def put_then_fill_the_disk(self, row):
        real_put(self, row)
        puts.append(row.repo)
        if len(puts) == 3:  # SQLite answers SQLITE_FULL from now on, as a full file system does
            n = self.db.execute("PRAGMA page_count").fetchone()[0]
            self.db.execute(f"PRAGMA max_page_count = {n}")

    monkeypatch.setattr(Store, "put", put_then_fill_the_disk)
    r = run("--dir", SAMPLES, "--db", db, "--processes", "1", "--in-process", "-q")  # the patch is in this process
    assert r.exit_code == 1 and "Traceback" not in r.output and "internal error" not in r.output
    assert r.output.count("\n") == 1 and "database or disk is full" in r.output and "--resume" in r.output
    with sqlite3.connect(db) as con:
        assert {x for (x,) in con.execute("SELECT repo FROM results")} == set(puts[:3])
    monkeypatch.setattr(Store, "put", real_put)
    r = run("--resume", "--db", db, "--processes", "1", "-q")
    assert r.exit_code == 0, r.output
    n = sum(1 for p in SAMPLES.iterdir() if p.is_dir())
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT count(*), count(DISTINCT repo) FROM results").fetchone() == (n, n)


def test_isolate_survives_a_crash_in_a_single_process_run(tmp_path):
    root, crasher = crash_dir(tmp_path)
    db = tmp_path / "a.sqlite"
    r = audit_proc(["--dir", root, "--db", db, "--workers", "2", "--processes", "1", "--isolate"])
    assert r.returncode == 1, r.stderr  # one invocation: the repo failed, the run went on
    got = statuses(db)
    assert len(got) == 5 and [k for k, v in got.items() if not is_usable(v[0])] == [crasher]
    assert "5 repos: 4 done, 1 failed" in r.stdout


def test_the_children_started_before_planning_are_as_many_as_the_run_will_likely_have(tmp_path):
    """A list file is counted (up to the auto threshold) to start its children early; a listing's size is
    not known, so it gets as many as a large run; a pipe is never read twice, /dev/zero never forever."""
    from inspector.audit.parallel import AUTO_MIN_REPOS
    from inspector.cli.audit import _expected_repos

    big, small = tmp_path / "big.txt", tmp_path / "small.txt"
    big.write_text("".join(f"org/m{i}\n" for i in range(AUTO_MIN_REPOS * 3)))
    small.write_text("org/a\norg/b\n")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # opening it for reading would block: it must not be opened at all
    assert _expected_repos(big, listed=False, resume=False) >= AUTO_MIN_REPOS
    assert _expected_repos(small, listed=False, resume=False) == 2
    assert _expected_repos(fifo, listed=False, resume=False) == 1
    assert _expected_repos(Path("-"), listed=False, resume=False) == 1
    assert _expected_repos(Path("/dev/zero"), listed=False, resume=False) == 1
    assert _expected_repos(None, listed=True, resume=False) is None
    assert _expected_repos(None, listed=False, resume=True) is None
