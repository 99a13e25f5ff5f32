"""E147: a tensor pattern that does not compile (empty component, unknown placeholder, too long)."""

from . import Check
from .examples import RULES

CHECK = Check(
    code="E147",
    severity="error",
    title='a tensor pattern that does not compile (empty component, unknown placeholder, too long)',
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
    match:
      vocab:
        - tensor: layers..q_proj
""",
    at=(11, 19),
    at_file='rules.yaml',
)
