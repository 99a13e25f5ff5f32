"""The one table from library exceptions to exit codes and one-line messages."""

from __future__ import annotations

import os
import sys

import click

from ..errors import (
    AuditProcessFailed,
    GatedTarget,
    InspectorError,
    NetworkError,
    RuleError,
    TargetNotFound,
    UsageError,
)

# Library exception -> exit code. Per-target failures inside a batch are not raised: they come back
# as verdicts with a status, and make the exit code 1.
EXIT_CODES: list[tuple[type[InspectorError], int]] = [
    (UsageError, 2),
    (RuleError, 2),
    (TargetNotFound, 1),
    (GatedTarget, 1),
    (NetworkError, 1),
    (AuditProcessFailed, 1),
    (InspectorError, 1),
]


# Library parameter -> the flag that sets it: library errors name parameters, the CLI says flags.
FLAGS = {
    "sort": "--sort", "shard": "--shard", "part": "--part", "by": "--by", "fmt": "--format",
    "resume": "--resume", "store": "--db", "expect": "--expect", "fid": "--id",
    "replace_shipped": "--replace-shipped", "force": "--force",
    "folder": "--dir", "rule_ids": "--rule", "lineage": "--lineage",
}


def fail(e: InspectorError) -> None:
    code = next(c for cls, c in EXIT_CODES if isinstance(e, cls))
    if isinstance(e, RuleError):
        for p in e.problems:
            click.echo(str(p), err=True)
    else:
        click.echo(f"error: {e.one_line(FLAGS)}", err=True)
    sys.exit(code)


# A reader that went away (`| head`): stop quietly, with the status a shell gives a process killed by
# SIGPIPE (128 + 13), like any Unix filter.
EXIT_CLOSED_PIPE = 141


def closed_pipe() -> None:
    """Stdout's reader is gone: point stdout at /dev/null (so the exit's flush cannot fail) and exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (a test runner's stream)
        pass
    sys.exit(EXIT_CLOSED_PIPE)


class Group(click.Group):
    """The root group: every error of every command is turned into a message and exit code here."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            closed_pipe()
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
