"""E120: a list or mapping expected where something else stands."""

from . import Check
from .examples import RULES

CHECK = Check(
    code="E120",
    severity="error",
    title='a list or mapping expected where something else stands',
    passing=RULES,
    failing="""\
facts:
  vocab_size: [vocab_size]
  hidden_size: [hidden_size]
  num_layers: [num_hidden_layers]
  num_heads: [num_attention_heads]
rules: {t.vocab: qwen}
""",
    at=(6, 8),
    at_file='rules.yaml',
)
