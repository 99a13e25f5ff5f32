"""The status of an inspected target: one home for the values and what each means for the audit."""

from __future__ import annotations

import enum


class Status(str, enum.Enum):
    """A target's outcome. A `str` enum: it compares equal to (and stores as) its value."""

    OK = "ok"
    NOT_FOUND = "not_found"
    GATED = "gated"
    NO_CONFIG = "no_config"
    NO_WEIGHTS_METADATA = "no_weights_metadata"
    INVALID = "invalid"
    NETWORK_ERROR = "network_error"

    def __str__(self) -> str:
        return self.value

    @property
    def usable(self) -> bool:
        """The target was read and carries a detection (possibly from config or weights alone)."""
        return self in _USABLE

    @property
    def retryable(self) -> bool:
        """Transient by definition: a later run (not a --resume of the same run) tries it again."""
        return self is Status.NETWORK_ERROR

    @classmethod
    def of(cls, value: object) -> Status | None:
        """The status for a stored or foreign value; None for anything that is not one."""
        try:
            return cls(value)
        except ValueError:
            return None


_USABLE = frozenset({Status.OK, Status.NO_CONFIG, Status.NO_WEIGHTS_METADATA})
USABLE = tuple(s.value for s in Status if s.usable)
RETRYABLE = frozenset(s.value for s in Status if s.retryable)


def is_usable(value: object) -> bool:
    s = Status.of(value)
    return s is not None and s.usable
