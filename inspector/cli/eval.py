"""`inspector eval CORPUS_DIR`: accuracy of the rules on a labelled folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .options import format_option, rules_option


@click.command("eval")
@click.argument("corpus", type=click.Path(exists=True, file_okay=False, path_type=Path))
@rules_option
@format_option("text", "json", default="text", help="text tables, or json: the summary as one JSON object.", as_bool=True)
@click.option("--tags", type=click.Choice(["as-is", "stripped", "lying", "all"]), default="as-is", show_default=True,
              help="Judge each repo with its declared tags as they are, without them (model_type, architectures, "
                   "_name_or_path, auto_map removed), or lying (another family's); `all` prints a line per mode.")
@click.option("--check", is_flag=True, help="Exit 1 unless the targets are met (lineage >= 97%, at most 1% named wrongly rather than "
              "unknown, >= 97% of relabelled repos flagged, no family < 90%, kind >= 99%, base >= 90%, all right at confidence >= 0.9).")
def command(corpus: Path, rules_dirs, as_json: bool, tags: str, check: bool) -> None:
    """Measure lineage, kind and base accuracy on a labelled folder of real repos."""
    from ..accuracy import TAG_MODES, render, run, summary
    from ..api import Inspector

    insp = Inspector(extra_rules=list(rules_dirs))
    if tags == "all":
        rows = {m: summary(run(corpus, insp, m)) for m in TAG_MODES}
        if as_json:
            click.echo(json.dumps(rows, indent=1))
        else:
            click.echo(f"{'tags':<10}{'lineage':>20}{'named wrongly':>18}{'kind':>20}{'base':>18}{'>=0.9 right':>18}{'flagged':>18}")
            for m, s in rows.items():
                top = s["bands"][0]
                flagged = _frac(s["relabelled_flagged"]) if s["relabelled_flagged"][1] else "-"
                click.echo(f"{m:<10}{_frac(s['lineage']):>20}{_frac(s['named_wrongly']):>18}{_frac(s['kind']):>20}"
                           f"{_frac(s['base']):>18}{_frac([top['right'], top['n']]):>18}{flagged:>18}")
            click.echo("")
            click.echo(f"{'family':<14}" + "".join(f"{m + ' P/R':>22}" for m in rows) + f"{'n':>5}")
            fams = sorted({f for s in rows.values() for f in s["per_family"]})
            for fam in fams:
                cells = []
                for s in rows.values():
                    m = s["per_family"].get(fam)
                    p = f"{m['precision']:.2f}" if m and m["precision"] is not None else "-"
                    r = f"{m['recall']:.2f}" if m and m["recall"] is not None else "-"
                    cells.append(f"{p + ' / ' + r:>22}")
                n = max((s["per_family"].get(fam) or {}).get("support", 0) for s in rows.values())
                click.echo(f"{fam:<14}" + "".join(cells) + f"{n:>5}")
        if check:
            failures = [f"{m}: {f}" for m, s in rows.items() for f in targets_missed(s)]
            for f in failures:
                click.echo(f"target missed: {f}", err=True)
            sys.exit(1 if failures else 0)
        return
    report = run(corpus, insp, tags)
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
    wrong, n = s["named_wrongly"]
    if n and wrong / n > 0.01:
        out.append(f"named wrongly {wrong}/{n} > 1%")
    flagged, relabelled = s["relabelled_flagged"]
    if relabelled and flagged / relabelled < 0.97:
        out.append(f"relabelled repos flagged {flagged}/{relabelled} < 97%")
    for fam, m in s["per_family"].items():
        if m["support"] and (m["recall"] or 0) < 0.9:
            out.append(f"family {fam} recall {m['recall']:.2f} < 0.90")
    if (s["kind_accuracy"] or 0) < 0.99:
        out.append(f"kind accuracy {s['kind_accuracy']:.3f} < 0.99")
    if s["base_accuracy"] is not None and s["base_accuracy"] < 0.9:
        out.append(f"base accuracy {s['base_accuracy']:.3f} < 0.90")
    top = s["bands"][0]
    if top["n"] and top["right"] < top["n"]:
        out.append(f"confidence >= 0.9 band {top['right']}/{top['n']} right: not all")
    return out


def _frac(pair: list[int]) -> str:
    n, d = pair
    return f"{100 * n / d:.1f}% ({n}/{d})" if d else "n/a"
