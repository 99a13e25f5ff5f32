"""Options shared by several commands, each written once."""

from __future__ import annotations

from pathlib import Path

import click

from ..sources.plan import HEADERS_MODES

rules_option = click.option("--rules", "rules_dirs", multiple=True, type=click.Path(path_type=Path),
                            help="Extra rule file or folder (repeatable); same id replaces a shipped rule.")

headers_option = click.option(
    "--headers", type=click.Choice(HEADERS_MODES), default="default", show_default=True,
    help="Safetensors headers to read: the shards with the evidence, every shard, or none (index only).")

color_option = click.option(
    "--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
    help="Colour the text output: auto = on a terminal, unless NO_COLOR is set.")
