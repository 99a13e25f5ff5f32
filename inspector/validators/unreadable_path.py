"""E100: a path that does not exist or cannot be read, or is not a regular file (a FIFO or device is never read)."""

from . import Check
from .examples import RULES

CHECK = Check(
    code="E100",
    severity="error",
    title='a path that does not exist or cannot be read, or is not a regular file (a FIFO or device is never read)',
    passing=RULES,
    failing={
        'missing.yaml': None,
    },
    at=(1, 1),
    at_file='missing.yaml',
)
