"""E146: a fact that no `facts:` entry defines and no code computes."""

from . import Check
from .examples import RULES

CHECK = Check(
    code="E146",
    severity="error",
    title='a fact that no `facts:` entry defines and no code computes',
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
        - fact: vocab_sise
          in: [151936]
""",
    at=(11, 17),
    at_file='rules.yaml',
)
