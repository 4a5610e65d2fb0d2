"""The project's error types: one base class, a subclass per thing a user can fix; no handling here.

They live in ``index`` because it is the bottom of the import graph; ``qa.errors`` re-exports them.
Every message says what to do next. Only the CLI and the UI turn them into messages for people.
"""


class QAError(Exception):
    """Base class of every error this project raises on purpose."""


class CorpusError(QAError):
    """A corpus folder or file that cannot be used as it is."""


class NoIndexError(QAError):
    """There is no index to answer from yet."""


class StoreError(QAError):
    """The store folder exists but cannot be used (damaged, half deleted, or written by another version)."""


class ConfigError(QAError):
    """A setting (flag or environment variable) with a value that cannot work."""


class ServerUnreachableError(StoreError):
    """The Chroma server holding the index does not answer (down, restarting, or a wrong URL)."""


class DiskFullError(StoreError):
    """A write to the store folder failed because its disk (or the process's file-size limit) is full."""
