"""One settings object for the whole product, built from defaults, environment and overrides.

Built at the edges (the CLI, ``qa serve``, ``qa eval``, or ``ask(**overrides)``) and passed down; no
module reads the environment on its own, and llama-index's global ``Settings`` is never used.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path

from index.chunk import DEFAULT_CHUNK_WORDS, DEFAULT_OVERLAP_SENTENCES
from qa.errors import ConfigError

_ENV = {
    "corpus": "QA_CORPUS",
    "store": "QA_STORE",
    "embed_model": "QA_EMBED_MODEL",
    "top_k": "QA_TOP_K",
    "min_confidence": "QA_MIN_CONFIDENCE",
    "selector": "QA_SELECTOR",
    "host": "QA_HOST",
    "port": "QA_PORT",
    "auth": "QA_AUTH",
    "api_key": "QA_API_KEY",
    "mcp": "QA_MCP",
    "chroma_url": "QA_CHROMA_URL",
    "namespace": "QA_NAMESPACE",
    "llm_url": "QA_LLM_URL",
    "llm_model": "QA_LLM_MODEL",
    "llm_api_key": "QA_LLM_API_KEY",
    "llm_timeout": "QA_LLM_TIMEOUT",
}


_OPTIONAL = {"min_confidence": float, "selector": Path}  # the type of a setting whose default is None


@dataclass(frozen=True)
class Settings:
    corpus: Path = Path("seeds")
    store: Path = Path(".qa")
    embed_model: str | None = None  # a local sentence-transformers folder; None: the packaged MiniLM
    chunk_words: int = DEFAULT_CHUNK_WORDS
    chunk_overlap: int = DEFAULT_OVERLAP_SENTENCES
    top_k: int = 5  # passages returned with an answer
    candidates: int = 20  # hits taken from each retriever before fusion
    evidence_passages: int = 5  # passages whose sentences compete to answer
    support_passages: int = 10  # passages searched for other articles' statements of the same fact
    sentence_hits: int = 10  # sentences found by their own vectors, whose passages may answer too
    max_citation_lines: int = 3
    # Abstain when the answer's confidence is below this; None: the threshold fitted with the selector
    # (`python -m evals.fit`, on the eval's tune split; docs/evals.md).
    min_confidence: float | None = None
    selector: Path | None = None  # fitted answer-selection weights; None: qa/selector.json
    max_question_chars: int = 1000
    max_history_messages: int = 200
    host: str = "127.0.0.1"
    port: int = 7860
    auth: str | None = None  # "user:password" for the web chat
    # the bearer token of /v1 and the MCP endpoint; None: the password of ``auth`` (ui/api.py)
    api_key: str | None = None
    mcp: bool = False  # `qa serve --mcp`: also serve the MCP tools (ui/tools.py)
    chroma_url: str | None = None  # a Chroma server (http://host:port) instead of the store folder
    namespace: str = "qa"  # on a Chroma server: the prefix of this index's collections
    # Bring your own LLM (qa/compose.py): an OpenAI-compatible base URL (http://host:port/v1). None: answers
    # stay extractive and nothing is contacted.
    llm_url: str | None = None
    llm_model: str = "default"  # the model name sent to that server (Ollama and OpenAI need a real one)
    llm_api_key: str | None = None  # sent as the bearer key; never read from OPENAI_API_KEY
    llm_timeout: float = 60.0  # seconds for the whole generated answer; then the extractive one is given
    llm_sentences: int = 8  # candidate sentences numbered for the model
    llm_max_tokens: int = 200
    # The model's "the articles do not answer" makes the answer a refusal only while the extractive
    # confidence is under this; above it the extractive answer is given (docs/evals.md).
    llm_refusal_below: float = 0.5

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> "Settings":
        """Defaults, then ``QA_*`` environment variables, then ``overrides`` (None means "not given")."""
        env = os.environ if env is None else env
        values = {name: env[var] for name, var in _ENV.items() if env.get(var)}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls().with_values(**values)

    def with_values(self, **values) -> "Settings":
        """A copy with ``values`` converted to each field's type; ``ConfigError`` for a bad value."""
        known = {f.name: f for f in fields(self)}
        converted = {}
        for name, value in values.items():
            if name not in known:
                raise ConfigError(f"unknown setting {name!r}; known: {', '.join(sorted(known))}")
            default = getattr(self, name)
            if default is None and value is not None:
                default = _OPTIONAL.get(name, str)()
            try:
                if isinstance(default, Path):
                    value = Path(value)
                elif isinstance(default, bool):
                    value = str(value).lower() in ("1", "true", "yes") if isinstance(value, str) else bool(value)
                elif isinstance(default, int):
                    value = int(value)
                elif isinstance(default, float):
                    value = float(value)
            except (TypeError, ValueError):
                raise ConfigError(f"setting {name} ({_ENV.get(name, name)}) must be a {type(default).__name__}, got {value!r}") from None
            converted[name] = value
        result = replace(self, **converted)
        sure = result.min_confidence
        if result.llm_url is not None and not result.llm_url.startswith(("http://", "https://")):
            raise ConfigError(f"the LLM URL (QA_LLM_URL) must be an http:// or https:// base URL such as "
                              f"http://127.0.0.1:8080/v1, got {result.llm_url!r}")
        if result.llm_timeout <= 0 or result.llm_sentences < 1 or result.llm_max_tokens < 1:
            raise ConfigError("llm_timeout (QA_LLM_TIMEOUT), llm_sentences and llm_max_tokens must be positive")
        if result.top_k < 1:
            raise ConfigError(f"the number of passages (--top-k, QA_TOP_K) must be at least 1, got {result.top_k}")
        if result.candidates < result.top_k:
            raise ConfigError(f"the number of passages (--top-k, QA_TOP_K) can be at most {result.candidates} "
                              f"(the candidates setting), got {result.top_k}")
        if sure is not None and not 0 <= sure <= 1:
            raise ConfigError(f"min_confidence (QA_MIN_CONFIDENCE) must be between 0 and 1, got {sure}")
        return result
