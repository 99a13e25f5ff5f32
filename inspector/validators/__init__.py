"""Every problem `inspector rules validate` reports: one module per check, each with its code, its
severity, what it means, and a passing and a failing example (yamllint's one module per rule,
pySigma's validators). The loaders report through these checks, never with a bare code string;
tests/test_validators.py runs every example and expects the failing one at its line and column,
and the README's problem-code table is generated from here."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import Location, RuleProblem

Example = str | dict[str, str | int | None]  # a rule file's text, or files by relative path (None: absent, N: N bytes)


@dataclass(frozen=True)
class Check:
    code: str
    severity: str  # "error" | "warning"
    title: str  # one line: what the problem is (the README table)
    passing: Example = field(repr=False)
    failing: Example = field(repr=False)
    at: tuple[int, int] | None = None  # where the failing example is reported (None: no location)
    at_file: str = "rules.yaml"  # which example file that location is in

    def __call__(self, message: str, location: Location | None) -> RuleProblem:
        return RuleProblem(self.code, message, location, self.severity)

    @staticmethod
    def files(example: Example) -> dict[str, str | int | None]:
        return {"rules.yaml": example} if isinstance(example, str) else dict(example)


def _load() -> dict[str, Check]:
    checks = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name == "examples":
            continue
        check = importlib.import_module(f"{__name__}.{info.name}").CHECK
        checks[check.code] = check
    return dict(sorted(checks.items()))



def write_example(example: Example, folder: Path) -> None:
    """The example's files under `folder` (validate the folder to see what the check says)."""
    for rel, text in Check.files(example).items():
        if text is not None:
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_text(text if isinstance(text, str) else "#" * text, encoding="utf-8")


def reference_table() -> str:
    out = ["| code | severity | problem |", "|---|---|---|"]
    out += [f"| {c.code} | {c.severity} | {c.title} |" for c in CHECKS.values()]
    return "\n".join(out)


def unique_predicates(rs, subject: str):
    """(location, predicate) for each predicate of `subject` once per place it is written
    (a fragment used by many rules is reported once)."""
    seen: set[tuple[str, str]] = set()
    for _rule, p in rs.predicates():
        where = p.subject_loc or p.loc
        if p.subject == subject and (str(where), p.key) not in seen:
            seen.add((str(where), p.key))
            yield where, p


# Last: the check modules import Check and the helpers above from this package.
CHECKS: dict[str, Check] = _load()
