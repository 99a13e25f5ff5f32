"""The command line: a thin layer over the library. Errors are caught here, once."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .errors import GatedTarget, InspectorError, NetworkError, RuleError, TargetNotFound, UsageError

# One table: library exception -> exit code. Per-target failures inside a batch are not raised:
# they come back as verdicts with a status, and make the exit code 1.
EXIT_CODES: list[tuple[type[InspectorError], int]] = [
    (UsageError, 2),
    (RuleError, 2),
    (TargetNotFound, 1),
    (GatedTarget, 1),
    (NetworkError, 1),
    (InspectorError, 1),
]


def fail(e: InspectorError) -> None:
    code = next(c for cls, c in EXIT_CODES if isinstance(e, cls))
    if isinstance(e, RuleError):
        for p in e.problems:
            click.echo(str(p), err=True)
    else:
        click.echo(f"error: {e.one_line()}", err=True)
    sys.exit(code)


class Group(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except InspectorError as e:
            fail(e)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except Exception as e:  # a bug: still one line, never a traceback
            click.echo(f"error: internal error: {type(e).__name__}: {' '.join(str(e).split())[:300]}", err=True)
            sys.exit(3)


@click.group(cls=Group)
@click.version_option(package_name="inspector")
def main() -> None:
    """Tell what a Hugging Face model repository really is, with evidence."""


DOC_SUFFIXES = {".md", ".txt", ".tsv", ".csv", ".rst", ".html"}

rules_option = click.option("--rules", "rules_dirs", multiple=True, type=click.Path(path_type=Path),
                            help="Extra rule file or folder (repeatable); same id replaces a shipped rule.")


@main.command("inspect")
@click.argument("targets", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one object per target.")
@rules_option
@click.option("--headers", type=click.Choice(["default", "all", "none"]), default="default", show_default=True,
              help="Safetensors headers to read: the shards with the evidence, every shard, or none (index only).")
@click.option("--with-tokenizer", is_flag=True,
              help="Also read tokenizer_config.json (and the head of tokenizer.json if needed): special tokens as evidence.")
@click.option("--explain", is_flag=True, help="Why: the scores, the rules that held, the runner-up's near misses (with --json: JSON).")
@click.option("--explain-all", is_flag=True, help="--explain with every other rule too.")
@click.option("--rule", "rule_ids", multiple=True, help="With --explain: only these rule ids.")
@click.option("--evidence", type=click.Choice(["top", "all"]), default="top", show_default=True)
def inspect_cmd(targets, as_json, rules_dirs, headers, with_tokenizer, explain, explain_all, rule_ids, evidence) -> None:
    """Inspect Hub repos (org/name[@rev]), model folders or .safetensors files."""
    from .api import Inspector
    from .output import to_json, to_text

    explain = explain or explain_all
    if rule_ids and not explain:
        raise UsageError("--rule selects rules to explain: add --explain")
    insp = Inspector(extra_rules=list(rules_dirs), headers=headers, with_tokenizer=with_tokenizer)
    if rule_ids:
        from .explain import check_rule_ids

        check_rule_ids(set(rule_ids), [r.id for r in insp.rules.rules])
    failed = False
    # A shell glob such as samples/* also brings a folder's README and tables along.
    docs = [t for t in targets if Path(t).is_file() and Path(t).suffix.lower() in DOC_SUFFIXES]
    for t in docs:
        click.echo(f"skipping {t}: not a model (a documentation file)", err=True)
    targets = [t for t in targets if t not in docs]
    for i, target in enumerate(targets):
        if explain:
            from .explain import explain as render
            from .explain import explain_dict

            verdict, evaluation = insp.examine(target)
            picked = {"rule_ids": set(rule_ids) or None, "show_all": explain_all}
            if as_json:
                doc = {"verdict": verdict.to_dict()} | (explain_dict(verdict, evaluation, **picked) if evaluation else {})
                out = json.dumps(doc, ensure_ascii=False)
            else:
                out = to_text(verdict, all_evidence=True)
                if evaluation is not None:
                    out += "\n\n" + render(verdict, evaluation, **picked)
        else:
            verdict = insp.inspect(target)
            out = to_json(verdict) if as_json else to_text(verdict, all_evidence=evidence == "all")
        if not verdict.ok:
            failed = True
        if i and not as_json:
            click.echo("")
        click.echo(out)
    sys.exit(1 if failed else 0)


# The subcommand groups, one CLI module each (each exposes `command`). Imported last: they take
# `rules_option` and the error handling from this module.
from . import cli_audit, cli_eval, cli_report, cli_rules  # noqa: E402

for _module in (cli_rules, cli_audit, cli_report, cli_eval):
    main.add_command(_module.command)
