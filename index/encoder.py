"""Embed text with the MiniLM exported to ONNX (onnxruntime + tokenizers): questions, chunks and their
sentences' late-chunking vectors, without torch.

``export()`` writes the ONNX graph of a local sentence-transformers folder once, into the store folder
(``<store>/encoder/``), at the first ``qa index`` (the only step that imports torch). ``query_encoder()``
loads it; its vectors are the ones sentence-transformers gives (mean of the real tokens' outputs,
normalised): cosine >= 0.999 on the eval questions and >= 0.9999 on chunks and sentences
(tests/test_index_encoder.py). It never downloads anything.
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from index.errors import ConfigError

FOLDER = "encoder"  # inside the store folder
BATCH = 64  # as index.embed.EMBED_BATCH_SIZE: padding to a batch's longest text changes nothing but time
_lock = threading.Lock()
_loaded: dict[tuple[str, str], "OnnxEncoder"] = {}
_made: dict[str, Path] = {}  # model path -> an export this process wrote (another store copies it)


def _files(store_folder: Path | str) -> tuple[Path, Path]:
    folder = Path(store_folder) / FOLDER
    return folder / "model.onnx", folder / "source.json"


def exported(store_folder: Path | str, model_path: str) -> bool:
    """Whether the store folder holds the ONNX export of ``model_path``."""
    onnx, source = _files(store_folder)
    try:
        return onnx.is_file() and json.loads(source.read_text())["model"] == model_path
    except (OSError, ValueError, KeyError):
        return False


def export(store_folder: Path | str, model_path: str, model=None) -> Path:
    """Export the transformer of the sentence-transformers folder ``model_path`` to ONNX under
    ``store_folder`` (its token outputs; pooling is done in numpy). ``model`` is that folder already
    loaded as a ``SentenceTransformer``, if the caller has it. Imports torch, unless this process
    exported the model before (that file is copied). Written atomically."""
    onnx, source = _files(store_folder)
    onnx.parent.mkdir(parents=True, exist_ok=True)
    partial = onnx.with_suffix(f".{os.getpid()}.partial")
    earlier = _made.get(model_path)
    if earlier is not None and earlier.is_file() and earlier != onnx:
        import shutil

        shutil.copyfile(earlier, partial)
    else:
        _export(model_path, model, partial)
    os.replace(partial, onnx)
    source.write_text(json.dumps({"model": model_path}))
    _made[model_path] = onnx
    return onnx


def _export(model_path: str, model, path: Path) -> None:
    import warnings

    import torch

    if model is None:
        from index.embed import load_embedder

        model = load_embedder(model_path)._model  # the indexer's copy, when it has one loaded
    transformer = model[0].auto_model.eval()

    class Tokens(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    sample = model.tokenizer(["an example", "a longer example text"], padding=True, return_tensors="pt")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shapes: the axes below are declared dynamic
        torch.onnx.export(Tokens(transformer), tuple(sample[n] for n in names), str(path), input_names=names,
                          output_names=["tokens"], opset_version=17, dynamo=False,
                          dynamic_axes={n: {0: "batch", 1: "length"} for n in [*names, "tokens"]})


class OnnxEncoder:
    """``get_query_embedding(text)`` and ``get_text_embedding_batch(texts)`` as llama-index's
    ``HuggingFaceEmbedding`` has them (this model has no query or text prompt), from onnxruntime."""

    def __init__(self, onnx_path: Path | str, model_path: str):
        import onnxruntime
        from tokenizers import Tokenizer

        try:
            config = json.loads((Path(model_path) / "sentence_bert_config.json").read_text())
            tokenizer = Tokenizer.from_file(str(Path(model_path) / "tokenizer.json"))
        except (OSError, ValueError) as err:
            raise ConfigError(f"cannot read the tokenizer of {model_path} ({err}); "
                              "QA_EMBED_MODEL must be a local sentence-transformers folder") from None
        tokenizer.enable_truncation(max_length=int(config.get("max_seq_length", 256)))
        tokenizer.no_padding()  # padded here, per batch of texts of similar length
        self._tokenizer = tokenizer
        self._pad = tokenizer.token_to_id("[PAD]") or 0
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # no warnings on stderr
        # threads that spin while waiting for work took CPU from everything else on this shared 2-core
        # machine: embedding 340 words took 1.0-1.5 s spinning, 0.35-0.7 s not (same run)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])

    def _outputs(self, encodings):
        """(indices, token outputs, attention mask) per batch of encodings of similar length, as
        sentence-transformers batches them, so short texts are not padded to long ones."""
        import numpy as np

        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), BATCH):
            batch = order[start:start + BATCH]
            width = max(len(encodings[i].ids) for i in batch)
            ids = np.full((len(batch), width), self._pad, dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            types = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                n = len(encodings[i].ids)
                ids[row, :n], mask[row, :n], types[row, :n] = encodings[i].ids, 1, encodings[i].type_ids
            (tokens,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
            yield batch, tokens, mask

    def embed(self, texts: list[str]):
        """One normalised float32 row per text (sentence-transformers strips each text first)."""
        import numpy as np

        out = None
        for batch, tokens, mask in self._outputs(self._tokenizer.encode_batch([t.strip() for t in texts])):
            pooled = _pooled(tokens, mask)
            if out is None:
                out = np.zeros((len(texts), pooled.shape[1]), dtype=np.float32)
            out[batch] = pooled
        return out if out is not None else np.zeros((0, 0), dtype=np.float32)

    def embed_with_spans(self, texts: list[str], spans: list[list[tuple[int, int]]]):
        """``index.embed.embed_with_spans`` from onnxruntime: a vector per text (a list of floats) and,
        from the same pass, per text a float16 array with a normalised row per character span."""
        from index.embed import span_rows

        encodings = self._tokenizer.encode_batch(list(texts))  # offsets into the texts as given
        vectors: list = [None] * len(texts)
        rows: list = [None] * len(texts)
        for batch, tokens, mask in self._outputs(encodings):
            pooled = _pooled(tokens, mask)
            for row, i in enumerate(batch):
                n = len(encodings[i].ids)
                vectors[i] = pooled[row].tolist()
                rows[i] = span_rows(tokens[row, :n], encodings[i].offsets, spans[i])
        return vectors, rows

    def whole_word(self, word: str) -> bool:
        """Whether the model's vocabulary holds lowercased ``word`` as one token: most English words are
        ("short", "planes"); a misspelling ("cesefire") or a rare name is not."""
        return self._tokenizer.token_to_id(word) is not None

    def get_query_embedding(self, query: str) -> list[float]:
        return self.embed([query])[0].tolist()

    def get_text_embedding_batch(self, texts: list[str], **_) -> list[list[float]]:
        return self.embed(list(texts)).tolist()


def _pooled(tokens, mask):
    """The normalised mean of each row's real tokens (sentence-transformers' mean pooling)."""
    import numpy as np

    weights = mask[..., None].astype(np.float32)
    pooled = (tokens * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def query_encoder(store_folder: Path | str, model_path: str) -> OnnxEncoder:
    """The ONNX encoder of ``model_path`` kept in ``store_folder``, loaded once per process. A store
    indexed before the export existed gets it now (once: this imports torch)."""
    key = (str(store_folder), model_path)
    with _lock:
        if key not in _loaded:
            if not exported(store_folder, model_path):
                if not (Path(model_path) / "modules.json").is_file():
                    raise ConfigError(f"no sentence-transformers model at {model_path}; "
                                      "QA_EMBED_MODEL must be a local model folder")
                export(store_folder, model_path)
            _loaded[key] = OnnxEncoder(_files(store_folder)[0], model_path)
        return _loaded[key]
