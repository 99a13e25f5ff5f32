"""E127: a rule without a `match:` mapping of named selections."""

from . import Check
from .examples import RULES

CHECK = Check(
    code="E127",
    severity="error",
    title='a rule without a `match:` mapping of named selections',
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
""",
    at=(7, 5),
    at_file='rules.yaml',
)
