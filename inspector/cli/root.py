"""The root of the command line: the `inspector` group, the `inspect` command, and the registration
of the command modules. Errors are turned into messages once, in exits.py."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .. import __version__
from . import audit as cli_audit
from . import eval as cli_eval
from . import report as cli_report
from . import rules as cli_rules
from .exits import Group
from .options import color_option, headers_option, rules_option


@click.group(cls=Group)
@click.version_option(version=__version__, prog_name="inspector")
def main() -> None:
    """Tell what a Hugging Face model repository really is, with evidence."""


DOC_SUFFIXES = {".md", ".txt", ".tsv", ".csv", ".rst", ".html"}


@main.command("inspect")
@click.argument("targets", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one object per target.")
@rules_option
@headers_option
@click.option("--with-tokenizer", is_flag=True,
              help="Also read tokenizer_config.json (and the head of tokenizer.json if needed): special tokens as evidence.")
@click.option("--explain", is_flag=True, help="Every rule and predicate with expected vs observed values.")
@click.option("--rule", "rule_ids", multiple=True, help="With --explain: only these rule ids.")
@click.option("--evidence", type=click.Choice(["top", "all"]), default="top", show_default=True,
              help="top: the strongest items, one line each; all: every item with its rule, condition and values.")
@color_option
def inspect_cmd(targets, as_json, rules_dirs, headers, with_tokenizer, explain, rule_ids, evidence, color) -> None:
    """Inspect Hub repos (org/name[@rev]), model folders or .safetensors files."""
    from ..api import Inspector
    from ..output import to_json, to_text, use_color

    insp = Inspector(extra_rules=list(rules_dirs), headers=headers, with_tokenizer=with_tokenizer)
    failed = False
    paint = use_color(mode=color) and not as_json
    # A shell glob such as samples/* also brings a folder's README and tables along.
    docs = [t for t in targets if Path(t).is_file() and Path(t).suffix.lower() in DOC_SUFFIXES]
    for t in docs:
        click.echo(f"skipping {t}: not a model (a documentation file)", err=True)
    targets = [t for t in targets if t not in docs]
    for i, target in enumerate(targets):
        if explain:
            from ..explain import explain as render

            verdict, evaluation = insp.examine(target)
            out = to_text(verdict, all_evidence=True, rules=insp.rules, color=paint)
            if evaluation is not None:
                out += "\n\n" + render(verdict, evaluation, rule_ids=set(rule_ids) or None)
        else:
            verdict = insp.inspect(target)
            out = to_json(verdict) if as_json else to_text(verdict, all_evidence=evidence == "all", rules=insp.rules, color=paint)
        if not verdict.ok:
            failed = True
        if i and not as_json:
            click.echo("")
        click.echo(out, color=paint)
    sys.exit(1 if failed else 0)


# The subcommand groups, one CLI module each (each exposes `command`).
for _module in (cli_rules, cli_audit, cli_report, cli_eval):
    main.add_command(_module.command)
