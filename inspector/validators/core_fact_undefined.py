"""W301: a core fact (vocab_size, hidden_size, num_layers, num_heads) that no `facts:` file defines."""

from . import Check
from .examples import RULES

CHECK = Check(
    code="W301",
    severity="warning",
    title='a core fact (vocab_size, hidden_size, num_layers, num_heads) that no `facts:` file defines',
    passing=RULES,
    failing="""\
rules:
  - id: t.vocab
    lineage: qwen
    match:
      vocab:
        - fact: vocab_size
          in: [151936]
""",
    at=None,
    at_file='rules.yaml',
)
