"""Errors ``ask()`` raises: the project's base class and its subclasses, one per thing a user can fix."""
from index.errors import (ConfigError, CorpusError, DiskFullError, NoIndexError, QAError, ServerUnreachableError,
                          StoreError)


class BadQuestionError(QAError):
    """A question (or history) that cannot be answered as given: empty, too long, malformed."""


__all__ = ["QAError", "BadQuestionError", "ConfigError", "CorpusError", "NoIndexError", "StoreError",
           "ServerUnreachableError", "DiskFullError"]
