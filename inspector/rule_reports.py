"""Machine formats for the rule author's commands, as CI systems read them (the formats ruff and
yamllint print): GitHub workflow annotations, SARIF 2.1.0 and JUnit XML for `rules validate`, and
JUnit XML for `rules test`."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from .errors import RuleProblem
from .inert import inert, json_safe

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL = "inspector-rules"


def _gh_escape(s: str, prop: bool = False) -> str:
    s = s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return s.replace(":", "%3A").replace(",", "%2C") if prop else s


def github(problems: list[RuleProblem]) -> str:
    """`::error file=F,line=L,col=C,title=CODE::message`, one line each (GitHub Actions annotations)."""
    out = []
    for p in problems:
        props = [f"title={_gh_escape(f'{TOOL} ({p.code})', True)}"]
        if p.location:
            props = [f"file={_gh_escape(p.location.file, True)}", f"line={p.location.line}", f"col={p.location.col}", *props]
        out.append(f"::{'error' if p.severity == 'error' else 'warning'} {','.join(props)}::{_gh_escape(inert(p.message, None))}")
    return "\n".join(out)


def sarif(problems: list[RuleProblem]) -> str:
    """One SARIF 2.1.0 run: the checks that fired as rules, each problem as a result."""
    from .validators import CHECKS

    codes = sorted({p.code for p in problems})
    rules = [{"id": c, "name": c,
              "shortDescription": {"text": CHECKS[c].title if c in CHECKS else c},
              "defaultConfiguration": {"level": "error" if c.startswith("E") else "warning"}} for c in codes]
    results: list[dict[str, Any]] = []
    for p in problems:
        r: dict[str, Any] = {"ruleId": p.code, "ruleIndex": codes.index(p.code),
                             "level": "error" if p.severity == "error" else "warning",
                             "message": {"text": json_safe(p.message)}}
        if p.location:
            r["locations"] = [{"physicalLocation": {"artifactLocation": {"uri": json_safe(p.location.file)},
                                                    "region": {"startLine": p.location.line, "startColumn": p.location.col}}}]
        results.append(r)
    doc = {"$schema": SARIF_SCHEMA, "version": "2.1.0",
           "runs": [{"tool": {"driver": {"name": TOOL, "informationUri": "https://github.com/inspector/inspector", "rules": rules}},
                     "results": results}]}
    return json.dumps(doc, indent=2, ensure_ascii=False)


def _xml(root: ET.Element) -> str:
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")


def _x(s: str) -> str:
    """XML 1.0 cannot hold control characters at all: escape them (inert keeps them visible)."""
    return inert(s, None)


def junit_validate(problems: list[RuleProblem], files: list[str], *, strict: bool) -> str:
    """A test case per file checked; an error (or, with --strict, a warning) fails its file."""
    by_file: dict[str, list[RuleProblem]] = {f: [] for f in files}
    for p in problems:
        by_file.setdefault(p.location.file if p.location else "(rule set)", []).append(p)
    failing = lambda p: p.severity == "error" or strict  # noqa: E731
    suites = ET.Element("testsuites", name="inspector rules validate")
    suite = ET.SubElement(suites, "testsuite", name="inspector rules validate", tests=str(len(by_file)),
                          failures=str(sum(any(failing(p) for p in ps) for ps in by_file.values())), errors="0")
    for file, ps in by_file.items():
        case = ET.SubElement(suite, "testcase", classname=_x(file), name=_x(file))
        for p in ps:
            where = f"{p.location.line}:{p.location.col}" if p.location else ""
            text = f"{where} {p.severity}[{p.code}] {p.message}".strip()
            if failing(p):
                ET.SubElement(case, "failure", type=p.code, message=_x(p.message)).text = _x(text)
            else:
                ET.SubElement(case, "system-out").text = _x(text)
    return _xml(suites)


def junit_tests(report) -> str:
    """`rules test`: a test case per fixture (its failures), one per rule-coverage failure."""
    suites = ET.Element("testsuites", name="inspector rules test")
    cases = len(report.results) + len(report.coverage)
    failed = sum(bool(r.failures) for r in report.results) + len(report.coverage)
    suite = ET.SubElement(suites, "testsuite", name="inspector rules test", tests=str(cases), failures=str(failed),
                          errors="0", skipped="0", time=f"{report.seconds:.3f}")
    for r in report.results:
        case = ET.SubElement(suite, "testcase", classname=_x(r.where.split(":")[0]), name=_x(r.id))
        for f in r.failures:
            ET.SubElement(case, "failure", type=f.what, message=_x(f.message)).text = _x(f"{f.where}: {f.message}")
        if r.todos:
            ET.SubElement(case, "system-out").text = _x("\n".join(f"todo: {t}" for t in r.todos))
    for f in report.coverage:
        case = ET.SubElement(suite, "testcase", classname=_x(f.where.split(":")[0]), name=_x(f"coverage {f.rule}"))
        ET.SubElement(case, "failure", type=f.what, message=_x(f.message)).text = _x(f"{f.where}: {f.message}")
    return _xml(suites)
