"""`inspector rules ...`: validate, test, snapshot, new, schema. Argument parsing and printing only;
the work is in authoring.py, and errors reach the main group's single handler."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .errors import UsageError

paths_argument = click.argument("paths", nargs=-1, type=click.Path(path_type=Path))


@click.group("rules")
def command() -> None:
    """Write and check rules: validate, test against fixtures, snapshot a repo into a fixture."""


@command.command("validate")
@paths_argument
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--strict", is_flag=True, help="Exit 1 when there are warnings (and no errors).")
def validate_cmd(paths: tuple[Path, ...], fmt: str, strict: bool) -> None:
    """Check the shipped rules and fixtures plus PATHS (rule or fixture files, rule folders).

    Every problem in one pass as file:line:col: severity[CODE] message. Exit 0 clean, 1 warnings
    with --strict, 2 errors."""
    from .authoring import caret, problem_dict, validate

    v = validate(list(paths))
    if fmt == "json":
        click.echo(json.dumps({"ok": not v.errors, "errors": len(v.errors), "warnings": len(v.warnings),
                               "rules": v.rules, "fixtures": v.fixtures, "files": v.files,
                               "problems": [problem_dict(p) for p in v.problems]}, indent=2))
    else:
        cache: dict[str, list[str]] = {}
        for p in v.problems:
            click.echo(caret(p, cache))
            click.echo("")
        click.echo(f"{len(v.files)} files, {v.rules} rules, {v.fixtures} fixtures: "
                   f"{len(v.errors)} errors, {len(v.warnings)} warnings")
    sys.exit(v.exit_code(strict))


@command.command("test")
@paths_argument
@click.option("--json", "as_json", is_flag=True, help="One JSON object: failures, todo, per-rule counts.")
@click.option("-v", "--verbose", is_flag=True, help="Every fixture, and the fixtures behind each false positive/negative.")
@click.option("-k", "keywords", multiple=True, help="Only fixtures whose id or file contains this (repeatable).")
def test_cmd(paths: tuple[Path, ...], as_json: bool, verbose: bool, keywords: tuple[str, ...]) -> None:
    """Run the whole rule set (shipped + PATHS) on the whole fixture set (rules/tests + PATHS).

    A folder in PATHS is a rules folder: its *.yaml are rules, its tests/*.yaml fixtures. Exit 1 on
    any failure; `todo` expectations are reported, never failed."""
    from .authoring import run_rule_tests

    report = run_rule_tests(list(paths), list(keywords))
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(render_report(report, verbose=verbose))
    sys.exit(0 if report.ok else 1)


def render_report(report, *, verbose: bool) -> str:
    out: list[str] = []
    for r in report.results:
        if verbose and not r.failures:
            obs = " ".join(f"{k}={v}" for k, v in r.observed.items())
            out.append(f"ok   {r.id}  {obs}")
        for f in r.failures:
            out.append(f"FAIL {f.fixture} ({f.where}): {f.message}")
    for f in report.coverage:
        out.append(f"FAIL {f.where}: {f.message}")
    counted = [s for s in report.rules if s.tp + s.fp + s.fn + s.tn]
    if counted:
        out.append("")
        out.append(f"{'rule':<40} {'status':<12} {'fired':>5} {'tp':>4} {'fp':>4} {'fn':>4} {'tn':>4}")
        for s in sorted(report.rules, key=lambda s: s.id):
            out.append(f"{s.id:<40} {s.status:<12} {s.fired:>5} {s.tp:>4} {s.fp:>4} {s.fn:>4} {s.tn:>4}")
            if verbose and s.fp_fixtures:
                out.append(f"    false positives: {', '.join(s.fp_fixtures)}")
            if verbose and s.fn_fixtures:
                out.append(f"    false negatives: {', '.join(s.fn_fixtures)}")
    if report.never_fired:
        out.append("")
        out.append(f"never fired on any fixture ({len(report.never_fired)}): {', '.join(report.never_fired)}")
    todos = report.todos
    if todos:
        out.append("")
        out.append(f"todo ({len(todos)}):")
        out.extend(f"  {fid}: {msg}" for fid, msg in todos)
    out.append("")
    verdict = "ok" if report.ok else f"{len(report.failures)} failures"
    scope = " (selected fixtures; coverage not checked)" if report.selected else ""
    out.append(f"{len(report.results)} fixtures, {len(report.rules)} rules, {report.seconds:.2f}s: {verdict}{scope}")
    return "\n".join(out)


@command.command("snapshot")
@click.argument("targets", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="Fixture file to append to (created when missing).")
@click.option("--expect", "expects", multiple=True, metavar="FIELD=VALUE",
              help="Expected kind/layout/lineage/base (repeatable); confirmed, never todo.")
@click.option("--guess/--no-guess", default=True, show_default=True,
              help="Fill fields nobody gave from the current verdict, listed under `todo`.")
@click.option("--id", "fid", help="Fixture id (one target only); default: the folder or org__name.")
@click.option("--match", "matches", multiple=True, metavar="RULE", help="Expect this rule to fire (repeatable).")
@click.option("--rules", "rules_dirs", multiple=True, type=click.Path(path_type=Path), help="Extra rules for the current verdict.")
@click.option("--headers", type=click.Choice(["default", "all", "none"]), default="default", show_default=True)
def snapshot_cmd(targets, output, expects, guess, fid, matches, rules_dirs, headers) -> None:
    """Write a fixture from a Hub repo or a local folder (config and safetensors headers only).

    A corpus or samples folder (with SOURCE.md) brings its provenance and labels along."""
    from .api import Inspector
    from .authoring import make_fixture, parse_expect, write_fixtures

    if fid and len(targets) > 1:
        raise UsageError("--id names one fixture: give one target")
    expect = parse_expect(list(expects))
    # Tokenizer evidence is part of what a fixture must reproduce, so it is read here too.
    insp = Inspector(extra_rules=list(rules_dirs), headers=headers, with_tokenizer=True)
    items = [make_fixture(insp, t, fid=fid, expect=expect, guess=guess, rules=dict.fromkeys(matches, "match"))
             for t in targets]
    write_fixtures(output, items)
    for it in items:
        exp = ", ".join(f"{k}={v}" for k, v in it["expect"].items())
        todo = f"  (todo: {', '.join(it['todo'])})" if it["todo"] else ""
        click.echo(f"{output}: fixture {it['id']}: {len(it['tensors'])} tensor lines, expect {exp or 'nothing'}{todo}")


@command.command("new")
@click.argument("name")
@click.option("--dir", "folder", type=click.Path(path_type=Path), default=None,
              help="Rules folder to write into (default: the shipped rules/).")
@click.option("--force", is_flag=True, help="Overwrite existing files.")
def new_cmd(name: str, folder: Path | None, force: bool) -> None:
    """Write NAME.yaml (a commented rule skeleton) and tests/NAME.yaml (a fixture stub)."""
    from .authoring import new_family
    from .ruleset import shipped_rules_dir

    for p in new_family(name, folder or shipped_rules_dir(), force=force):
        click.echo(f"wrote {p}")


@command.command("schema")
def schema_cmd() -> None:
    """Print the JSON Schema of rule and fixture files (for editor completion and checks)."""
    from .authoring import rules_schema

    click.echo(json.dumps(rules_schema(), indent=2))


@command.command("reference")
@click.option("--write", "readme", type=click.Path(path_type=Path), default=None,
              help="Rewrite the generated blocks of this README (rules/README.md) instead of printing.")
@click.option("--code", "code", default=None, metavar="CODE", help="One problem code: what it means, a failing and a passing example.")
def reference_cmd(readme: Path | None, code: str | None) -> None:
    """Print the rule reference (operators, derived facts, problem codes) generated from the code.

    Examples: inspector rules reference --write rules/README.md; inspector rules reference --code W302"""
    from .reference import SECTIONS, explain_code, render, update

    if code is not None:
        click.echo(explain_code(code))
        return
    if readme is None:
        click.echo("\n\n".join(render(name) for name in SECTIONS))
        return
    text = readme.read_text(encoding="utf-8")
    new = update(text)
    if new != text:
        readme.write_text(new, encoding="utf-8")
    click.echo(f"{readme}: {'updated' if new != text else 'up to date'}")
