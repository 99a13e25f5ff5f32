"""`inspector eval CORPUS_DIR`: accuracy of the rules on a labelled folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .cli import rules_option


@click.command("eval")
@click.argument("corpus", type=click.Path(exists=True, file_okay=False, path_type=Path))
@rules_option
@click.option("--json", "as_json", is_flag=True, help="The summary as JSON.")
@click.option("--check", is_flag=True, help="Exit 1 unless the targets are met (lineage >= 97%, no family < 90%, kind >= 99%, base >= 90%, >= 99% right at confidence >= 0.9).")
def command(corpus: Path, rules_dirs, as_json: bool, check: bool) -> None:
    """Measure lineage, kind and base accuracy on a labelled folder of real repos."""
    from .api import Inspector
    from .evaluation import render, run, summary

    report = run(corpus, Inspector(extra_rules=list(rules_dirs)))
    s = summary(report)
    click.echo(json.dumps(s, indent=1) if as_json else render(report))
    if check:
        failures = targets_missed(s)
        for f in failures:
            click.echo(f"target missed: {f}", err=True)
        sys.exit(1 if failures else 0)


def targets_missed(s: dict) -> list[str]:
    out = []
    if (s["lineage_accuracy"] or 0) < 0.97:
        out.append(f"lineage accuracy {s['lineage_accuracy']:.3f} < 0.97")
    for fam, m in s["per_family"].items():
        if m["support"] and (m["recall"] or 0) < 0.9:
            out.append(f"family {fam} recall {m['recall']:.2f} < 0.90")
    if (s["kind_accuracy"] or 0) < 0.99:
        out.append(f"kind accuracy {s['kind_accuracy']:.3f} < 0.99")
    if s["base_accuracy"] is not None and s["base_accuracy"] < 0.9:
        out.append(f"base accuracy {s['base_accuracy']:.3f} < 0.90")
    top = s["bands"][0]
    if top["n"] and top["right"] / top["n"] < 0.99:
        out.append(f"confidence >= 0.9 band {top['right']}/{top['n']} right < 99%")
    return out
