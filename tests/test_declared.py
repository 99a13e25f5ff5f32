"""What a repo claims: the kind its architecture class names, from transformers' registry shipped as data."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest
from conftest import REPO, SAMPLES

from inspector.declared import _registry, declared_of

sys.path.insert(0, str(REPO / "tools"))
import gen_registry  # noqa: E402


@pytest.mark.skipif(importlib.util.find_spec("transformers") is None, reason="transformers comes with the [test] extra")
def test_the_shipped_registry_is_what_the_installed_transformers_says():
    shipped = json.loads(gen_registry.OUT.read_text(encoding="utf-8"))
    fresh = gen_registry.installed()
    assert shipped == fresh, (f"inspector/data/registry.json was made from transformers {shipped['transformers']}, "
                              f"installed is {fresh['transformers']}: run python tools/gen_registry.py")


@pytest.mark.parametrize(("arch", "kind"), [
    ("LlamaForCausalLM", "decoder"),
    ("Qwen2ForCausalLM", "decoder"),
    ("BertForMaskedLM", "encoder"),
    ("T5ForConditionalGeneration", "encoder-decoder"),
])
def test_an_architecture_class_claims_its_kind(arch, kind, ruleset):
    assert _registry()[arch] == kind
    assert declared_of({"architectures": [arch]}, None, ruleset).kind == kind


def test_the_registry_lists_model_types_with_their_classes_tasks_and_kind():
    table = json.loads(gen_registry.OUT.read_text(encoding="utf-8"))["model_types"]
    assert "LlamaForCausalLM" in table["llama"]["architectures"] and table["llama"]["kind"] == "decoder"
    assert table["whisper"]["kind"] == "encoder-decoder" and "speech-seq2seq" in table["whisper"]["tasks"]
    assert table["bert"]["kind"] == "encoder"  # its causal-LM head does not make BERT a decoder
    assert "image-classification" in table["vit"]["tasks"]


def test_the_runtime_needs_neither_transformers_nor_safetensors():
    """Both are blocked from import; a real sample still gets its full verdict."""
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('transformers', 'safetensors', 'torch', 'numpy'):\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from inspector.cli import main\n"
        "main()\n"
    )
    out = subprocess.run([sys.executable, "-c", code, "inspect", "--json", str(SAMPLES / "google-bert__bert-base-uncased"),
                          str(SAMPLES / "Qwen__Qwen3-4B__sophgo-copy")], capture_output=True, text=True)
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert out.returncode == 0, out.stderr
    assert [r["declared"]["kind"] for r in rows] == ["encoder", "decoder"]


@pytest.mark.parametrize(("config", "kind"), [
    ({"model_type": "llama"}, "decoder"),
    ({"model_type": "bert", "architectures": ["MyCustomBert"]}, "encoder"),
    ({"model_type": "whisper"}, "encoder-decoder"),
    ({"model_type": "no-such-type"}, None),
])
def test_a_model_type_alone_claims_the_kind_transformers_registers_it_for(config, kind, ruleset):
    """Only when no architecture class says it (and rules/declared.yaml does not)."""
    assert declared_of(config, None, ruleset).kind == kind
