"""The ONNX query encoder gives the packaged model's sentence-transformers vectors, without torch."""
import json
import subprocess
import sys

import numpy as np

from index.embed import default_model_path, load_embedder
from index.encoder import exported, query_encoder

from conftest import ROOT

QUESTIONS = [json.loads(line)["question"] for line in (ROOT / "evals" / "qa.jsonl").read_text().splitlines() if line.strip()]


def test_the_first_index_leaves_the_export_in_the_store_folder(seed_store):
    assert exported(seed_store, default_model_path())
    assert not exported(seed_store, "/some/other/model")


def test_onnx_vectors_of_the_eval_questions_match_sentence_transformers(seed_store):
    """What the chunk vectors in Chroma were made with (torch) against what asking embeds with (ONNX)."""
    torch_model = load_embedder()  # llama-index's HuggingFaceEmbedding over the SentenceTransformer
    onnx = query_encoder(seed_store, default_model_path())
    expected = np.asarray(torch_model._model.encode(QUESTIONS, batch_size=64, normalize_embeddings=True))
    got = onnx.embed(QUESTIONS)
    assert len(QUESTIONS) >= 200 and got.shape == expected.shape
    assert (got * expected).sum(axis=1).min() >= 0.999
    # one question at a time, as `search` embeds it, and single words, as the answerer's word vectors
    one = np.array([onnx.get_query_embedding(q) for q in QUESTIONS[:20]])
    assert (one * np.array([torch_model.get_query_embedding(q) for q in QUESTIONS[:20]])).sum(axis=1).min() >= 0.999
    words = ["journalists", "reporters", "ceasefire", "Gaza", "23,000", "Kirby"]
    got_words = np.array(onnx.get_text_embedding_batch(words))
    assert (got_words * np.array(torch_model.get_text_embedding_batch(words))).sum(axis=1).min() >= 0.999


def test_text_longer_than_the_window_is_cut_where_sentence_transformers_cuts_it(seed_store):
    onnx = query_encoder(seed_store, default_model_path())
    long = " ".join(QUESTIONS[:40])  # far beyond 256 word pieces
    expected = load_embedder()._model.encode([long], normalize_embeddings=True)[0]
    assert float(onnx.embed([long])[0] @ expected) >= 0.999


def test_the_encoder_loads_without_torch(seed_store):
    code = ("import sys; from index.encoder import OnnxEncoder; from index.embed import default_model_path; "
            f"e = OnnxEncoder({str(seed_store / 'encoder' / 'model.onnx')!r}, default_model_path()); "
            "v = e.get_query_embedding('Who is John Kirby?'); "
            "print(len(v), 'torch' in sys.modules, 'transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["384", "False", "False"]
