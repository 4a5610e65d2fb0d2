"""Question answering over the indexed news articles: ``ask()`` returns an ``Answer`` with citations.

Importing ``qa`` loads no model, opens no store and does not import gradio.
"""
import index  # noqa: F401  (sets the offline environment before anything else loads)
from qa.answer import article, ask, corpus_stats
from qa.errors import BadQuestionError, ConfigError, CorpusError, NoIndexError, QAError, StoreError
from qa.search import search
from qa.settings import Settings
from qa.types import Answer, Citation, Passage, ShortAnswer

__all__ = ["ask", "search", "article", "corpus_stats", "Answer", "Citation", "Passage", "Settings", "QAError",
           "BadQuestionError", "ConfigError", "CorpusError", "NoIndexError", "StoreError"]
