"""E124: a fragment without an `id` or a `predicates` list."""

from . import Check
from .examples import RULES

CHECK = Check(
    code="E124",
    severity="error",
    title='a fragment without an `id` or a `predicates` list',
    passing=RULES,
    failing=RULES + """\
fragments:
  - id: f.vocab
""",
    at=(14, 5),
    at_file='rules.yaml',
)
