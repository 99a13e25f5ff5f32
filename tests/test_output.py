"""Text a person reads: fits the terminal, one line per evidence item in plain words, colour only on a
terminal, every repo string inert."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner
from conftest import SAMPLES

from inspector.api import Inspector
from inspector.cli import main
from inspector.output import compact_observed, fit_items, number, short_description, to_text

YI = str(SAMPLES / "01-ai__Yi-34B-Chat-4bits")
LLAMA70 = str(SAMPLES / "meta-llama__Llama-2-70b-chat-hf")
MODELS = sorted(str(p) for p in SAMPLES.iterdir() if p.is_dir())
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def verdicts(insp):
    return {t: insp.inspect(t) for t in MODELS}


@pytest.mark.parametrize("width", [80, 120])
def test_every_line_fits_the_width(verdicts, insp, width):
    for v in verdicts.values():
        for line in to_text(v, rules=insp.rules, width=width).splitlines():
            assert len(line) <= width, line
        for line in to_text(v, rules=insp.rules, width=width, all_evidence=True).splitlines():
            assert len(line) <= width, line


def test_one_line_per_evidence_item_in_the_rules_words(insp):
    out = to_text(insp.inspect(YI), rules=insp.rules, width=120)
    ev = out.split("\n  evidence")[1].split("\n  params")[0].splitlines()[1:]
    assert len(ev) == 6 and all(line.startswith("    +") or line.startswith("    -") for line in ev)
    assert "Yi under a llama tag" in ev[0] and "vocab_size 64000, gqa_group 7" in ev[0]
    assert "equals" not in out  # rule syntax only in the long form


def test_the_base_fingerprint_prints_once(insp):
    out = to_text(insp.inspect(LLAMA70), rules=insp.rules, width=200)
    assert out.count("hidden_size 8192") == 1
    assert re.search(r"base\s+Llama-2-70B\s+fingerprint matches", out)


def test_the_columns_line_up(insp):
    ev = [line for line in to_text(insp.inspect(LLAMA70), rules=insp.rules, width=120).splitlines()
          if re.match(r"    [+-]\d", line)]
    starts = {len(m.group(0)) for m in (re.match(r"\s+[+-]\d\.\d\d\s+\S+\s+\S+\s+", line) for line in ev)}
    assert len(starts) == 1


def test_the_long_form_has_rule_id_condition_and_observed_values(insp):
    out = to_text(insp.inspect(YI), rules=insp.rules, width=100, all_evidence=True)
    assert "yi.tokenizer-64000-gqa" in out and "when:" in out and "observed:" in out
    assert "separates Yi from Baichuan-1" in out  # the whole description


def test_numbers_have_one_format():
    assert [number(x) for x in ("5e+06", "64000", "1e-05", "0.02", "True", "missing")] == \
        ["5000000", "64000", "1e-05", "0.02", "True", "missing"]
    assert compact_observed("rope_theta = 5e+06; q_proj: 80 matching; encoder_attn: absent") == \
        "rope_theta 5000000, q_proj ×80, no encoder_attn"
    assert short_description("A (aside; more) thing; why it matters") == "A thing"


@pytest.mark.parametrize("room", range(20, 60))
def test_a_cut_list_of_values_always_says_so_and_never_halves_a_number(room):
    items = ["layers.{N}.self_attn.q_proj ×36", "no encoder_attn", "no EncDecAttention"]
    out = fit_items(items, room)
    assert len(out) <= room and out.endswith("…")
    assert "×36" in out or "×" not in out


def test_dtypes_are_labelled_tensor_counts(insp):
    v = insp.inspect(LLAMA70)
    assert sum(v.dtypes.values()) == 803  # tensors, not parameters
    assert "tensors by dtype: F16 723, F32 80" in to_text(v, rules=insp.rules, width=None)


def test_repo_strings_are_inert(tmp_path, insp):
    evil = tmp_path / "evil\x1b[2Jrepo"
    evil.mkdir()
    (evil / "config.json").write_text(json.dumps({"model_type": "llama\x1b]0;owned\x07", "architectures": ["X\u202eY"],
                                                 "vocab_size": 32000}))
    out = to_text(insp.inspect(str(evil)), rules=insp.rules, width=120)
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    assert "\\x1b" in out and "\\u202e" in out


def test_str_of_a_verdict_is_the_text_uncut(insp):
    s = str(insp.inspect(YI))
    assert s.startswith(YI) and "MISMATCH" in s and "Yi under a llama tag" in s


# --- colour ---------------------------------------------------------------------------------

def test_no_colour_when_piped():
    r = CliRunner().invoke(main, ["inspect", YI])
    assert r.exit_code == 0 and not ANSI.search(r.output)


def test_colour_always_styles_mismatch_status_and_confidence():
    r = CliRunner().invoke(main, ["inspect", YI, "--color", "always"])
    assert "\x1b[31m\x1b[1mMISMATCH" in r.output or "\x1b[1m\x1b[31mMISMATCH" in r.output or \
        re.search(r"\x1b\[[0-9;]*mMISMATCH", r.output)
    assert re.search(r"\x1b\[[0-9;]*mno_weights_metadata", r.output)
    assert re.search(r"\x1b\[[0-9;]*m0\.93", r.output)


def _on_a_terminal(env: dict, cols: int = 80) -> str:
    """Run the CLI with its stdout on a pseudo-terminal of `cols` columns; what it wrote."""
    import fcntl
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
    env = {k: v for k, v in {**os.environ, **env}.items() if k != "COLUMNS"}
    p = subprocess.Popen([sys.executable, "-m", "inspector", "inspect", YI], stdout=slave, stderr=subprocess.PIPE, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    p.wait()
    os.close(master)
    return b"".join(chunks).decode()


def test_colour_on_a_terminal_and_lines_fit_its_width():
    out = _on_a_terminal({"TERM": "xterm"}, cols=80)
    assert re.search(r"\x1b\[[0-9;]*mMISMATCH", out)
    assert all(len(ANSI.sub("", line)) <= 80 for line in out.splitlines())


def test_no_colour_on_a_terminal_with_no_color():
    out = _on_a_terminal({"TERM": "xterm", "NO_COLOR": "1"})
    assert "MISMATCH" in out and not ANSI.search(out)


def test_json_is_not_styled_and_keeps_the_contract():
    r = CliRunner().invoke(main, ["inspect", YI, "--json", "--color", "always"])
    assert not ANSI.search(r.output) and json.loads(r.output)["lineage"] == "yi"


def test_an_inspector_reuses_its_rules_for_descriptions(ruleset):
    assert to_text(Inspector(ruleset).inspect(YI), rules=ruleset, width=None).count("\n") > 5


def test_the_readme_shows_the_real_text_output(monkeypatch):
    from conftest import REPO

    monkeypatch.chdir(REPO)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("Text output (`COLUMNS=100 inspector inspect samples/01-ai__Yi-34B-Chat-4bits`):\n\n```\n")[1]
    block = block.split("```")[0]
    r = CliRunner(env={"COLUMNS": "100"}).invoke(main, ["inspect", "samples/01-ai__Yi-34B-Chat-4bits"])
    assert r.output == block


@pytest.mark.parametrize("ruled_out", [False, True])
def test_a_lineage_mismatch_on_an_unknown_lineage_is_printed_only_where_the_one_mismatch_rule_says_so(ruled_out):
    from inspector.verdict import RULED_OUT, EvidenceItem, Verdict

    v = Verdict(target="org/m", kind="decoder", lineage="unknown", mismatch=True,
                declared={"model_type": "bert", "architectures": [], "base_model": None, "lineage": "bert", "kind": "encoder"})
    if ruled_out:
        v.evidence = [EvidenceItem(RULED_OUT, "lineage", "unknown", "resembles llama", "ruled out", 0.0)]
    line = next(x for x in to_text(v, width=None).splitlines() if "MISMATCH" in x)
    assert "declares kind encoder, the evidence says decoder" in line
    assert ("declares lineage bert, the evidence says unknown" in line) == ruled_out
