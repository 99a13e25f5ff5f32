"""E103: a YAML anchor or alias: share predicates with `fragments:` (no alias bombs, and they do not cross files)."""

from . import Check
from .examples import RULES

CHECK = Check(
    code="E103",
    severity="error",
    title='a YAML anchor or alias: share predicates with `fragments:` (no alias bombs, and they do not cross files)',
    passing=RULES,
    failing="""\
base: &b [1]
rules: *b
""",
    at=(2, 8),
    at_file='rules.yaml',
)
