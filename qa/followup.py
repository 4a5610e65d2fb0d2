"""Resolve what a follow-up question leans on ("What did he say about it?") from the chat history.

No LLM: a question that refers back (a pronoun, "there", "then", or no name of its own) is searched
together with the names and key phrases of the previous question, or failing that of the previous
answer. Pure functions; validation of the history's shape is here too.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

from qa.errors import BadQuestionError

_REFERS_BACK = re.compile(
    r"\b(he|she|him|his|her|hers|they|them|their|it|its|this|that|these|those|there|then|the same|"
    r"the latter|the former)\b",
    re.IGNORECASE,
)
_NAME = re.compile(r"\b[A-Z][\w’'-]*(?:\s+(?:of\s+)?[A-Z][\w’'-]*)*")
_QUESTION_WORDS = {"Who", "What", "When", "Where", "Which", "Why", "How", "Did", "Does", "Do", "Is", "Are", "Was",
                   "Were", "And", "But", "So", "Tell", "The", "A", "An", "In", "On", "I"}
_MARKER = re.compile(r"\s*\[\d+\]")


def validate_history(history: object, max_messages: int) -> list[dict[str, str]]:
    """The history as a list of {"role", "content"} dicts, or ``BadQuestionError`` saying what is wrong.

    >>> validate_history([{"role": "user", "content": "Hi"}], 10)
    [{'role': 'user', 'content': 'Hi'}]
    """
    if history is None:
        return []
    if not isinstance(history, (list, tuple)):
        raise BadQuestionError("history must be a list of {'role': ..., 'content': ...} messages")
    clean = []
    for i, message in enumerate(history):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant", "system"):
            raise BadQuestionError(f"history message {i} needs a role of 'user' or 'assistant' and a content")
        content = message.get("content")
        if isinstance(content, (list, tuple)):  # Gradio may send rich content as a list of parts
            content = " ".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
        if content is None:
            content = ""
        if not isinstance(content, str):
            content = str(content)
        clean.append({"role": message["role"], "content": content})
    return clean[-max_messages:]


def names(text: str) -> list[str]:
    """Capitalised names and phrases of ``text``, question words left out.

    >>> names("Who is Matthew Miller, and what did the State Department say?")
    ['Matthew Miller', 'State Department']
    """
    found = []
    for match in _NAME.finditer(_MARKER.sub("", text)):
        words = match.group().split()
        while words and words[0] in _QUESTION_WORDS:
            words = words[1:]
        phrase = " ".join(words)
        if phrase and phrase not in found:
            found.append(phrase)
    return found


def refers_back(question: str) -> bool:
    """Whether a question needs the history to be understood.

    >>> refers_back("What did he say about the West Bank?"), refers_back("Who is John Kirby?")
    (True, False)
    """
    return bool(_REFERS_BACK.search(question)) or not names(question)


def context_for(question: str, history: Sequence[dict[str, str]]) -> str:
    """What a follow-up leans on: names from the last user question and the first ones of the last answer.

    >>> context_for("What did he say?", [{"role": "user", "content": "Who is Matthew Miller?"},
    ...                                  {"role": "assistant", "content": "A State Department spokesman. [1]"}])
    'Matthew Miller State Department'
    >>> context_for("Who is John Kirby?", [{"role": "user", "content": "Who is Matthew Miller?"}])
    ''
    """
    if not history or not refers_back(question):
        return ""
    own = set(names(question))
    found: list[str] = []
    for role, limit in (("user", 6), ("assistant", 3)):  # an answer is long: its first names are its topic
        last = next((m["content"] for m in reversed(history) if m["role"] == role), "")
        found += [n for n in names(last) if n not in own and n not in found][:limit]
    return " ".join(found)
