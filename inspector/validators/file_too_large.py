"""E105: a rule or fixture file larger than the limit (5 MB), counted while reading."""

from . import Check
from .examples import RULES

CHECK = Check(
    code="E105",
    severity="error",
    title='a rule or fixture file larger than the limit (5 MB), counted while reading',
    passing=RULES,
    failing={"rules.yaml": 5_000_001},  # that many bytes: written by the test, not held here
    at=(1, 1),
    at_file='rules.yaml',
)
