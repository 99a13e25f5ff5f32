"""`inspector report`: an audit database -> HTML, Markdown, CSV or JSON. Errors reach cli.Group, caught once there."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import UsageError
from ..report import FORMATS, chunks, report
from .options import format_option

SUFFIX_FORMAT = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md", ".csv": "csv", ".json": "json"}


@click.command("report")
@click.argument("db", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="Write here (default: standard output). The suffix picks the format when --format is not given.")
@format_option(*FORMATS, default=None,
               help="html (one self-contained page), md, csv (one line per repo), json "
                    "[default: from the -o suffix, else md on standard output].")
@click.option("--by", type=click.Choice(["author"]), help="Add a table per organisation.")
@click.option("--lineage", help="Only repos that declare or are detected as this lineage.")
@click.option("--claims", type=click.Path(path_type=Path, dir_okay=False),
              help="A write-up's claims to check (YAML; default: the shipped claims/china-writeup.yaml).")
def command(db: Path, output: Path | None, fmt: str | None, by: str | None, lineage: str | None, claims: Path | None) -> None:
    """Summarise an `inspector audit` database: the study (claims checked, shares by count and downloads,
    trends by month), disagreements, lineage flows, unknowns, errors."""
    fmt = fmt or (SUFFIX_FORMAT.get(output.suffix.lower(), "html") if output else "md")
    with report(db, by=by, lineage=lineage, claims=claims) as rep:
        if fmt == "html":
            from ..report_study import inline_links, write_beside

            # The table's rows as files: beside the page when there is one, else inlined (small audits only).
            if output is not None:
                try:
                    rep.links = write_beside(rep, output)
                except OSError as e:
                    raise UsageError(f"{output}: cannot write: {e.strerror or e}") from e
            elif rep.totals["repos"] <= 3000:
                rep.links = inline_links(rep)
        if output is None:
            for piece in chunks(rep, fmt):
                click.echo(piece, nl=False)
            if fmt == "md":
                click.echo()
            return
        # Written as it is rendered (CSV and JSON stream every repo), then renamed: a browser open on
        # the old report never sees half a page.
        tmp = output.with_name(f".{output.name}.tmp")
        size = 0
        try:
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                for piece in chunks(rep, fmt):
                    fh.write(piece)
                    size += len(piece)
            tmp.replace(output)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise UsageError(f"{output}: cannot write: {e.strerror or e}") from e
    click.echo(f"wrote {output} ({fmt}, {size} characters)", err=True)
