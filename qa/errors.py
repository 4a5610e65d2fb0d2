"""Errors ``ask()`` raises: the project's base class and its subclasses, one per thing a user can fix."""
from index.errors import (ConfigError, CorpusError, DiskFullError, NoIndexError, QAError, ServerUnreachableError,
                          StoreError)


class BadQuestionError(QAError):
    """A question (or history) that cannot be answered as given: empty, too long, malformed."""


class LLMError(QAError):
    """The configured LLM server failed or answered nothing usable; ``ask()`` then gives the extractive
    answer with a note, so callers of ``ask()`` never see this."""


class LLMTimeoutError(LLMError):
    """The configured LLM server did not finish its answer within ``llm_timeout`` seconds."""


__all__ = ["LLMError", "LLMTimeoutError", "QAError", "BadQuestionError", "ConfigError", "CorpusError", "NoIndexError", "StoreError",
           "ServerUnreachableError", "DiskFullError"]
