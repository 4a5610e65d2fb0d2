"""Search the index for passages, the way ``ask()`` retrieves them; it does not choose sentences or abstain.

For callers that want to read the retrieved passages themselves (an agent's ``search`` tool). Writes
nothing; an answer with citations is ``ask()``'s job.
"""
from __future__ import annotations

from qa.answer import clean_question, engine_for, passage
from qa.errors import BadQuestionError
from qa.settings import Settings
from qa.types import Passage


def search(query: str, k: int = 5, **overrides) -> tuple[Passage, ...]:
    """The ``k`` best passages for ``query``, best first, dense and keyword hits fused as ``ask()`` does.

    ``overrides`` are ``Settings`` fields, as for ``ask()``. Raises ``BadQuestionError`` for an empty
    or over-long query or a ``k`` outside 1..``candidates``, ``NoIndexError`` without an index.
    """
    settings = Settings.from_env(**overrides)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= settings.candidates:
        raise BadQuestionError(f"k must be a whole number from 1 to {settings.candidates}, got {k!r}")
    query = clean_question(query, settings.max_question_chars)
    hits = engine_for(settings).retriever.search(query, k)
    return tuple(passage(h) for h in hits)
