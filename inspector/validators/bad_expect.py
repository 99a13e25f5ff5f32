"""E163: a bad `expect` or `todo`: an unknown field, a kind that is not one."""

from . import Check
from .examples import RULES, RULES_AND_FIXTURES

CHECK = Check(
    code="E163",
    severity="error",
    title='a bad `expect` or `todo`: an unknown field, a kind that is not one',
    passing=RULES_AND_FIXTURES,
    failing={
        'rules.yaml': RULES,
        'tests/f.yaml': """\
fixtures:
  - id: f.qwen
    expect: {kind: decoderr}
    config: {"vocab_size": 151936}
    tensors:
      model.embed_tokens.weight: [BF16, [151936, 896]]
""",
    },
    at=(3, 20),
    at_file='tests/f.yaml',
)
