"""W302: a selection that the condition never uses."""

from . import Check
from .examples import RULES

CHECK = Check(
    code="W302",
    severity="warning",
    title='a selection that the condition never uses',
    passing=RULES,
    failing=RULES + """\
      spare:
        - fact: hidden_size
          gte: 1
    condition: vocab
""",
    at=(13, 7),
    at_file='rules.yaml',
)
