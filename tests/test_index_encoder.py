"""The ONNX query encoder gives the packaged model's sentence-transformers vectors, without torch."""
import json
import subprocess
import sys

import numpy as np

from index.embed import default_model_path, load_embedder
from index.encoder import exported, query_encoder

from conftest import ROOT, seed_chunks

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


def test_chunk_and_sentence_vectors_match_sentence_transformers(seed_store):
    """What indexing stores (ONNX) against the late chunking of index.embed (torch), on the seeds' chunks
    and on a text longer than the window, whose last sentences get no vector either way."""
    from index.embed import embed_with_spans

    texts, spans = seed_chunks()
    long = " ".join(QUESTIONS[:40])
    texts.append(long)
    spans.append([(0, 30), (len(long) - 30, len(long))])
    want_vectors, want_rows = embed_with_spans(load_embedder(), texts, spans)
    got_vectors, got_rows = query_encoder(seed_store, default_model_path()).embed_with_spans(texts, spans)
    assert len(texts) > 30 and (np.array(got_vectors) * np.array(want_vectors)).sum(axis=1).min() >= 0.9999
    want, got = np.concatenate(want_rows).astype(np.float32), np.concatenate(got_rows).astype(np.float32)
    assert (np.isnan(want).any(axis=1) == np.isnan(got).any(axis=1)).all() and np.isnan(got[-1]).all()
    real = ~np.isnan(want).any(axis=1)
    assert real.sum() > 100 and (want[real] * got[real]).sum(axis=1).min() >= 0.999


def test_indexing_new_articles_into_a_store_with_its_export_does_not_import_torch(corpus, tmp_path):
    from index import build

    store = tmp_path / "store"
    build(corpus, store, progress=False)  # the first run makes the export (torch)
    (corpus / "new.txt").write_text("Blinken met the Zorblax delegation in Amman on Sunday.\n", encoding="utf-8")
    code = (f"import sys; from index import build; s = build({str(corpus)!r}, {str(store)!r}, progress=False); "
            "print(s.chunks > 0, 'torch' in sys.modules, 'sentence_transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split()[-3:] == ["True", "False", "False"]
