"""The root of the command line: the `inspector` group, the `inspect` command, and the registration
of the command modules. Errors are turned into messages once, in exits.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .. import __version__
from ..errors import UsageError
from ..inert import inert
from . import audit as cli_audit
from . import eval as cli_eval
from . import report as cli_report
from . import rules as cli_rules
from .examples import add_examples
from .exits import Group
from .options import (
    CONTEXT_SETTINGS,
    color_option,
    follow_symlinks_option,
    format_option,
    headers_option,
    revision_option,
    rules_option,
    token_option,
)


@click.group("inspector", cls=Group, context_settings=CONTEXT_SETTINGS)
@click.version_option(version=__version__, prog_name="inspector")
def main() -> None:
    """Tell what a Hugging Face model repository really is, with evidence."""


DOC_SUFFIXES = {".md", ".txt", ".tsv", ".csv", ".rst", ".html"}


@main.command("inspect")
@click.argument("targets", nargs=-1, required=True)
@format_option("text", "json", default="text", help="text for people, or json: JSON Lines, one object per target.")
@revision_option
@token_option
@rules_option
@headers_option
@follow_symlinks_option
@click.option("--with-tokenizer", is_flag=True,
              help="Also read tokenizer_config.json (and the head of tokenizer.json if needed): special tokens as evidence.")
@click.option("--explain", is_flag=True, help="Why: the scores, the rules that held, the runner-up's near misses (with --json: JSON).")
@click.option("--explain-all", is_flag=True, help="--explain with every other rule too.")
@click.option("--rule", "rule_ids", multiple=True, help="With --explain: only these rule ids.")
@click.option("--evidence", type=click.Choice(["top", "all"]), default="top", show_default=True,
              help="top: the strongest items, one line each; all: every item with its rule, condition and values.")
@color_option
def inspect_cmd(targets, fmt, revision, token, rules_dirs, headers, follow_symlinks, with_tokenizer, explain, explain_all, rule_ids,
                evidence, color) -> None:
    """Inspect Hub repos (org/name[@rev]), model folders or .safetensors files.

    `-` reads more targets from standard input, one a line. A failed target is reported in its place
    and on standard error; the exit code is then 1."""
    from ..api import Inspector
    from ..output import to_json, to_text, use_color

    as_json = fmt == "json"
    targets = with_stdin(targets)
    if not targets:
        raise UsageError("no targets: standard input (`-`) gave none")
    explain = explain or explain_all
    if rule_ids and not explain:
        raise UsageError("--rule selects rules to explain: add --explain")
    insp = Inspector(extra_rules=list(rules_dirs), headers=headers, with_tokenizer=with_tokenizer, token=token,
                     follow_symlinks=follow_symlinks)
    if rule_ids:
        from ..explain import check_rule_ids

        check_rule_ids(set(rule_ids), [r.id for r in insp.rules.rules])
    failed = False
    paint = use_color(mode=color) and not as_json
    # A shell glob such as samples/* also brings a folder's README and tables along.
    docs = [t for t in targets if Path(t).is_file() and Path(t).suffix.lower() in DOC_SUFFIXES]
    for t in docs:
        click.echo(f"skipping {inert(t)}: not a model (a documentation file)", err=True)
    targets = [t for t in targets if t not in docs]
    for i, target in enumerate(targets):
        if explain:
            from ..explain import explain as render
            from ..explain import explain_dict

            verdict, outcomes = insp.examine(target, revision=revision)
            picked = {"rule_ids": set(rule_ids) or None, "show_all": explain_all}
            if as_json:
                doc = {"verdict": verdict.to_dict()} | (explain_dict(verdict, outcomes, **picked) if outcomes else {})
                out = json.dumps(doc, ensure_ascii=False)
            else:
                out = to_text(verdict, all_evidence=True, rules=insp.rules, color=paint)
                if outcomes is not None:
                    out += "\n\n" + render(verdict, outcomes, **picked)
        else:
            verdict = insp.inspect(target, revision=revision)
            out = to_json(verdict) if as_json else to_text(verdict, all_evidence=evidence == "all", rules=insp.rules, color=paint)
        if not verdict.ok:
            failed = True
        if i and not as_json:
            click.echo("")
        click.echo(out, color=paint)
        if not verdict.ok:  # also where `>file` or a pipe does not hide it
            click.echo(f"error: {inert(verdict.error or verdict.status, None)}", err=True)
    sys.exit(1 if failed else 0)


def with_stdin(targets: tuple[str, ...]) -> list[str]:
    """`-` replaced by the targets on standard input, one a line (blank lines and # comments skipped)."""
    out: list[str] = []
    for t in targets:
        if t != "-":
            out.append(t)
            continue
        lines = (line.strip() for line in sys.stdin)
        out.extend(line for line in lines if line and not line.startswith("#"))
    return out


# The subcommand groups, one CLI module each (each exposes `command`).
for _module in (cli_rules, cli_audit, cli_report, cli_eval):
    main.add_command(_module.command)
add_examples(main)
