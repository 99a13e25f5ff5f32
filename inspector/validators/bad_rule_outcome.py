"""E164: a fixture's rule outcome that is not `match`, `no-match` or `todo`."""

from . import Check
from .examples import RULES, RULES_AND_FIXTURES

CHECK = Check(
    code="E164",
    severity="error",
    title="a fixture's rule outcome that is not `match`, `no-match` or `todo`",
    passing=RULES_AND_FIXTURES,
    failing={
        'rules.yaml': RULES,
        'tests/f.yaml': """\
fixtures:
  - id: f.qwen
    expect: {lineage: qwen}
    config: {"vocab_size": 151936}
    rules: {t.vocab: fires}
    tensors:
      model.embed_tokens.weight: [BF16, [151936, 896]]
""",
    },
    at=(5, 22),
    at_file='tests/f.yaml',
)
