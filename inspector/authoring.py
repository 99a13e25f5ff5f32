"""Rule authoring: validate rule files, test the whole rule set on the fixtures, snapshot a repo
into a fixture, scaffold a family, and describe the format as JSON Schema. No click here: the
`inspector rules` commands (cli_rules.py) only parse arguments and print what these return.
"""

from __future__ import annotations

import csv
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import validators as V
from .errors import InspectorError, Location, RuleError, RuleProblem, UsageError, did_you_mean
from .operators import OPERATORS, OPS_BY_SUBJECT
from .operators import SUBJECTS as SUBJECT_DOCS
from .patterns import skeleton
from .readout import Snapshot, TensorInfo
from .rule_fixtures import (
    EXPECT_FIELDS,
    FIXTURE_FIELDS,
    Fixture,
    FixtureSet,
    check_rule_ids,
    expect_holds,
    fixture_dict,
    is_fixture_file,
    load_fixtures,
)
from .ruleset import (
    FIELDS,
    KINDS,
    RULE_FIELDS,
    TOP_FIELDS,
    RuleSet,
    load_ruleset,
    shipped_rules_dir,
)
from .yamlloc import YamlProblem, read_capped

# --- which path is what -----------------------------------------------------------------------


@dataclass(frozen=True)
class Inputs:
    """User paths split into rule sources and fixture sources (a folder is both: its files and tests/)."""

    rules: list[Path]
    fixtures: list[Path]


def split_paths(paths: list[Path]) -> Inputs:
    rules: list[Path] = []
    fixtures: list[Path] = []
    for p in paths:
        if p.is_file():
            (fixtures if is_fixture_file(p) else rules).append(p)
        elif p.is_dir() and p.name == "tests":
            fixtures.append(p)
        else:
            rules.append(p)  # a missing path is reported by the rule loader (E100)
            if p.is_dir():
                fixtures.append(p)
    return Inputs(rules, fixtures)


def load_inputs(paths: list[Path], *, shipped: bool = True) -> tuple[RuleSet, FixtureSet]:
    """Rules and fixtures with every problem of both (nothing raised here)."""
    inp = split_paths(paths)
    rs = load_ruleset(inp.rules, shipped=shipped, strict=False)
    fx = load_fixtures(inp.fixtures, shipped=shipped)
    if not rs.errors:
        fx.problems.extend(check_rule_ids(fx, [r.id for r in rs.rules]))
    return rs, fx


# --- validate ---------------------------------------------------------------------------------


@dataclass
class KnownNames:
    """What real repos hold: every config seen and every tensor skeleton, to catch dead predicates."""

    configs: list[dict[str, Any]] = field(default_factory=list)
    skeletons: set[str] = field(default_factory=set)
    sources: int = 0


def samples_dir() -> Path:
    return shipped_rules_dir().parent / "samples"


def known_names(fixtures: FixtureSet, samples: Path | None = None) -> KnownNames:
    known = KnownNames()
    for fx in fixtures.fixtures:
        if fx.config:
            known.configs.append(fx.config)
        known.skeletons.update(skeleton(n) for n in fx.tensors)
        known.sources += 1
    samples = samples if samples is not None else samples_dir()
    if samples.is_dir():
        from .sources.local import read_local

        for folder in sorted(p for p in samples.iterdir() if p.is_dir()):
            try:
                snap = read_local(str(folder), headers="none")  # names from the index suffice here
            except InspectorError:
                continue
            if snap.config:
                known.configs.append(snap.config)
            known.skeletons.update(skeleton(n) for n in snap.tensors)
            known.sources += 1
    return known


def dead_predicates(rs: RuleSet, known: KnownNames) -> list[RuleProblem]:
    """Warnings for a `config:` key or a `tensor:` pattern that no known repo has."""
    if not known.sources:
        return []
    return V.dead_config_key.run(rs, known) + V.dead_tensor_pattern.run(rs, known)


@dataclass
class Validation:
    problems: list[RuleProblem]
    files: list[str]
    rules: int
    fixtures: int

    @property
    def errors(self) -> list[RuleProblem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[RuleProblem]:
        return [p for p in self.problems if p.severity != "error"]

    def exit_code(self, strict: bool) -> int:
        if self.errors:
            return 2
        return 1 if strict and self.warnings else 0


def _scope(paths: list[Path], shipped: bool) -> tuple[list[Path], list[str]]:
    """The paths to load beside the shipped set, and the file names (as problems show them) to
    report on. A path inside the shipped rules folder is the shipped file itself: loading it again
    would make every rule there a duplicate of itself."""
    root = shipped_rules_dir().resolve()
    extra: list[Path] = []
    scope: list[str] = []
    for p in paths:
        try:
            rp = p.resolve()
        except (OSError, RuntimeError):  # a symlink loop: the loader reports the path
            rp = p
        if shipped and (rp == root or root in rp.parents):
            scope.append("rules/" + rp.relative_to(root).as_posix() if rp != root else "rules/")
        else:
            extra.append(p)
            scope.append(str(p))
    return extra, scope


def _in_scope(file: str, scope: list[str]) -> bool:
    return any(file == s or file.startswith(s.rstrip("/") + "/") for s in scope)


def validate(paths: list[Path], *, shipped: bool = True, samples: Path | None = None) -> Validation:
    """Every problem of the rules and fixtures. With PATHS, the shipped set is loaded for context
    (fragments, `extends`, fact names, ids) but only the problems in PATHS are reported."""
    extra, scope = _scope(paths, shipped)
    rs, fx = load_inputs(extra, shipped=shipped)
    problems = list(rs.problems) + list(fx.problems)
    if not rs.errors:
        problems.extend(dead_predicates(rs, known_names(fx, samples)))
    files, rules, fixtures = rs.files + fx.files, len(rs.rules), len(fx.fixtures)
    if paths:
        problems = [p for p in problems if p.location is None or _in_scope(p.location.file, scope)]
        files = [f for f in files if _in_scope(f, scope)]
        rules = sum(_in_scope(r.loc.file, scope) for r in rs.rules)
        fixtures = sum(_in_scope(f.loc.file, scope) for f in fx.fixtures)
    problems.sort(key=lambda p: (p.location.file, p.location.line, p.location.col) if p.location else ("", 0, 0))
    return Validation(problems, files, rules, fixtures)


_HINT = re.compile(r"did you mean (['\"].+?['\"])\?")
_TOKEN_END = re.compile(r"\s|:(?:\s|$)")
_TOKEN_END_FLOW = re.compile(r"[\s,\]}]|:(?:\s|$)")


def source_path(display: str) -> Path:
    """The file a problem's location names (shipped files are shown as rules/...)."""
    p = Path(display)
    if not p.exists() and display.startswith("rules/"):
        return shipped_rules_dir() / display[len("rules/"):]
    return p


def caret(problem: RuleProblem, lines_of: dict[str, list[str]] | None = None) -> str:
    """The problem, its source line and a caret under the column; `help:` for a did-you-mean."""
    out = [str(problem)]
    loc = problem.location
    if loc is None:
        return out[0]
    cache = lines_of if lines_of is not None else {}
    if loc.file not in cache:
        try:
            cache[loc.file] = read_capped(source_path(loc.file)).splitlines()
        except YamlProblem:  # a FIFO or device is never read, not even for a caret
            cache[loc.file] = []
    lines = cache[loc.file]
    if 1 <= loc.line <= len(lines):
        text = lines[loc.line - 1].replace("\t", " ")
        if len(text) > 160:
            text = text[:160] + " ..."
        col = max(1, min(loc.col, len(text) + 1))
        rest = text[col - 1:]
        if rest[:1] in ("'", '"'):
            end = rest.find(rest[0], 1)
            width = end + 1 if end > 0 else len(rest)
        else:
            # `,`, `]` and `}` end a token only inside a flow collection ([...] or {...}).
            flow = any(c in text[:col - 1] for c in "[{")
            m = (_TOKEN_END_FLOW if flow else _TOKEN_END).search(rest)
            width = m.start() if m else len(rest)
        gutter = " " * len(str(loc.line))
        out.append(f" {gutter} |")
        out.append(f" {loc.line} | {text}")
        out.append(f" {gutter} | {' ' * (col - 1)}{'^' * max(1, width)}")
        m = _HINT.search(problem.message)
        if m:
            out.append(f" {gutter} = help: did you mean {m.group(1)}?")
    return "\n".join(out)


def problem_dict(p: RuleProblem) -> dict[str, Any]:
    m = _HINT.search(p.message)
    loc = p.location
    return {"file": loc.file if loc else None, "line": loc.line if loc else None, "col": loc.col if loc else None,
            "severity": p.severity, "code": p.code, "message": p.message,
            "help": f"did you mean {m.group(1)}?" if m else None}


# --- test -------------------------------------------------------------------------------------


@dataclass
class RuleStats:
    id: str
    where: str
    status: str
    votes: dict[str, str]
    weight: float
    fired: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    fp_fixtures: list[str] = field(default_factory=list)
    fn_fixtures: list[str] = field(default_factory=list)


@dataclass
class Failure:
    fixture: str | None  # None for a rule-coverage failure
    where: str
    what: str  # "verdict" | "rule" | "coverage"
    message: str
    field: str | None = None
    expected: str | None = None
    observed: str | None = None
    rule: str | None = None


@dataclass
class FixtureResult:
    id: str
    where: str
    observed: dict[str, str | None]
    margins: dict[str, float]
    fired: list[str]
    failures: list[Failure] = field(default_factory=list)
    todos: list[str] = field(default_factory=list)


@dataclass
class RuleTestReport:
    results: list[FixtureResult]
    rules: list[RuleStats]
    coverage: list[Failure]
    never_fired: list[str]
    seconds: float
    selected: bool = False
    focus: list[str] | None = None  # with -k: the rules that matter (the per-rule table shows only these)
    fixtures: list[Fixture] = field(default_factory=list, repr=False)  # the fixtures run (for --update)

    @property
    def failures(self) -> list[Failure]:
        return [f for r in self.results for f in r.failures] + self.coverage

    @property
    def todos(self) -> list[tuple[str, str]]:
        return [(r.id, t) for r in self.results for t in r.todos]

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {
            "ok": self.ok, "fixtures": len(self.results), "rules": len(self.rules), "seconds": round(self.seconds, 3),
            "failures": [asdict(f) for f in self.failures],
            "todo": [{"fixture": fid, "message": t} for fid, t in self.todos],
            "never_fired": self.never_fired,
            "rule_stats": {s.id: {k: v for k, v in asdict(s).items() if k != "id"} for s in self.rules},
            "results": [asdict(r) for r in self.results],
        }


def _expected_to_fire(votes: dict[str, str], weight: float, expect: dict[str, str | None], todo: tuple[str, ...]) -> bool | None:
    """Should a rule with these votes fire on a fixture? None when no voted field is confirmed."""
    checked = [(f, v) for f, v in votes.items() if f in expect and f not in todo]
    if not checked:
        return None
    agree = all(expect_holds(f, expect[f], v) for f, v in checked)
    # A negative weight is evidence against its value: right where the value is NOT expected.
    return agree if weight >= 0 else not agree


def _scores(verdict) -> dict[str, dict[str, list[tuple[str, float]]]]:
    """field -> value -> [(rule, weight)], from the verdict's evidence (rules and base fingerprint)."""
    out: dict[str, dict[str, list[tuple[str, float]]]] = defaultdict(lambda: defaultdict(list))
    for e in verdict.evidence:
        out[e.field][e.value].append((e.rule, e.weight))
    return out


def _explain_miss(verdict, f: str, want: str | None) -> tuple[str, str | None]:
    got = verdict.base if f == "base" else getattr(verdict, f)
    if f == "base":
        return f"base expected {want}, observed {got} (lineage {verdict.lineage})", None
    board = _scores(verdict)[f]
    top = max(board.get(got, []), key=lambda rw: rw[1], default=None)
    total = {v: sum(w for _r, w in rws) for v, rws in board.items()}
    parts = [f"{f} expected {want}, observed {got}"]
    if top:
        parts.append(f"winner {top[0]} ({top[1]:+.2f})")
    parts.append(f"margin {verdict.margins.get(f, 0.0):.2f}")
    if want in total:
        best_for_want = max(board[want], key=lambda rw: rw[1])
        parts.append(f"{want} scored {total[want]:+.2f} (best {best_for_want[0]})")
    elif want not in (None, "unknown"):
        parts.append(f"no rule voted {f}={want}")
    return ", ".join(parts), top[0] if top else None


def run_tests(rs: RuleSet, fixtures: list[Fixture], *, selected: bool = False) -> RuleTestReport:
    """Every rule on every fixture, once: verdicts, per-rule outcomes and coverage."""
    from .api import Inspector

    t0 = time.perf_counter()
    insp = Inspector(rs)
    stats = {r.id: RuleStats(r.id, str(r.loc), r.status, dict(r.votes), r.weight) for r in rs.rules if r.status != "deprecated"}
    results: list[FixtureResult] = []
    for fx in fixtures:
        verdict, _facts, outcomes = insp.judge(fx.snapshot())
        fired = {o.rule.id for o in outcomes.fired}
        observed = {f: getattr(verdict, f) for f in FIELDS} | {"base": verdict.base}
        res = FixtureResult(fx.id, str(fx.loc), observed, dict(verdict.margins), sorted(fired))
        for f in EXPECT_FIELDS:
            if f not in fx.expect:
                continue
            want, got = fx.expect[f], observed[f]
            shown = " or ".join(map(str, want)) if isinstance(want, tuple) else want
            if f in fx.todo:
                state = "matches" if expect_holds(f, want, got) else "differs"
                res.todos.append(f"{f} expected {shown} (unconfirmed), observed {got}: {state}")
            elif not expect_holds(f, want, got):
                msg, winner = _explain_miss(verdict, f, shown)
                res.failures.append(Failure(fx.id, str(fx.loc), "verdict", msg, f, shown, got, winner))
        for rid, want in fx.rules.items():
            did = rid in fired
            where = str(fx.rule_locs.get(rid, fx.loc))
            if want == "todo":
                res.todos.append(f"rule {rid} {'fires' if did else 'does not fire'} (expectation todo)")
            elif (want == "match") != did:
                res.failures.append(Failure(fx.id, where, "rule", f"rule {rid} expected {want}, it {'fired' if did else 'did not fire'}",
                                            None, want, "match" if did else "no-match", rid))
        for rid, st in stats.items():
            did = rid in fired
            st.fired += did
            should = _expected_to_fire(st.votes, st.weight, fx.expect, fx.todo)
            if should is None:
                continue
            if did and should:
                st.tp += 1
            elif did:
                st.fp += 1
                st.fp_fixtures.append(fx.id)
            elif should:
                st.fn += 1
                st.fn_fixtures.append(fx.id)
            else:
                st.tn += 1
        results.append(res)
    coverage: list[Failure] = []
    never: list[str] = []
    if not selected:
        never = [s.id for s in stats.values() if s.fired == 0]
        for s in stats.values():
            if s.status != "stable":
                continue
            lacks = [w for w, n in (("positive", s.tp), ("negative", s.tn)) if n == 0]
            if lacks:
                coverage.append(Failure(None, s.where, "coverage", f"stable rule {s.id} has no {' and no '.join(lacks)} fixture "
                                        f"(tp {s.tp}, tn {s.tn}): add a fixture, or mark it experimental", rule=s.id))
    return RuleTestReport(results, list(stats.values()), coverage, never, time.perf_counter() - t0, selected)


def _rule_matches(rule, kws: list[str]) -> bool:
    words = [rule.id, rule.family or "", rule.loc.file, *rule.tags]
    return any(k in w.lower() for k in kws for w in words)


def select_fixtures(fixtures: FixtureSet, keywords: list[str], rs: RuleSet | None = None) -> list[Fixture]:
    """Fixtures whose id or file contains a keyword, or that expect an outcome of a rule whose id,
    family, file or tags contain one."""
    if not keywords:
        return list(fixtures.fixtures)
    kws = [k.lower() for k in keywords]
    named = {r.id for r in rs.rules if _rule_matches(r, kws)} if rs is not None else set()
    return [f for f in fixtures.fixtures
            if any(k in f.id.lower() or k in f.loc.file.lower() for k in kws) or named & set(f.rules)]


def focus_rules(report: RuleTestReport, rs: RuleSet, keywords: list[str]) -> list[str]:
    """With -k, the rules that matter: named by a keyword (id, family, file, tags), expected by a
    selected fixture or named in its failures, or wrong on one (a false positive or negative)."""
    kws = [k.lower() for k in keywords]
    expected = {rid for fx in report.fixtures for rid in fx.rules} | {f.rule for f in report.failures if f.rule}
    wrong = {s.id for s in report.rules if s.fp or s.fn}
    return [r.id for r in rs.rules if _rule_matches(r, kws) or r.id in expected or r.id in wrong]


def run_rule_tests(paths: list[Path], keywords: list[str] | None = None) -> RuleTestReport:
    """`inspector rules test`: raises RuleError when a rule or fixture file cannot be used."""
    t0 = time.perf_counter()
    rs, fx = load_inputs(_scope(paths, True)[0])
    errors = rs.errors + fx.errors
    if errors:
        raise RuleError(errors)
    chosen = select_fixtures(fx, keywords or [], rs)
    if keywords and not chosen:
        raise UsageError(f"no fixture id or file (nor a rule they expect) contains {' or '.join(map(repr, keywords))}")
    report = run_tests(rs, chosen, selected=bool(keywords))
    report.fixtures = chosen
    if keywords:
        report.focus = focus_rules(report, rs, keywords)
    report.seconds = time.perf_counter() - t0  # loading included: that is what an author waits for
    return report


def accept_observed(report: RuleTestReport) -> tuple[list[str], list[str]]:
    """`rules test --update`: write the observed values of failed expectations into their fixtures
    (`expect:` fields, `rules:` outcomes), where those are one-line {...} mappings as `rules
    snapshot` writes them. Returns (what was updated, what could not be)."""
    from .rule_fixtures import render_flow

    installed = shipped_rules_dir().name == "_rules"
    by_id = {fx.id: fx for fx in report.fixtures}
    edits: dict[Path, list[tuple[Location, dict]]] = defaultdict(list)
    done: list[str] = []
    skipped: list[str] = []
    for res in report.results:
        fx = by_id.get(res.id)
        verdict = [f for f in res.failures if f.what == "verdict"]
        rules = [f for f in res.failures if f.what == "rule"]
        if fx is None or not (verdict or rules):
            continue
        path = source_path(fx.loc.file)
        if installed and shipped_rules_dir() in path.resolve().parents:
            skipped.append(f"{fx.loc.file}: fixture {fx.id}: a fixture of the installed package is never rewritten")
            continue
        for fails, loc, current, what in ((verdict, fx.expect_loc, fx.expect, "expect"), (rules, fx.rules_loc, fx.rules, "rules")):
            if not fails:
                continue
            new = {k: list(v) if isinstance(v, tuple) else v for k, v in current.items()}
            for f in fails:
                key = f.field if what == "expect" else f.rule
                new[key] = f.observed
            if loc is None:
                skipped.append(f"{fx.loc.file}: fixture {fx.id}: no `{what}:` to update")
                continue
            edits[path].append((loc, new))
            done.extend(f"{fx.loc.file}:{loc.line}: fixture {fx.id}: {what} {f.field or f.rule} = {f.observed}" for f in fails)
    for path, changes in edits.items():
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        for loc, new in changes:
            line = lines[loc.line - 1]
            m = re.match(r"\{[^{}\n]*\}", line[loc.col - 1:])
            if not m:
                skipped.append(f"{path}:{loc.line}: not a one-line {{...}} mapping; edit it by hand")
                continue
            lines[loc.line - 1] = line[:loc.col - 1] + render_flow(new) + line[loc.col - 1 + m.end():]
        path.write_text("".join(lines), encoding="utf-8")
    return done, skipped


# --- snapshot -> fixture ----------------------------------------------------------------------



def read_source_md(folder: Path) -> dict[str, str]:
    """`- key: value` lines of a corpus/sample SOURCE.md (provenance of real data)."""
    p = folder / "SOURCE.md"
    if not p.is_file():
        return {}
    out: dict[str, str] = {}
    for line in p.read_text(encoding="utf-8", errors="replace").splitlines():
        m = re.match(r"^- ([a-z_]+): (.*)$", line)
        if m:
            out.setdefault(m.group(1), m.group(2).strip())
    return out


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9.]", "", name.lower())


def label_expectations(label: str, model_id: str, base_ids: list[str]) -> dict[str, str]:
    """Corpus family labels (corpus/README.md): `other:NAME` is lineage NAME, `encoder` and
    `encoder-decoder` are kinds. The base is expected only where the model id names a catalogued
    base (as `inspector eval` scores it)."""
    if label in KINDS:
        return {"kind": label}
    out = {"kind": "decoder", "lineage": label.split(":", 1)[1] if label.startswith("other:") else label}
    name = _norm(model_id.split(" ")[0].split("/")[-1])
    base = next((b for b in base_ids if _norm(b) == name), None)
    if base:
        out["base"] = base
    return out


def _expected_tsv(folder: Path) -> dict[str, str]:
    tsv = folder.parent / "expected.tsv"
    if not tsv.is_file():
        return {}
    with tsv.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if row.get("sample") == folder.name:
                return {k: v for k, v in row.items() if k in EXPECT_FIELDS and v and v != "-"}
    return {}


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


@dataclass
class Snapped:
    """A target read for a fixture: the snapshot and what is known about it beyond the bytes."""

    snapshot: Snapshot
    source: dict[str, str]
    known: dict[str, str]  # expect values that come with the data (expected.tsv, corpus labels)
    uncertain: list[str]  # known fields whose label is low-confidence
    files: list[str]


def snap_target(insp, target: str) -> Snapped:
    from .api import is_local

    snap = insp.snapshot(target)
    if not is_local(target):
        src = {"model": snap.repo_id or target, "provenance": f"huggingface.co/{snap.repo_id}@{snap.revision}"}
        if snap.revision:
            src["revision"] = snap.revision
        return Snapped(snap, src, {}, [], list(snap.files))
    folder = Path(target)
    meta = read_source_md(folder) if folder.is_dir() else {}
    if not meta:
        return Snapped(snap, {"model": folder.name, "provenance": _display(folder)}, {}, [], list(snap.files))
    # A corpus or samples folder: real config and weight map with a SOURCE.md (see corpus/README.md).
    wm = folder / "weight_map.json"
    if not snap.tensors and wm.is_file():
        from .formats.plan import MAX_INDEX_BYTES, parse_index

        raw = wm.read_bytes()
        if len(raw) <= MAX_INDEX_BYTES:
            names, snap.total_size = parse_index(raw, str(wm))
            snap.tensors = {n: TensorInfo(n, file=s) for n, s in names.items()}
            snap.weights_format, snap.weights_error = "bin-index", None
    files = [f for f in snap.files if f not in ("README.md", "SOURCE.md", "weight_map.json")]
    index_name = Path(meta.get("weight_map_source_path", "none")).name
    if meta.get("has_weight_map") == "yes" and index_name.endswith(".json") and index_name not in files:
        files.append(index_name)
    repo, commit = meta.get("source_repo"), meta.get("source_commit", "")
    prov = _display(folder)
    if repo:
        prov += f" (from {repo}" + (f"@{commit[:12]}" if commit and commit != "n/a" else "") + ")"
    elif meta.get("config_source_path"):
        prov += f" (config from {meta['config_source_path']})"
    built = re.search(r"Built by (tools/[\w.-]+\.py)", (folder / "README.md").read_text(errors="replace")) \
        if (folder / "README.md").is_file() else None
    if built:  # a sample: real config and names, weight files constructed (the sample's README says how)
        prov += f"; weight files constructed by {built.group(1)}"
    src = {"model": meta.get("model_id", folder.name), "provenance": prov}
    if meta.get("family"):
        src["family"] = meta["family"]
    if meta.get("confidence"):
        src["confidence"] = meta["confidence"]
    known = _expected_tsv(folder)
    if "base" in known:  # expected.tsv spells some ids in lower case; the catalogue's spelling is canonical
        known["base"] = next((b.id for b in insp.rules.bases if b.id.lower() == known["base"].lower()), known["base"])
    uncertain: list[str] = []
    if not known and meta.get("family"):
        known = label_expectations(meta["family"], meta.get("model_id", ""), [b.id for b in insp.rules.bases])
        if meta.get("confidence") == "low" or meta["family"].startswith("placeholder"):
            uncertain = [f for f in known if f != "kind"]
    return Snapped(snap, src, known, uncertain, files)


def parse_expect(items: list[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in EXPECT_FIELDS:
            tail = did_you_mean(key, list(EXPECT_FIELDS))
            raise UsageError(f"`expect` takes FIELD=VALUE with FIELD one of {', '.join(EXPECT_FIELDS)}, got {item!r}{tail}",
                             names={"expect": "`expect`"})
        value = value.strip()
        if key == "kind" and value not in (*KINDS, "unknown"):
            raise UsageError(f"`expect` kind must be one of {', '.join(KINDS)}, got {value!r}", names={"expect": "`expect`"})
        out[key] = None if key == "base" and value in ("", "none", "null") else value
    return out


def fixture_id_for(target: str) -> str:
    name = target.rstrip("/").split("@", 1)[0]
    name = Path(name).name if Path(name).exists() else name.replace("/", "__")
    return re.sub(r"[^A-Za-z0-9_.\-]", "-", name) or "fixture"


def make_fixture(insp, target: str, *, fid: str | None = None, expect: dict[str, str | None] | None = None,
                 guess: bool = True, rules: dict[str, str] | None = None) -> dict[str, Any]:
    """The fixture dict for a target. Values given (`expect`) or shipped with the data are
    confirmed; with `guess`, the other fields take the current verdict and are listed in `todo`."""
    snapped = snap_target(insp, target)
    verdict = insp.judge(snapped.snapshot, full=False)[0]
    exp: dict[str, str | None] = dict(snapped.known)
    todo = list(snapped.uncertain)
    for k, v in (expect or {}).items():
        exp[k] = v
        if k in todo:
            todo.remove(k)
    if guess:
        for f in EXPECT_FIELDS:
            if f not in exp:
                exp[f] = verdict.base if f == "base" else getattr(verdict, f)
                todo.append(f)
    ordered = {f: exp[f] for f in EXPECT_FIELDS if f in exp}
    return fixture_dict(fid or fixture_id_for(target), snapped.snapshot, source=snapped.source, expect=ordered,
                        todo=[f for f in EXPECT_FIELDS if f in todo], rules=rules, files=snapped.files)


def refuse_shipped_ids(path: Path, ids: list[str]) -> None:
    """A fixture written elsewhere with a shipped fixture's id would silently replace that one in
    `rules test`: refuse it (unless `path` is the shipped file, where write_fixtures refuses it)."""
    from .rule_fixtures import load_fixtures

    shipped = {f.id: f for f in load_fixtures([], shipped=True).fixtures}
    for fid in ids:
        fx = shipped.get(fid)
        if fx is not None and source_path(fx.loc.file).resolve() != path.resolve():
            raise UsageError(f"fixture id {fid!r} is a shipped fixture ({fx.loc}); give another `fid`, "
                             "or `replace_shipped=True` to replace it on purpose",
                             names={"fid": "`fid`", "replace_shipped": "`replace_shipped=True`"})


def write_fixtures(path: Path, items: list[dict[str, Any]]) -> int:
    """Append fixtures to a fixture file (created when missing); comments and order are kept.

    Refuses an id the file already has; reads the result back and restores the file if it does
    not load exactly as written."""
    from .rule_fixtures import FILE_HEADER, render_fixture

    try:
        before = read_capped(path) if path.exists() else None
    except YamlProblem as e:
        raise RuleError([e.problem]) from None
    if before is not None and not is_fixture_file(path):
        raise UsageError(f"{path} exists and is not a fixture file (no top-level `fixtures:`)")
    existing = load_fixtures([path], shipped=False) if before is not None else FixtureSet()
    if existing.errors:
        raise RuleError(existing.errors)
    have = {f.id for f in existing.fixtures}
    for it in items:
        if it["id"] in have:
            raise UsageError(f"fixture {it['id']!r} is already in {path}; give another `fid` or remove it first",
                             names={"fid": "`fid`"})
        have.add(it["id"])
    text = before if before is not None else FILE_HEADER
    if not text.endswith("\n"):
        text += "\n"
    if re.search(r"(?m)^fixtures[ \t]*:[ \t]*\[\][ \t]*$", text):
        text = re.sub(r"(?m)^(fixtures[ \t]*:)[ \t]*\[\][ \t]*$", r"\1", text)
    text += "".join(render_fixture(it) for it in items)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    after = load_fixtures([path], shipped=False)
    if after.errors or len(after.fixtures) != len(existing.fixtures) + len(items):
        if before is None:
            path.unlink()
        else:
            path.write_text(before, encoding="utf-8")
        if after.errors:
            raise RuleError(after.errors)
        raise UsageError(f"{path}: appending did not add the fixtures (is `fixtures:` the last key of the file?)")
    return len(items)


# --- new family -------------------------------------------------------------------------------

RULE_TEMPLATE = """\
# lineage `{name}`: {title}. Format and operators: rules/README.md.
#
# Start from a real repo:
#   inspector rules snapshot ORG/MODEL -o {tests}/{name}.yaml --expect lineage={name}
#   inspector inspect ORG/MODEL --explain --rule {name}.declared
#   inspector rules test {dir} -k {dir}/      # your fixtures; then the whole set: inspector rules test {dir}

rules:
  - id: {name}.declared
    description: config claims {title} (model_type / architecture); a claim, weighed lightly
    status: experimental          # experimental -> test -> stable (stable needs a positive and a negative fixture)
    author: you
    references: []
    lineage: {name}
    weight: 0.3
    match:
      model_type:
        - fact: model_type
          in: [{name}]
      arch:
        - fact: architectures
          matches: '^{arch}'
    condition: model_type or arch

  # Evidence a relabelled copy cannot hide: the tokenizer size, a config key only this family
  # writes, or a tensor name of its own layout. Fill in and raise the weight.
  # - id: {name}.vocab
  #   description: {title} tokenizer
  #   status: experimental
  #   lineage: {name}
  #   weight: 1.0
  #   match:
  #     vocab:
  #       - fact: vocab_size
  #         in: [123456]
"""

FIXTURE_TEMPLATE = """\
# Fixtures for lineage `{name}`. Replace the stub with real repos:
#   inspector rules snapshot ORG/MODEL -o {tests}/{name}.yaml --expect lineage={name}
# (`todo: true` keeps the stub from failing until its values are confirmed.)
fixtures:
  - id: {name}-stub
    source:
      model: ORG/MODEL
      provenance: hand-written stub
    expect: {{kind: decoder, lineage: {name}}}
    todo: true
    rules: {{{name}.declared: todo}}
    files: [config.json]
    config: {{"model_type": "{name}", "architectures": ["{arch}ForCausalLM"]}}
    tensors: {{}}
"""


def new_family(name: str, folder: Path, *, force: bool = False) -> list[Path]:
    if not re.fullmatch(r"[a-z][a-z0-9_\-]{0,40}", name):
        raise UsageError(f"a family name is lower case letters, digits, - and _ (got {name!r})")
    package = Path(__file__).resolve().parent
    target = folder.resolve()
    if target == package or package in target.parents:
        raise UsageError(f"{folder} is inside the installed package; write your rules in another `folder`",
                         names={"folder": "`folder`"})
    rule_path, fixture_path = folder / f"{name}.yaml", folder / "tests" / f"{name}.yaml"
    for p in (rule_path, fixture_path):
        if p.exists() and not force:
            raise UsageError(f"{p} exists (use `force=True` to overwrite)", names={"force": "`force=True`"})
    arch = "".join(part.capitalize() for part in re.split(r"[_\-]", name))
    fmt = {"name": name, "title": arch, "arch": arch, "dir": _display(folder), "tests": _display(folder / "tests")}
    fixture_path.parent.mkdir(parents=True, exist_ok=True)
    rule_path.write_text(RULE_TEMPLATE.format(**fmt), encoding="utf-8")
    fixture_path.write_text(FIXTURE_TEMPLATE.format(**fmt), encoding="utf-8")
    return [rule_path, fixture_path]


# --- JSON Schema ------------------------------------------------------------------------------

def rules_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of rule and fixture files, built from the loader's own tables."""
    predicates = [
        {"type": "object", "required": [s], "additionalProperties": False,
         "properties": {s: {"type": "string", "minLength": 1, "description": SUBJECT_DOCS[s]},
                        **{op: OPERATORS[op].schema for op in ops}}}
        for s, ops in OPS_BY_SUBJECT.items()
    ]
    predicates.append({"type": "object", "required": ["use"], "additionalProperties": False,
                       "properties": {"use": {"type": "string", "description": "a fragment id"}}})
    from .traits import trait_file_schema  # traits:, layer_kinds:, lm_configs: (rules/traits.yaml)

    top = {**TOP_FIELDS, "fixtures": {"type": ["array", "null"], "items": {"$ref": "#/$defs/fixture"}}, **trait_file_schema()}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/inspector/rules.schema.json",
        "title": "inspector rule and fixture files",
        "description": "Rule files (rules/*.yaml) and fixture files (rules/tests/*.yaml); see rules/README.md.",
        "type": "object", "additionalProperties": False, "properties": top,
        "$defs": {
            "predicate": {"oneOf": predicates},
            "selection": {"oneOf": [{"$ref": "#/$defs/predicate"}, {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/predicate"}}]},
            "rule": {"type": "object", "required": ["id"], "additionalProperties": False, "properties": RULE_FIELDS,
                     "anyOf": [{"required": ["match"]}, {"required": ["extends"]}]},
            "fixture": {"type": "object", "required": ["id"], "additionalProperties": False, "properties": FIXTURE_FIELDS},
        },
    }


__all__ = [
    "Failure", "FixtureResult", "KnownNames", "RuleStats", "RuleTestReport", "Validation", "caret", "dead_predicates",
    "known_names", "load_inputs", "make_fixture", "new_family", "parse_expect", "problem_dict", "rules_schema",
    "run_rule_tests", "run_tests", "split_paths", "validate", "write_fixtures",
]
