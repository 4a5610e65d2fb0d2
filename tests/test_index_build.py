import os
import signal
import subprocess
import sys
import textwrap

import pytest

from index import build
from index.errors import ConfigError, CorpusError
from index.store import Store


def ids_in_chroma(store_folder):
    return sorted(Store(store_folder).vector_store().client.get(include=[])["ids"])


def ids_in_catalog(store_folder):
    store = Store(store_folder)
    return sorted(c.id for c, _, _ in store.all_chunks())


def test_second_run_embeds_nothing(corpus, tmp_path):
    first = build(corpus, tmp_path / "s", progress=False)
    assert (len(first.added), first.embedded) == (5, first.chunks)
    second = build(corpus, tmp_path / "s", progress=False)
    assert (second.embedded, second.unchanged, second.changed) == (0, 5, False)
    assert "nothing changed: nothing was embedded" in second.lines()
    assert ids_in_chroma(tmp_path / "s") == ids_in_catalog(tmp_path / "s")


def test_edit_add_delete_touch_only_that_article(corpus, tmp_path):
    store = tmp_path / "s"
    build(corpus, store, progress=False)
    before = {c.id: c.source for c, _, _ in Store(store).all_chunks()}
    edited = next(corpus.glob("002_*.txt"))
    edited.write_text(edited.read_text(encoding="utf-8") + "\nBlinken later flew to Amman for talks.\n", encoding="utf-8")
    (corpus / "new.txt").write_text("Blinken met King Abdullah in Amman on Sunday to discuss aid to Gaza.\n")
    removed = next(corpus.glob("004_*.txt"))
    removed.unlink()
    summary = build(corpus, store, progress=False)
    assert summary.updated == (edited.name,) and summary.added == ("new.txt",) and summary.removed == (removed.name,)
    after = {c.id: c.source for c, _, _ in Store(store).all_chunks()}
    untouched = {i for i, s in before.items() if s not in (edited.name, removed.name)}
    assert untouched <= set(after)
    assert not any(s == removed.name for s in after.values())
    assert summary.embedded == sum(1 for s in after.values() if s in (edited.name, "new.txt"))
    assert ids_in_chroma(store) == ids_in_catalog(store)


CRASH = textwrap.dedent("""
    import os, signal, sys
    from index import build
    from index.store import Store
    point = sys.argv[3]
    original = getattr(Store, point)
    calls = []
    def crash(self, *args, **kwargs):
        calls.append(1)
        if point == "add_vectors":   # half the vectors written, then killed
            nodes = args[0]
            original(self, nodes[: len(nodes) // 2])
        if point == "finish" and len(calls) == 1:
            original(self, *args, **kwargs)  # the first batch completes, the second dies
            return
        os.kill(os.getpid(), signal.SIGKILL)
    setattr(Store, point, crash)
    build(sys.argv[1], sys.argv[2], progress=False, batch_chunks=int(sys.argv[4]))
""")


@pytest.mark.parametrize("point", ["begin", "add_vectors", "finish"])
def test_a_killed_run_is_completed_by_the_next(corpus, tmp_path, point):
    """kill -9 before, during and after the embedding of an article: the next run repairs the store."""
    clean = tmp_path / "clean"
    build(corpus, clean, progress=False)
    store = tmp_path / "killed"
    result = subprocess.run([sys.executable, "-c", CRASH, str(corpus), str(store), point, "8"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == -signal.SIGKILL, result.stderr
    summary = build(corpus, store, progress=False)
    assert summary.articles == 5
    assert ids_in_catalog(store) == ids_in_catalog(clean)
    assert ids_in_chroma(store) == ids_in_chroma(clean)  # no duplicate, no missing, no orphan
    from qa import ask

    for question in ("Who is John Kirby?", "How many people have been displaced in Gaza?", "23,000"):
        repaired, fresh = ask(question, store=store), ask(question, store=clean)
        assert (repaired.text, repaired.citations) == (fresh.text, fresh.citations)


def test_a_missing_corpus_folder_is_a_clear_error(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        build(tmp_path / "nope", tmp_path / "s", progress=False)


def test_another_model_needs_a_rebuild(corpus, tmp_path, seed_store):
    from index.embed import default_model_path

    build(corpus, tmp_path / "s", progress=False)
    other = tmp_path / "model"
    os.symlink(default_model_path(), other)
    with pytest.raises(ConfigError, match="--rebuild"):
        build(corpus, tmp_path / "s", model_path=str(other), progress=False)
