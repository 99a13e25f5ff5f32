"""Tokens are never printed, logged, stored or put in errors, and never sent to a CDN host."""

from __future__ import annotations

import ast
import json
import logging
import struct
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SAMPLES, RecordedSleep

from inspector.api import Inspector
from inspector.cli import main
from inspector.transport.http import HubClient

QWEN3 = SAMPLES / "Qwen__Qwen3-4B__sophgo-copy"
TOKEN = "hf_SecretCanaryToken0123456789abcdefXYZ"
OTHER = "hf_OtherValidButUnauthorisedToken98765"


@pytest.fixture
def gated_hub(hub):
    hub.tokens.update({TOKEN, OTHER})
    hub.add_folder("org/gated", QWEN3, gated=True, authorized_tokens=[TOKEN])
    hub.add_folder("org/open", QWEN3)
    hub.add_folder("org/private", QWEN3, private=True, authorized_tokens=[TOKEN])
    return hub


@pytest.fixture
def no_sleep(monkeypatch, ruleset):
    """The CLI builds its own HubClient: make its default sleep a recorder, so retries do not wait
    (and hand it the session's rules instead of loading them again for every invocation)."""
    rec = RecordedSleep()
    monkeypatch.setitem(HubClient.__init__.__kwdefaults__, "sleep", rec)
    monkeypatch.setattr("inspector.api.load_ruleset", lambda extra=None: ruleset)
    return rec


@pytest.fixture
def all_logs(caplog, monkeypatch):
    """Every log record at DEBUG, huggingface_hub's too (its logger does not propagate), with its
    HF_DEBUG curl dump of each request switched on."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_DEBUG", True)
    hf = logging.getLogger("huggingface_hub")
    level = hf.level
    hf.addHandler(caplog.handler)
    hf.setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    yield caplog
    hf.removeHandler(caplog.handler)
    hf.setLevel(level)


def logged(caplog) -> str:
    text = "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records) + caplog.text
    assert "authenticated: True" in text, "the capture must see huggingface_hub's request log"
    return text


def leaks(text: str, token: str = TOKEN) -> bool:
    # The whole token, or a telling part of it (an error could cut or mask it).
    return token in text or token[3:20] in text or token[-16:] in text


def assert_no_token_left(hub, *texts: str, via_cdn: bool = True) -> None:
    for t in texts:
        assert not leaks(t), t[:500]
    cdn = hub.cdn_endpoint.split("//")[1]
    assert hub.stats.by_host[cdn] > 0 or not via_cdn, "the test must have gone through the CDN"
    assert not any(leaks(a) for a in hub.stats.auth_by_host.get(cdn, [])), hub.stats.auth_by_host.get(cdn)
    # The Hub host did get it: the token was really in use.
    assert any(TOKEN in a for a in hub.stats.auth_by_host.get(hub.host, []))


FAULTS = [
    ("none", lambda h: None),
    ("5xx", lambda h: h.fail_next(2, 503)),
    ("5xx-storm", lambda h: h.fail_next(1000, 502)),
    ("429", lambda h: h.fail_next(3, 429, retry_after=1)),
    ("drop-cdn", lambda h: h.fail_next(2, "drop", "/cdn/")),
    ("drop-storm", lambda h: h.set_faults(drop_rate=1.0, kinds={"cdn"})),
    ("ignore-range", lambda h: h.set_faults(ignore_range=True)),
    ("stall", lambda h: (h.set_faults(stall=3.0, stall_rate=0.0), h.fail_next(1, "stall", "/cdn/"))),
]


@pytest.mark.parametrize("fault", [f for _n, f in FAULTS], ids=[n for n, _f in FAULTS])
def test_the_library_never_leaks_the_token(gated_hub, insp, all_logs, capsys, fault):
    hub = gated_hub
    fault(hub)
    client = HubClient(endpoint=hub.endpoint, token=TOKEN, sleep=RecordedSleep(), timeout=0.25, retries=3, seed=2)
    other = HubClient(endpoint=hub.endpoint, token=OTHER, sleep=RecordedSleep(), timeout=0.25, retries=1, seed=2)
    verdicts = [Inspector(insp.rules, client=client).inspect(t) for t in ("org/gated", "org/open", "org/private", "org/none")]
    verdicts.append(Inspector(insp.rules, client=other).inspect("org/gated"))
    out = capsys.readouterr()
    dumps = [json.dumps(v.to_dict()) for v in verdicts] + [repr(v) for v in verdicts]
    assert_no_token_left(hub, out.out, out.err, logged(all_logs), *dumps, via_cdn=fault is not FAULTS[2][1])
    assert verdicts[-1].status in ("gated", "network_error")


def test_the_cli_never_prints_or_logs_the_token(gated_hub, tmp_path, all_logs, no_sleep):
    hub = gated_hub
    hub.fail_next(2, 503)
    hub.fail_next(1, "drop", "/cdn/")
    runner = CliRunner()
    env = {"HF_TOKEN": TOKEN, "HF_HUB_VERBOSITY": "debug"}
    as_json = runner.invoke(main, ["inspect", "org/gated", "org/open", "org/private", "org/none", "--json"], env=env)
    as_text = runner.invoke(main, ["inspect", "org/gated", "org/private", "--evidence", "all"], env=env)
    explained = runner.invoke(main, ["inspect", "org/gated", "--explain"], env=env)
    rows = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [r["status"] for r in rows] == ["ok", "ok", "ok", "not_found"], rows
    assert as_text.exit_code == explained.exit_code == 0, as_text.output
    texts = [r.output for r in (as_json, as_text, explained)] + [r.stderr for r in (as_json, as_text, explained)]
    assert_no_token_left(hub, *texts, logged(all_logs))
    # Nothing stored either: no file under HF_HOME or the working dir holds it.
    for p in tmp_path.rglob("*"):
        if p.is_file():
            assert not leaks(p.read_bytes().decode("latin-1")), p


def test_a_wrong_token_fails_without_echoing_it(gated_hub, no_sleep):
    r = CliRunner().invoke(main, ["inspect", "org/gated", "--json"], env={"HF_TOKEN": "hf_NotAKnownTokenAtAll00000000000"})
    # The Hub refuses an unknown token even on public repos: one clear error, not a `gated` row.
    assert r.exit_code == 2 and "HF_TOKEN" in r.output + r.stderr
    assert "NotAKnownToken" not in r.output + r.stderr


def test_a_redirect_to_another_host_drops_the_token(gated_hub, insp):
    hub = gated_hub
    client = HubClient(endpoint=hub.endpoint, token=TOKEN, sleep=RecordedSleep())
    assert Inspector(insp.rules, client=client).inspect("org/gated").status == "ok"
    cdn_requests = hub.stats.entries(kind="cdn")
    assert cdn_requests
    cdn = hub.cdn_endpoint.split("//")[1]
    assert hub.stats.auth_by_host.get(cdn) is None


# --- nothing from a repo is executed -----------------------------------------------------------------

SOURCE = Path(__file__).resolve().parent.parent / "inspector"
FORBIDDEN_MODULES = {"pickle", "cPickle", "dill", "cloudpickle", "joblib", "shelve", "marshal", "torch", "transformers",
                     "numpy", "safetensors", "subprocess"}
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__", "execfile", "input"}
FORBIDDEN_ATTRS = {("yaml", "load"), ("yaml", "load_all"), ("yaml", "unsafe_load"), ("yaml", "full_load"),
                   ("yaml", "Loader"), ("yaml", "UnsafeLoader"), ("yaml", "FullLoader"), ("yaml", "CLoader"),
                   ("pickle", "load"), ("pickle", "loads"), ("pickle", "Unpickler"), ("os", "system"), ("os", "popen")}


def _findings(path: Path, root: Path = SOURCE) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    out: list[str] = []
    where = path.relative_to(root.parent).as_posix()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for n in names:
                if n.split(".")[0] in FORBIDDEN_MODULES:
                    out.append(f"{where}:{node.lineno}: imports {n}")
                if n.split(".")[0] == "yaml" and path.name != "yamlloc.py":
                    out.append(f"{where}:{node.lineno}: yaml outside the safe loader")
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_CALLS:
                out.append(f"{where}:{node.lineno}: calls {node.func.id}()")
            for kw in node.keywords:
                if kw.arg == "trust_remote_code" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                    out.append(f"{where}:{node.lineno}: trust_remote_code")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and (node.value.id, node.attr) in FORBIDDEN_ATTRS:
            out.append(f"{where}:{node.lineno}: uses {node.value.id}.{node.attr}")
    text = path.read_text()
    for needle in ("trust_remote_code=True", "yaml.load(", "pickle.load", "Unpickler("):
        if needle in text:
            out.append(f"{where}: contains {needle!r}")
    return out


def test_the_source_never_executes_or_unpickles_anything():
    files = sorted(SOURCE.rglob("*.py"))
    assert len(files) > 10
    problems = [p for f in files for p in _findings(f)]
    assert problems == []


def test_the_finder_would_see_a_violation(tmp_path):
    bad = tmp_path / "x.py"
    bad.write_text("import pickle\nimport yaml\nx = eval('1')\nyaml.load(s)\nf(trust_remote_code=True)\n")
    found = _findings(bad, tmp_path)
    assert len(found) >= 5, found


def test_rules_are_loaded_by_a_safe_loader_only():
    import yaml

    from inspector.yamlloc import YamlProblem, _Loader, load_text

    assert issubclass(_Loader, yaml.SafeLoader) and not issubclass(_Loader, yaml.FullLoader | yaml.UnsafeLoader)
    tags = set(_Loader.yaml_constructors) | set(_Loader.yaml_multi_constructors)
    assert not any(t and "python" in t for t in tags), tags

    for text in ("a: !!python/object/apply:os.system ['touch /tmp/pwned']", "a: !!python/name:os.system",
                 "a: !!python/object/new:subprocess.Popen [[ls]]", "!!python/module:os"):
        try:
            load_text(text, "x.yaml")
        except YamlProblem:
            continue
        raise AssertionError(f"{text!r} loaded")


EVIL_PY = "import pathlib\npathlib.Path({marker!r}).write_text('executed')\n"


def test_code_shipped_by_a_repo_is_never_run_nor_fetched(tmp_path, hub, hub_client, insp):
    marker = tmp_path / "executed.txt"
    folder = tmp_path / "evil"
    folder.mkdir()
    cfg = {"model_type": "evil", "architectures": ["EvilForCausalLM"],
           "auto_map": {"AutoConfig": "configuration_evil.EvilConfig", "AutoModelForCausalLM": "modeling_evil.EvilForCausalLM"}}
    (folder / "config.json").write_text(json.dumps(cfg))
    for name in ("modeling_evil.py", "configuration_evil.py", "tokenization_evil.py", "__init__.py"):
        (folder / name).write_text(EVIL_PY.format(marker=str(marker)))
    header = json.dumps({"model.embed_tokens.weight": {"dtype": "F16", "shape": [4, 4], "data_offsets": [0, 32]}}).encode()
    (folder / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header)
    modules = set(sys.modules)
    v = insp.inspect(str(folder))
    hub.add_folder("org/evil", folder)
    hub.reset_stats()
    w = Inspector(insp.rules, client=hub_client).inspect("org/evil")
    assert v.status == w.status == "ok", (v.error, w.error)
    assert not marker.exists()
    assert not {m for m in set(sys.modules) - modules if "evil" in m}
    assert not [e.path for e in hub.stats.log if e.path.split("?")[0].endswith(".py")]


def test_credentials_in_the_endpoint_never_reach_an_error_line():
    from inspector.errors import NetworkError
    from inspector.readout import IOStats

    client = HubClient(endpoint="http://hubuser:s3cret-pw@127.0.0.1:1", token=False, sleep=RecordedSleep(), retries=1)
    with pytest.raises(NetworkError) as e:
        client.get(f"{client.endpoint}/api/models/org/m", what="org/m", io=IOStats(), cap=100)
    assert "s3cret" not in e.value.one_line() and "hubuser" not in e.value.one_line()
    assert "http://127.0.0.1:1" in e.value.one_line()


@pytest.mark.parametrize("endpoint", ["http://[::1", "http://h:99999", "ftp://hub.example", "http://", "hub.example"])
def test_an_unusable_endpoint_is_one_line_for_the_whole_batch(endpoint, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    r = CliRunner().invoke(main, ["inspect", "org/a", "org/b"])
    assert r.exit_code == 2, r.output
    assert r.output.count("HF_ENDPOINT is not an http(s) URL with a host") == 1 and "Traceback" not in r.output
