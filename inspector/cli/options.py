"""Options shared by several commands, each written once."""

from __future__ import annotations

import functools
from pathlib import Path

import click

from ..errors import UsageError
from ..formats.plan import HEADERS_MODES

# `-h` as well as `--help`, for every command (set on the root group, inherited by all).
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

rules_option = click.option("--rules", "rules_dirs", multiple=True, type=click.Path(path_type=Path),
                            help="Extra rule file or folder (repeatable); same id replaces a shipped rule.")

headers_option = click.option(
    "--headers", type=click.Choice(HEADERS_MODES), default="default", show_default=True,
    help="Safetensors headers to read: the shards with the evidence, every shard, or none (index only).")

color_option = click.option(
    "--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
    help="Colour the text output: auto = on a terminal, unless NO_COLOR is set.")

token_option = click.option(
    "--token", metavar="TOKEN",
    help="Hub token (default: HF_TOKEN or the login saved by `hf auth login`).")

revision_option = click.option(
    "--revision", metavar="REV", help="Branch, tag or commit of every Hub target (or write org/name@REV).")

follow_symlinks_option = click.option(
    "--follow-symlinks", is_flag=True,
    help="In local folders, also follow symlinks that lead outside the folder (refused by default; the "
         "Hugging Face cache's snapshots -> blobs links are always followed).")


def format_option(*choices: str, default: str | None, help: str, as_bool: bool = False,  # noqa: A002 - click's word
                  json_as: str = "json"):
    """`--format CHOICE` and `--json` as its alias (like the `hf` CLI): `--json` is `--format json_as`
    (`jsonl` where the JSON output is JSON Lines). The command gets `fmt` (None when neither is given
    and `default` is None: the command then picks, e.g. from a file suffix), or with `as_bool` (for
    text|json) `as_json`."""
    assert json_as in choices

    def decorate(f):
        @functools.wraps(f)
        def wrapper(*args, fmt: str | None, as_json: bool, **kwargs):
            if as_json and fmt not in (None, json_as):
                raise UsageError(f"--json and --format {fmt} disagree: give one")
            chosen = json_as if as_json else fmt or default
            if as_bool:
                return f(*args, as_json=chosen == "json", **kwargs)
            return f(*args, fmt=chosen, **kwargs)

        wrapper = click.option("--json", "as_json", is_flag=True, help=f"Same as --format {json_as}.")(wrapper)
        shown = f" [default: {default}]" if default else ""
        return click.option("--format", "fmt", type=click.Choice(choices), default=None, help=f"{help}{shown}")(wrapper)

    return decorate
