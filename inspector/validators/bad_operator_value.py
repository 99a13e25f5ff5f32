"""E148: an operator's argument of the wrong kind: a regex RE2 refuses, `on` where true/false is wanted, a dimension expression too long."""

from . import Check
from .examples import RULES

CHECK = Check(
    code="E148",
    severity="error",
    title="an operator's argument of the wrong kind: a regex RE2 refuses, `on` where true/false is wanted, a dimension expression too long",
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
        - fact: vocab_size
          in: 151936
""",
    at=(12, 15),
    at_file='rules.yaml',
)
