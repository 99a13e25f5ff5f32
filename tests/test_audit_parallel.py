"""`inspector.audit.parallel`: an audit's parts in child processes, their errors and their stops."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner
from conftest import SAMPLES

from inspector.audit.parallel import PartSpec, run_part
from inspector.audit.runner import in_part
from inspector.cli import main

QWEN3 = SAMPLES / "Qwen__Qwen3-4B__sophgo-copy"


def run(*args):
    return CliRunner().invoke(main, ["audit", *map(str, args)])


@pytest.mark.parametrize("mode", ["--isolate", "--in-process"])
def test_a_childs_error_is_the_parents_one_line_with_the_same_exit_code(hub, tmp_path, mode):
    """A stale token is refused by the Hub in the child that reads: the parent says it as its own."""
    for i in range(3):
        hub.add_folder(f"org/m{i}", QWEN3)
    (tmp_path / "list.txt").write_text("org/m0\norg/m1\norg/m2\n")
    r = run("--from", tmp_path / "list.txt", "--db", tmp_path / "a.sqlite", "-q", mode,
            "--token", "hf_StaleTokenThatTheHubNoLongerKnows00")
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2 and len(lines) == 1, r.output
    assert lines[0].startswith("error: ") and "token" in lines[0].lower() and "Traceback" not in r.output
    assert "hf_Stale" not in r.output


def _interrupted_run(tmp_path):
    """A finished audit of the samples turned into one killed two thirds of the way."""
    db = tmp_path / "a.sqlite"
    assert run("--dir", SAMPLES, "--db", db, "-q").exit_code == 0
    with sqlite3.connect(db) as con:
        con.execute("UPDATE meta SET value = 'running' WHERE key = 'run.state'")
        con.execute("DELETE FROM results WHERE rowid % 3 = 0")
        left = {r for (r,) in con.execute("SELECT repo FROM queue")} - {
            r for (r,) in con.execute("SELECT repo FROM results")}
    return db, left


def test_run_part_audits_only_its_part_and_leaves_the_run_to_its_parent(tmp_path):
    db, left = _interrupted_run(tmp_path)
    mine = _part(db, 1, 2) & left
    stats, summary = run_part(PartSpec(db=db, part=(1, 2), workers=2), summary=True)
    assert stats.done == len(mine) and summary is not None
    with sqlite3.connect(db) as con:
        now = {r for (r,) in con.execute("SELECT repo FROM results")}
        state = con.execute("SELECT value FROM meta WHERE key = 'run.state'").fetchone()[0]
    assert left - now == left - mine and state == "running"  # the parent says when the run is done


def _part(db, k: int, n: int) -> set[str]:
    """The repos of part k of n, by their places in the recorded list."""
    with sqlite3.connect(db) as con:
        return {repo for pos, repo in con.execute("SELECT pos, repo FROM queue") if in_part(pos, k, n)}


def test_the_hidden_part_flag_runs_the_same_part(tmp_path):
    db, left = _interrupted_run(tmp_path)
    r = run("--resume", "--db", db, "--part", "2/2", "-q")
    assert r.exit_code == 0 and r.output == "", r.output
    with sqlite3.connect(db) as con:
        now = {r for (r,) in con.execute("SELECT repo FROM results")}
    assert left - now == _part(db, 1, 2) & left


def test_a_part_of_a_listing_that_ended_empty_has_nothing_to_do(tmp_path):
    from inspector.store import Store

    db = tmp_path / "e.sqlite"
    with Store(db) as store:
        store.set_queue([], {"run.started": "2026-01-01T00:00:00+00:00", "run.listed": "1", "run.state": "running"})
    stats, _summary = run_part(PartSpec(db=db, part=(1, 2)))
    assert (stats.done, stats.failed, stats.total) == (0, 0, 0)


def test_a_run_refused_after_the_first_child_started_leaves_no_process_behind(tmp_path):
    """The first child starts before the list is planned; a refusal then (an unfinished run in the
    database) ends it with the command."""
    import os

    from test_cli_audit import _alive, _children_of

    db, _left = _interrupted_run(tmp_path)
    before = _children_of(os.getpid())
    r = run("--dir", SAMPLES, "--db", db, "-q")
    assert r.exit_code == 2 and "did not finish" in r.output
    assert not {p for p in _children_of(os.getpid()) - before if _alive(p)}


def test_a_process_with_one_thread_may_fork_its_children_and_one_with_more_may_not():
    """Warm children are forked (sharing the imports and rules) only when no other thread could hold
    a lock the fork would copy; otherwise spawned."""
    import subprocess
    import sys
    import threading

    from inspector.audit.parallel import single_threaded

    alone = subprocess.run([sys.executable, "-c", "from inspector.audit.parallel import single_threaded as s; print(s())"],
                           capture_output=True, text=True, check=True)
    assert alone.stdout.strip() == "True"
    done = threading.Event()
    other = threading.Thread(target=done.wait)
    other.start()
    try:
        assert not single_threaded()
    finally:
        done.set()
        other.join()


@pytest.mark.parametrize("n", [2, 3, 4])
def test_parts_differ_by_at_most_one_repo_and_do_not_split_an_alternating_list_by_kind(n):
    places = range(1, 302)
    sizes = [sum(in_part(p, k, n) for p in places) for k in range(1, n + 1)]
    assert all(sum(in_part(p, k, n) for k in range(1, n + 1)) == 1 for p in places)  # a partition
    assert max(sizes) - min(sizes) <= 1
    odd = [sum(in_part(p, k, n) for p in places if p % 2) for k in range(1, n + 1)]  # every other repo
    assert min(odd) >= 151 / n * 0.8
