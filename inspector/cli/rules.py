"""`inspector rules ...`: validate, test, snapshot, new, schema. Argument parsing and printing only;
the work is in authoring.py, and errors reach the main group's single handler."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..errors import UsageError
from .options import format_option, headers_option, rules_option

paths_argument = click.argument("paths", nargs=-1, type=click.Path(path_type=Path))


@click.group("rules")
def command() -> None:
    """Write and check rules: validate, test against fixtures, snapshot a repo into a fixture."""


@command.command("validate")
@paths_argument
@format_option("text", "json", "github", "sarif", "junit", default="text",
               help="github: workflow annotations; sarif: SARIF 2.1.0; junit: JUnit XML (as ruff and yamllint).")
@click.option("--strict", is_flag=True, help="Exit 1 when there are warnings (and no errors).")
def validate_cmd(paths: tuple[Path, ...], fmt: str, strict: bool) -> None:
    """Check PATHS (rule or fixture files, rule folders), or the shipped rules and fixtures.

    PATHS are checked against the shipped set (fragments, extends, fact names, ids) and only their
    problems are reported, each as file:line:col: severity[CODE] message. Exit 0 clean, 1 warnings
    with --strict, 2 errors."""
    from .. import rule_reports
    from ..authoring import caret, problem_dict, validate

    v = validate(list(paths))
    if fmt == "github":
        if v.problems:
            click.echo(rule_reports.github(v.problems))
    elif fmt == "sarif":
        click.echo(rule_reports.sarif(v.problems))
    elif fmt == "junit":
        click.echo(rule_reports.junit_validate(v.problems, v.files, strict=strict))
    elif fmt == "json":
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
@format_option("text", "json", default="text", as_bool=True,
               help="text (failures summarised last), or json: one object with failures, todo, per-rule counts.")
@click.option("-v", "--verbose", is_flag=True, help="Every fixture, the per-rule table, and the fixtures behind each false positive/negative.")
@click.option("-k", "keywords", multiple=True,
              help="Only fixtures whose id or file contains this, or that expect a rule whose id, family, file or tags do "
                   "(repeatable); the per-rule table shows only the rules that matter.")
@click.option("--junitxml", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Also write a JUnit XML report here.")
@click.option("--update", is_flag=True, help="Accept the observed values of failed expectations into their fixtures, then test again.")
def test_cmd(paths: tuple[Path, ...], as_json: bool, verbose: bool, keywords: tuple[str, ...], junitxml: Path | None,
             update: bool) -> None:
    """Run the whole rule set (shipped + PATHS) on the whole fixture set (rules/tests + PATHS).

    A folder in PATHS is a rules folder: its *.yaml are rules, its tests/*.yaml fixtures. Failures
    are summarised last. Exit 1 on any failure; `todo` expectations are reported, never failed."""
    from .. import rule_reports
    from ..authoring import accept_observed, run_rule_tests

    report = run_rule_tests(list(paths), list(keywords))
    if update and not report.ok:
        done, skipped = accept_observed(report)
        for line in done:
            click.echo(f"updated {line}")
        for line in skipped:
            click.echo(f"not updated: {line}", err=True)
        if done:
            report = run_rule_tests(list(paths), list(keywords))
    if junitxml is not None:
        junitxml.write_text(rule_reports.junit_tests(report), encoding="utf-8")
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(render_report(report, verbose=verbose))
    sys.exit(0 if report.ok else 1)


def render_report(report, *, verbose: bool) -> str:
    """pytest's order: details first (per fixture and per rule with -v), the failures, then one
    summary line."""
    out: list[str] = []
    if verbose:
        for r in report.results:
            obs = " ".join(f"{k}={v}" for k, v in r.observed.items())
            out.append(f"{'FAIL' if r.failures else 'ok  '} {r.id}  {obs}")
    shown = [s for s in report.rules if s.tp + s.fp + s.fn + s.tn and (report.focus is None or s.id in report.focus)]
    if shown and (verbose or report.focus is not None):
        out.append("")
        out.append(f"{'rule':<40} {'status':<12} {'fired':>5} {'tp':>4} {'fp':>4} {'fn':>4} {'tn':>4}")
        for s in sorted(shown, key=lambda s: s.id):
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
    failures = [f"FAIL {f.fixture} ({f.where}): {f.message}" for r in report.results for f in r.failures]
    failures += [f"FAIL {f.where}: {f.message}" for f in report.coverage]
    if failures:
        out.append("")
        out.append(f"failures ({len(failures)}):")
        out.extend(failures)
    out.append("")
    verdict = "ok" if report.ok else f"{len(report.failures)} failures"
    scope = " (selected fixtures; coverage not checked)" if report.selected else ""
    out.append(f"{len(report.results)} fixtures, {len(report.rules)} rules, {report.seconds:.2f}s: {verdict}{scope}")
    while out and out[0] == "":
        out.pop(0)
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
@rules_option
@headers_option
@click.option("--replace-shipped", is_flag=True,
              help="Allow an id that a shipped fixture has (yours then replaces it in `rules test`).")
def snapshot_cmd(targets, output, expects, guess, fid, matches, rules_dirs, headers, replace_shipped) -> None:
    """Write a fixture from a Hub repo or a local folder (config and safetensors headers only).

    A corpus or samples folder (with SOURCE.md) brings its provenance and labels along.

    Example: inspector rules snapshot Qwen/Qwen2.5-7B -o pack/tests/qwen.yaml --expect lineage=qwen"""
    from ..api import Inspector
    from ..authoring import make_fixture, parse_expect, refuse_shipped_ids, write_fixtures

    if fid and len(targets) > 1:
        raise UsageError("--id names one fixture: give one target")
    expect = parse_expect(list(expects))
    # Tokenizer evidence is part of what a fixture must reproduce, so it is read here too.
    insp = Inspector(extra_rules=list(rules_dirs), headers=headers, with_tokenizer=True)
    items = [make_fixture(insp, t, fid=fid, expect=expect, guess=guess, rules=dict.fromkeys(matches, "match"))
             for t in targets]
    if not replace_shipped:
        refuse_shipped_ids(output, [it["id"] for it in items])
    write_fixtures(output, items)
    for it in items:
        exp = ", ".join(f"{k}={v}" for k, v in it["expect"].items())
        todo = f"  (todo: {', '.join(it['todo'])})" if it["todo"] else ""
        click.echo(f"{output}: fixture {it['id']}: {len(it['tensors'])} tensor lines, expect {exp or 'nothing'}{todo}")


@command.command("new")
@click.argument("name")
@click.option("--dir", "folder", type=click.Path(path_type=Path), default=Path("rules"), show_default=True,
              help="Rules folder to write into (never the installed package).")
@click.option("--force", is_flag=True, help="Overwrite existing files.")
def new_cmd(name: str, folder: Path, force: bool) -> None:
    """Write NAME.yaml (a commented rule skeleton) and tests/NAME.yaml (a fixture stub).

    Example: inspector rules new granite --dir pack; then inspector rules validate pack"""
    from ..authoring import new_family

    for p in new_family(name, folder, force=force):
        click.echo(f"wrote {p}")


@command.command("schema")
def schema_cmd() -> None:
    """Print the JSON Schema of rule and fixture files (for editor completion and checks)."""
    from ..authoring import rules_schema

    click.echo(json.dumps(rules_schema(), indent=2))


@command.command("reference")
@click.option("--write", "readme", type=click.Path(path_type=Path), default=None,
              help="Rewrite the generated blocks of this README (rules/README.md) instead of printing.")
@click.option("--code", "code", default=None, metavar="CODE", help="One problem code: what it means, a failing and a passing example.")
def reference_cmd(readme: Path | None, code: str | None) -> None:
    """Print the rule reference (operators, derived facts, problem codes) generated from the code."""
    from ..reference import SECTIONS, explain_code, render, update

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
