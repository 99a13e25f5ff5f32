"""E102: the same key twice in a mapping (PyYAML would keep the last silently)."""

from . import Check
from .examples import RULES

CHECK = Check(
    code="E102",
    severity="error",
    title='the same key twice in a mapping (PyYAML would keep the last silently)',
    passing=RULES,
    failing="""\
facts:
  vocab_size: [vocab_size]
  hidden_size: [hidden_size]
  num_layers: [num_hidden_layers]
  num_heads: [num_attention_heads]
rules:
  - id: t.vocab
    lineage: qwen
    lineage: llama
    match:
      vocab:
        - fact: vocab_size
          in: [151936]
""",
    at=(9, 5),
    at_file='rules.yaml',
)
