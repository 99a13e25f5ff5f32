"""Every exception the library raises on purpose. The CLI maps each class to an exit code and one line."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


class InspectorError(Exception):
    """Base class; `status` is the typed status a failed target reports."""

    status = "invalid"

    def __init__(self, message: str, *, where: str | None = None, names: dict[str, str] | None = None) -> None:
        # Messages stay one line: hostile input must not be able to forge extra output lines.
        self.message = " ".join(str(message).split())
        # The library's parameters as this message spells them (`force` -> "`force=True`"): a front end
        # (the CLI) says its own word for each instead, see one_line(words).
        self.names = names or {}
        # `where` often echoes user or repo input (a target, a file name): one line, bounded.
        where = " ".join(where.split()) if where else where
        self.where = where[:200] + "..." if where and len(where) > 200 else where
        super().__init__(self.one_line())

    def one_line(self, words: dict[str, str] | None = None) -> str:
        """`where: message`; with `words` (parameter -> a front end's word, e.g. its flag), each
        parameter the message names is given in that word."""
        message = self.message
        for param, spelled in self.names.items():
            if words and param in words:
                message = message.replace(spelled, words[param])
        return f"{self.where}: {message}" if self.where else message


class UsageError(InspectorError):
    """A bad argument: a malformed repo id, a missing path, an unknown option value."""

    status = "invalid"


class SettingsError(UsageError):
    """The user's settings, not a repo (the token, HF_ENDPOINT): one error for the whole run or batch."""


class TokenRejected(SettingsError):
    """The Hub refused the token itself (401 Invalid credentials, even on public repos): one error for
    the whole run, not a `gated` row per repo."""


class BadEndpoint(SettingsError):
    """HF_ENDPOINT (or a client's endpoint) is no http(s) URL with a host."""


class NoTransport(SettingsError):
    """No HTTP session can be made (a CA bundle named by SSL_CERT_FILE that is not there): every Hub
    read would fail the same way."""


class TargetNotFound(InspectorError):
    status = "not_found"


class GatedTarget(InspectorError):
    status = "gated"


class NetworkError(InspectorError):
    """Timeouts, dropped connections, 5xx or 429 that outlived the retries."""

    status = "network_error"


class StoreError(InspectorError):
    """The audit database cannot be read or written: disk full, a corrupted page, another audit on it."""

    status = "invalid"


class AuditProcessFailed(InspectorError):
    """A child process of an audit ended with an error (its own line is above) rather than a crash,
    which costs one row and a restart."""


class InvalidData(InspectorError):
    """A file from a repo that we refuse to trust: a hostile header, a broken config or index."""

    status = "invalid"


class TooLarge(InvalidData):
    """A file over its size cap (from stat, or counted while reading)."""


@dataclass(frozen=True, slots=True, init=False)
class Location:
    file: str
    line: int
    col: int

    def __init__(self, file: str, line: int, col: int) -> None:
        # Every node of every rule file has one (~22,000 a start): the slots' own setters, not the
        # frozen class's object.__setattr__ per field (a third of the cost). Still frozen and hashed.
        _file(self, file)
        _line(self, line)
        _col(self, col)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


_file, _line, _col = (Location.__dict__[f].__set__ for f in ("file", "line", "col"))


class RuleError(InspectorError):
    """A rule file that cannot be used; carries every problem found, each with its location."""

    status = "invalid"

    def __init__(self, problems: list[RuleProblem]) -> None:
        self.problems = problems
        first = problems[0] if problems else None
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{first}{more}" if first else "invalid rules")


@dataclass(frozen=True)
class RuleProblem:
    """One finding of the rule loader or validator, printed as `file:line:col: severity[CODE] message`."""

    code: str
    message: str
    location: Location | None
    severity: str = "error"  # error | warning

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}{self.severity}[{self.code}] {self.message}"


def did_you_mean(word: object, candidates: Iterable[str], otherwise: str = "") -> str:
    """`; did you mean 'x'?` for the closest candidate, else `otherwise` (message tails)."""
    hint = difflib.get_close_matches(str(word), [str(c) for c in candidates], n=1)
    return f"; did you mean {hint[0]!r}?" if hint else otherwise
