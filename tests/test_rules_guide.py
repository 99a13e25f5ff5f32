"""The rules guide (rules/README.md) is tested: every operator example holds or fails on the
guide's fixture as the guide says, and the walk-through runs, command by command, through click."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO

from inspector import condition as cond
from inspector.cli import main
from inspector.engine import evaluate
from inspector.facts import build_facts
from inspector.operators import FILE_OPS, TENSOR_OPS, VALUE_OPS
from inspector.rule_fixtures import Fixture, load_fixtures
from inspector.ruleset import load_ruleset, shipped_rules_dir
from inspector.yamlloc import load_text

GUIDE = REPO / "rules" / "README.md"
TEXT = GUIDE.read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = TEXT.index(f"\n## {title}")
    end = TEXT.find("\n## ", start + 1)
    return TEXT[start:end if end > 0 else len(TEXT)]


def _blocks(text: str, lang: str) -> list[tuple[int, str]]:
    """(line number in the guide, body) of each fenced block of this language."""
    out = []
    for m in re.finditer(rf"^```{lang}\n(.*?)^```", text, re.M | re.S):
        out.append((TEXT[: TEXT.index(m.group(0))].count("\n") + 2, m.group(1)))
    return out


EXAMPLES = _section("Operators by example")


@pytest.fixture(scope="module")
def guide_fixture(tmp_path_factory) -> Fixture:
    body = next(b for _line, b in _blocks(EXAMPLES, "yaml") if b.startswith("fixtures:"))
    p = tmp_path_factory.mktemp("guide") / "guide.yaml"
    p.write_text(body)
    fx = load_fixtures([p], shipped=False)
    assert not fx.problems, [str(x) for x in fx.problems]
    return fx.fixtures[0]


def _examples() -> list[tuple[str, int, dict]]:
    out = []
    for line, body in _blocks(EXAMPLES, "yaml"):
        if body.startswith("fixtures:"):
            continue
        doc = load_text(body, f"rules/README.md:{line}")
        assert set(doc) <= {"holds", "fails", "match"}, f"guide block at line {line} is not an example"
        out.append((f"line {line}", line, doc))
    return out


CASES = _examples()


def _rule_text(match: dict, condition: str | None) -> str:
    lines = ["rules:", "  - id: guide.example", "    lineage: guide", "    match:"]
    lines += [f"      {name}: {json.dumps(pred)}" for name, pred in match.items()]
    if condition:
        lines.append(f"    condition: {json.dumps(condition)}")
    return "\n".join(lines) + "\n"


def _holds(tmp_path: Path, fx: Fixture, match: dict, condition: str | None = None) -> bool:
    p = tmp_path / "example.yaml"
    p.write_text(_rule_text(match, condition))
    # With the shipped facts.yaml, so that fact names mean what they mean in real rules.
    rs = load_ruleset([shipped_rules_dir() / "facts.yaml", p], shipped=False)
    return evaluate(build_facts(fx.snapshot(), rs.facts), rs).all[0].holds


@pytest.mark.parametrize("name, line, doc", CASES, ids=[c[0] for c in CASES])
def test_each_guide_example_holds_or_fails_as_written(tmp_path, guide_fixture, name, line, doc):
    for want, key in ((True, "holds"), (False, "fails")):
        items = doc.get(key) or []
        items = items if isinstance(items, list) else [items]
        assert items, f"{name}: needs both a `holds` and a `fails` example"
        for item in items:
            if "match" in doc:  # a condition example: the items are conditions over doc["match"]
                got = _holds(tmp_path, guide_fixture, doc["match"], item)
            else:
                got = _holds(tmp_path, guide_fixture, {"p": item})
            assert got is want, f"rules/README.md:{line}: {item} should {'hold' if want else 'fail'}"


def test_every_operator_has_a_holding_and_a_failing_example():
    seen: dict[str, set[str]] = {}
    for _name, _line, doc in CASES:
        for key in ("holds", "fails"):
            for item in doc.get(key) or []:
                if isinstance(item, dict):
                    subject = next(s for s in ("fact", "config", "tensor", "file") if s in item)
                    ops = [k for k in item if k != subject] or ["present"]
                    for op in ops:
                        seen.setdefault(f"{subject}:{op}" if subject in ("tensor", "file") else op, set()).add(key)
    wanted = list(VALUE_OPS) + [f"tensor:{op}" for op in TENSOR_OPS] + [f"file:{op}" for op in FILE_OPS]
    missing = [op for op in wanted if seen.get(op) != {"holds", "fails"}]
    assert not missing, f"operators without a holding and a failing example in the guide: {missing}"


def test_every_condition_form_is_exampled():
    doc = next(d for _n, _l, d in CASES if "match" in d)
    forms = set()
    for text in doc["holds"] + doc["fails"]:
        tree = cond.parse(text)
        forms.update(type(n).__name__ for n in _walk(tree))
    assert {"And", "Or", "Not", "Of"} <= forms


def _walk(tree):
    yield tree
    for child in getattr(tree, "args", ()) or ((tree.arg,) if hasattr(tree, "arg") else ()):
        yield from _walk(child)


def test_the_guide_fixture_is_what_the_fixture_section_describes(guide_fixture):
    assert len(guide_fixture.tensors) == 1 + 24 * 9 + 1  # ranges {0-23} expand to every layer
    assert guide_fixture.config["vocab_size"] == 151936 and guide_fixture.config["rms_norm_eps"] == 1e-6


# --- the walk-through -----------------------------------------------------------------------------
WALK = _section("Adding a family from scratch")


def _steps() -> list[tuple[str, object]]:
    """('run', (argv, exit)) for each `$ inspector ...` line, ('write', (path, text)) for each file block."""
    steps: list[tuple[str, object]] = []
    for m in re.finditer(r"^```(console|yaml)\n(.*?)^```", WALK, re.M | re.S):
        lang, body = m.group(1), m.group(2)
        if lang == "yaml":
            first = body.splitlines()[0]
            assert first.startswith("# "), "a walk-through YAML block starts with `# PATH`"
            steps.append(("write", (first[2:].strip(), body)))
            continue
        for line in body.splitlines():
            if not line.startswith("$ inspector "):
                continue
            cmd, _, note = line[2:].partition("#")
            code = note.strip().removeprefix("exit").strip()
            steps.append(("run", (shlex.split(cmd)[1:], None if code == "any" else int(code))))
    return steps


def test_the_walk_through_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "corpus").symlink_to(REPO / "corpus", target_is_directory=True)
    runner = CliRunner()
    steps = _steps()
    assert [kind for kind, _ in steps].count("run") >= 6 and any(kind == "write" for kind, _ in steps)
    for kind, arg in steps:
        if kind == "write":
            path, body = arg
            Path(path).write_text(body)
            continue
        argv, code = arg
        r = runner.invoke(main, argv, catch_exceptions=False)
        if code is not None:
            assert r.exit_code == code, f"$ inspector {' '.join(argv)}  -> exit {r.exit_code}\n{r.output[-3000:]}"
    # The whole set with the new family: whatever the shipped rules do elsewhere, nothing about
    # MiniCPM fails and the new rule steals nothing.
    r = runner.invoke(main, ["rules", "test", "pack", "--json"], catch_exceptions=False)
    doc = json.loads(r.output)
    mine = {"minicpm4-8b", "minicpm-2b-128k"}
    assert not [f for f in doc["failures"] if f["fixture"] in mine or f["rule"] == "minicpm.vocab"], doc["failures"]
    stats = doc["rule_stats"]["minicpm.vocab"]
    assert stats["tp"] >= 2 and stats["fp"] == 0 and stats["tn"] > 50
    assert {"minicpm4-8b", "minicpm-2b-128k"} <= {x["id"] for x in doc["results"]}


def test_the_readme_reference_is_the_generated_one():
    """Operators, derived facts and problem codes are documented from their one definition;
    `inspector rules reference --write rules/README.md` regenerates them."""
    from inspector.reference import SECTIONS, blocks, render

    shipped = blocks((shipped_rules_dir() / "README.md").read_text(encoding="utf-8"))
    assert set(shipped) == set(SECTIONS)
    for name in SECTIONS:
        assert shipped[name] == render(name) + "\n", f"rules/README.md block {name!r} is stale: run inspector rules reference --write rules/README.md"
