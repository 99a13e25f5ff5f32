"""E104: a mapping key that is not a plain value."""

from . import Check
from .examples import RULES

CHECK = Check(
    code="E104",
    severity="error",
    title='a mapping key that is not a plain value',
    passing=RULES,
    failing="""\
? [a, b]
: 1
""",
    at=(1, 3),
    at_file='rules.yaml',
)
