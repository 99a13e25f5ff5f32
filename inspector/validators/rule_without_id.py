"""E121: a rule without an `id`."""

from . import Check
from .examples import RULES

CHECK = Check(
    code="E121",
    severity="error",
    title='a rule without an `id`',
    passing=RULES,
    failing="""\
facts:
  vocab_size: [vocab_size]
  hidden_size: [hidden_size]
  num_layers: [num_hidden_layers]
  num_heads: [num_attention_heads]
rules:
  - lineage: qwen
    match:
      vocab:
        - fact: vocab_size
          in: [151936]
""",
    at=(7, 5),
    at_file='rules.yaml',
)
