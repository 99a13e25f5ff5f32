"""W301: a core fact (vocab_size, hidden_size, num_layers, num_heads) that no `facts:` file defines."""

from . import Check
from .examples import RULE_BODY, RULES

CHECK = Check(
    code="W301",
    severity="warning",
    title='a core fact (vocab_size, hidden_size, num_layers, num_heads) that no `facts:` file defines',
    passing=RULES,
    failing=RULE_BODY,
    at=None,
    at_file='rules.yaml',
)
