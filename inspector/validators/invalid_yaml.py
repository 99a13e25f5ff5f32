"""E101: invalid YAML, or a file that is not UTF-8."""

from . import Check
from .examples import RULES

CHECK = Check(
    code="E101",
    severity="error",
    title='invalid YAML, or a file that is not UTF-8',
    passing=RULES,
    failing="""\
rules:
  - id: [t.x
""",
    at=(3, 1),
    at_file='rules.yaml',
)
