"""The rule reference in rules/README.md, generated from the definitions it documents (operators,
derived facts, problem codes), so the guide cannot drift from the code. `inspector rules reference`
prints it or rewrites the README between its markers; a test keeps the shipped README in step."""

from __future__ import annotations

import re
from collections.abc import Callable

from .operators import reference_tables
from .ruleset import DERIVED_FACTS

_BLOCK = re.compile(r"(<!-- BEGIN GENERATED: (?P<name>[a-z-]+) .*?-->\n)(?P<body>.*?)(<!-- END GENERATED -->)", re.S)


def _derived_facts() -> str:
    return "\n".join(f"- `{name}`: {doc}" for name, doc in DERIVED_FACTS.items())


def _problem_codes() -> str:
    from .validators import reference_table

    return reference_table()


SECTIONS: dict[str, Callable[[], str]] = {
    "operators": reference_tables,
    "derived-facts": _derived_facts,
    "problem-codes": _problem_codes,
}


def render(name: str) -> str:
    return SECTIONS[name]()


def update(text: str) -> str:
    """The README text with every generated block replaced by its current rendering."""

    def block(m: re.Match) -> str:
        name = m.group("name")
        if name not in SECTIONS:
            return m.group(0)
        return f"{m.group(1)}{render(name)}\n{m.group(4)}"

    return _BLOCK.sub(block, text)


def blocks(text: str) -> dict[str, str]:
    """The generated blocks a README holds, by name (their text as it stands)."""
    return {m.group("name"): m.group("body") for m in _BLOCK.finditer(text)}


def explain_code(code: str) -> str:
    """A problem code's documentation with its examples (yamllint's rule pages, on the terminal)."""
    from .errors import UsageError, did_you_mean
    from .validators import CHECKS, Check

    check = CHECKS.get(code.upper())
    if check is None:
        raise UsageError(f"no problem code {code!r}" + did_you_mean(code.upper(), list(CHECKS)))
    where = f"line {check.at[0]}, column {check.at[1]} of {check.at_file}" if check.at else "no location"
    out = [f"{check.code} ({check.severity}): {check.title}", ""]
    for label, example in (("fails", check.failing), ("passes", check.passing)):
        for rel, text in Check.files(example).items():
            body = "(absent)" if text is None else f"({text} bytes)" if isinstance(text, int) else text.rstrip("\n")
            out += [f"{label} ({rel}{', reported at ' + where if label == 'fails' and rel == check.at_file else ''}):", body, ""]
    return "\n".join(out).rstrip("\n")
