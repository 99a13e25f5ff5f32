"""The base examples most checks start from: a clean rule file and a clean fixture file."""

# The core facts every example rule file declares (W301 when a rule set lacks them).
FACTS_PREAMBLE = """\
facts:
  vocab_size: [vocab_size]
  hidden_size: [hidden_size]
  num_layers: [num_hidden_layers]
  num_heads: [num_attention_heads]
"""
# The rules part of RULES alone.
RULE_BODY = """\
rules:
  - id: t.vocab
    lineage: qwen
    match:
      vocab:
        - fact: vocab_size
          in: [151936]
"""
RULES = FACTS_PREAMBLE + RULE_BODY
FIXTURES = """\
fixtures:
  - id: f.qwen
    expect: {lineage: qwen}
    config: {"vocab_size": 151936}
    tensors:
      model.embed_tokens.weight: [BF16, [151936, 896]]
"""
RULES_AND_FIXTURES = {"rules.yaml": RULES, "tests/f.yaml": FIXTURES}
