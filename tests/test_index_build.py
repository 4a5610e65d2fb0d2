import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from index import build
from index.errors import ConfigError, CorpusError
from index.store import COLLECTION, SEARCH_EF, SENTENCES, SYNC_THRESHOLD, open_store, search_deeply, search_depth


def ids_in_chroma(store_folder, **where):
    return sorted(open_store(store_folder, **where).vector_store().client.get(include=[])["ids"])


def ids_in_catalog(store_folder, **where):
    return sorted(c.id for c, _, _ in open_store(store_folder, **where).all_chunks())


def sentences_in_chroma(store_folder, **where):
    found = open_store(store_folder, **where).collection(SENTENCES).get(include=["metadatas"])
    return sorted((m["document_id"], m["start"]) for m in found["metadatas"])


def sentences_in_catalog(store_folder, **where):
    store = open_store(store_folder, **where)
    chunks = store.chunks(c.id for c, _, _ in store.all_chunks())
    return sorted({(c.source, s.start) for c in chunks.values() for s in c.sentences})


def test_every_sentence_is_searchable_once_and_goes_with_its_article(corpus, tmp_path, backend):
    store = tmp_path / "s"
    build(corpus, store, progress=False, **backend)
    assert sentences_in_chroma(store, **backend) == sentences_in_catalog(store, **backend)
    removed = next(corpus.glob("004_*.txt"))
    removed.unlink()
    build(corpus, store, progress=False, **backend)
    left = sentences_in_chroma(store, **backend)
    assert left == sentences_in_catalog(store, **backend) and not any(s == removed.name for s, _ in left)


def test_an_index_made_before_sentence_search_gets_it_without_embedding_again(corpus, tmp_path):
    build(corpus, tmp_path / "s", progress=False)
    before = sentences_in_chroma(tmp_path / "s")
    store = open_store(tmp_path / "s")
    store.collection(SENTENCES).delete(ids=store.collection(SENTENCES).get(include=[])["ids"])
    store.set_meta(sentence_vectors="")  # as an index of the previous version has it
    summary = build(corpus, tmp_path / "s", progress=False)
    assert summary.embedded == 0 and sentences_in_chroma(tmp_path / "s") == before


def test_vector_search_explores_enough_candidates_in_new_and_old_stores(corpus, tmp_path, backend):
    """Chroma's default search depth (ef_search 100) missed some of the true nearest chunks and sentences
    on the 161-article eval corpus; every collection searches with its ``search_depth`` (the sentences
    less deeply than the chunks), a store made before included once it is opened."""
    build(corpus, tmp_path / "s", progress=False, **backend)
    store = open_store(tmp_path / "s", **backend)
    depths = [search_depth(kind) for kind in (COLLECTION, SENTENCES)]
    assert depths[0] == SEARCH_EF and 100 < depths[1] < SEARCH_EF
    for kind, depth in zip((COLLECTION, SENTENCES), depths):
        assert store.collection(kind).configuration_json["hnsw"]["ef_search"] == depth
        store.collection(kind).modify(configuration={"hnsw": {"ef_search": 100}})  # as an older store has it
    reopened = open_store(tmp_path / "s", **backend)
    assert [reopened.collection(kind).configuration_json["hnsw"]["ef_search"] for kind in (COLLECTION, SENTENCES)] \
        == depths


class Collection:
    """A collection whose setting cannot be written the first ``failures`` times: the lock Chroma's SQLite
    reports at once on a loaded machine cannot be made to happen on demand."""

    def __init__(self, failures: int, error: str = "Database error: (code: 5) database is locked"):
        self.configuration_json, self.failures, self.error, self.calls = {"hnsw": {"ef_search": 100}}, failures, error, 0

    def modify(self, configuration):
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError(self.error)
        self.configuration_json = configuration


def test_a_database_locked_for_a_moment_does_not_leave_the_search_shallow(monkeypatch):
    monkeypatch.setattr("index.store.time.sleep", lambda s: None)
    locked = Collection(failures=2)
    search_deeply(locked, COLLECTION)
    assert locked.configuration_json["hnsw"]["ef_search"] == SEARCH_EF and locked.calls == 3
    read_only = Collection(failures=9, error="attempt to write a readonly database")
    search_deeply(read_only, COLLECTION)  # not tried again: the old depth stays, no error
    assert read_only.calls == 1 and read_only.configuration_json["hnsw"]["ef_search"] == 100
    always = Collection(failures=99)
    search_deeply(always, COLLECTION, attempts=3)
    assert always.calls == 3


def test_a_catalog_replaced_on_disk_is_read_at_once(tmp_path):
    reader, other = open_store(tmp_path / "s"), open_store(tmp_path / "s")  # as two processes have it
    reader.create()
    reader.set_meta(marker="old")
    assert reader.meta("marker") == "old"
    other.remove()  # what `qa index --rebuild` does elsewhere: a new catalog file at the same path
    other.create()
    other.set_meta(marker="new")
    assert reader.meta("marker") == "new"
    reader.remove()  # and the same store object, at once
    reader.create()
    assert reader.meta("marker") is None


def test_chunks_read_again_after_an_edit_elsewhere_are_the_catalogs(corpus, tmp_path):
    """A folder store keeps the chunk texts it has read (a chunk's id hashes its text): reading again
    gives what a fresh reader gets, also after a later indexing run edited and removed articles."""
    build(corpus, tmp_path / "s", progress=False)
    reader = open_store(tmp_path / "s")  # one long-lived reader, as the chat server has it

    def everything(store):
        return store.chunks(c.id for c, _, _ in open_store(tmp_path / "s").all_chunks())

    first = everything(reader)
    assert everything(reader) == first == everything(open_store(tmp_path / "s"))
    edited, removed = next(corpus.glob("002_*.txt")), next(corpus.glob("004_*.txt"))
    edited.write_text("Blinken flew to Amman.\n" + edited.read_text(encoding="utf-8"), encoding="utf-8")
    removed.unlink()
    build(corpus, tmp_path / "s", progress=False)
    after = reader.chunks(first)  # the old ids: the edited and removed articles' chunks are gone
    assert not any(c.source in (edited.name, removed.name) for c in after.values())
    now = everything(reader)
    assert now == everything(open_store(tmp_path / "s"))
    assert any(c.source == edited.name and c.text.startswith("Blinken flew to Amman.") for c in now.values())
    article = {c.source: reader.article(c.source).text for c in now.values()}
    assert all(c.text == article[c.source][c.start:c.end] for c in now.values())


def unwritten_vectors(store_folder) -> dict[str, int]:
    """Per collection, how many logged vectors Chroma's graph on disk does not hold yet (read from
    Chroma's own bookkeeping in chroma.sqlite3: the log's last sequence number against the vector
    segment's; a segment never written has no row)."""
    import sqlite3

    db = sqlite3.connect(store_folder / "chroma" / "chroma.sqlite3")
    try:
        rows = db.execute(
            "SELECT c.name, (SELECT MAX(q.seq_id) FROM embeddings_queue q WHERE q.topic LIKE '%' || c.id), "
            "(SELECT m.seq_id FROM max_seq_id m WHERE m.segment_id = s.id) FROM collections c "
            "JOIN segments s ON s.collection = c.id AND s.scope = 'VECTOR'").fetchall()
    finally:
        db.close()
    return {name: (logged or 0) - (written or 0) for name, logged, written in rows}


def test_indexing_leaves_chroma_graphs_written_out_whole(corpus, tmp_path):
    """Vectors Chroma has not written into its graph on disk are inserted again by every process that
    opens the store, in an order of its own, so two processes could find different nearest chunks;
    an indexing run ends with none left (``LocalStore.settle``), and puts Chroma's threshold back."""
    build(corpus, tmp_path / "s", progress=False)
    assert unwritten_vectors(tmp_path / "s") == {COLLECTION: 0, SENTENCES: 0}
    (corpus / "new.txt").write_text("Blinken met King Abdullah in Amman on Sunday to discuss aid to Gaza.\n")
    build(corpus, tmp_path / "s", progress=False)
    assert unwritten_vectors(tmp_path / "s") == {COLLECTION: 0, SENTENCES: 0}
    store = open_store(tmp_path / "s")
    thresholds = {store.collection(k).configuration_json["hnsw"]["sync_threshold"] for k in (COLLECTION, SENTENCES)}
    assert thresholds == {SYNC_THRESHOLD}


def test_a_run_that_changes_nothing_does_not_settle_again(corpus, tmp_path, monkeypatch):
    """Settling reopens every collection, most of the time of a run with nothing to do; the catalog notes
    the state it settled, so such a run skips it. A store without the note (indexed by an earlier
    version) settles once; a run that adds an article settles, and leaves no vector unwritten."""
    from index.store import LocalStore

    settled = []
    real = LocalStore.settle
    monkeypatch.setattr(LocalStore, "settle", lambda self: settled.append(1) or real(self))
    for _ in range(2):
        build(corpus, tmp_path / "s", progress=False)
    assert len(settled) == 1
    open_store(tmp_path / "s").set_meta(settled_state="")  # as an earlier version left it
    for _ in range(2):
        build(corpus, tmp_path / "s", progress=False)
    assert len(settled) == 2
    (corpus / "new.txt").write_text("Blinken met King Abdullah in Amman on Sunday to discuss aid to Gaza.\n")
    build(corpus, tmp_path / "s", progress=False)
    assert len(settled) == 3 and unwritten_vectors(tmp_path / "s") == {COLLECTION: 0, SENTENCES: 0}

    def fails(self):
        settled.append(1)
        return False  # as when Chroma raised

    monkeypatch.setattr(LocalStore, "settle", fails)
    (corpus / "new.txt").unlink()
    build(corpus, tmp_path / "s", progress=False)
    build(corpus, tmp_path / "s", progress=False)  # so it tries again
    assert len(settled) == 5


def test_a_store_opened_before_an_index_run_in_the_same_process_sees_its_vectors(corpus, tmp_path):
    """Settling opens the collections on a new Chroma client; a store object opened before (the chat
    server's, say) moves to it and finds what later runs add."""
    build(corpus, tmp_path / "s", progress=False)
    reader = open_store(tmp_path / "s")
    before = reader.collection().count()
    for name, text in (("new.txt", "Blinken met King Abdullah in Amman on Sunday to discuss aid to Gaza.\n"),
                       ("later.txt", "A storm closed the port of Haifa for two days in January.\n")):
        (corpus / name).write_text(text)
        build(corpus, tmp_path / "s", progress=False)
    ids = {c.id for c, _, _ in reader.all_chunks() if c.source in ("new.txt", "later.txt")}
    assert reader.collection().count() == before + len(ids) == open_store(tmp_path / "s").collection().count()
    vectors = reader.collection().get(ids=list(ids), include=["embeddings"])
    for cid, vector in zip(vectors["ids"], vectors["embeddings"]):  # the graph searched holds them
        assert reader.collection().query(query_embeddings=[vector], n_results=1, include=[])["ids"][0] == [cid]


def test_second_run_embeds_nothing(corpus, tmp_path, backend):
    first = build(corpus, tmp_path / "s", progress=False, **backend)
    assert (len(first.added), first.embedded) == (5, first.chunks)
    second = build(corpus, tmp_path / "s", progress=False, **backend)
    assert (second.embedded, second.unchanged, second.changed) == (0, 5, False)
    assert "nothing changed: nothing was embedded" in second.lines()
    assert ids_in_chroma(tmp_path / "s", **backend) == ids_in_catalog(tmp_path / "s", **backend)


def test_edit_add_delete_touch_only_that_article(corpus, tmp_path, backend):
    store = tmp_path / "s"
    build(corpus, store, progress=False, **backend)
    before = {c.id: c.source for c, _, _ in open_store(store, **backend).all_chunks()}
    edited = next(corpus.glob("002_*.txt"))
    edited.write_text(edited.read_text(encoding="utf-8") + "\nBlinken later flew to Amman for talks.\n", encoding="utf-8")
    (corpus / "new.txt").write_text("Blinken met King Abdullah in Amman on Sunday to discuss aid to Gaza.\n")
    removed = next(corpus.glob("004_*.txt"))
    removed.unlink()
    summary = build(corpus, store, progress=False, **backend)
    assert summary.updated == (edited.name,) and summary.added == ("new.txt",) and summary.removed == (removed.name,)
    after = {c.id: c.source for c, _, _ in open_store(store, **backend).all_chunks()}
    untouched = {i for i, s in before.items() if s not in (edited.name, removed.name)}
    assert untouched <= set(after)
    assert not any(s == removed.name for s in after.values())
    assert summary.embedded == sum(1 for s in after.values() if s in (edited.name, "new.txt"))
    assert ids_in_chroma(store, **backend) == ids_in_catalog(store, **backend)


CRASH = textwrap.dedent("""
    import json, os, signal, sys
    from index import build
    from index.server import ServerStore
    from index.store import LocalStore
    point, where = sys.argv[3], json.loads(sys.argv[5])
    Store = ServerStore if where else LocalStore
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
    build(sys.argv[1], sys.argv[2], progress=False, batch_chunks=int(sys.argv[4]), **where)
""")


def same_answer(a, b) -> bool:
    """The same text and citations (sources, offsets, quotes); scores equal to 5e-3, because chunks
    embedded in other batches, or by torch in bfloat16 in one run and by the ONNX export in float32 in
    the other (index.build picks by run size), differ in the last digits (a support's 0.0221 against
    0.0204 seen)."""
    from dataclasses import replace

    return (a.text, [replace(c, score=0) for c in a.citations]) == (b.text, [replace(c, score=0) for c in b.citations]) \
        and all(abs(x.score - y.score) <= 5e-3 for x, y in zip(a.citations, b.citations))


@pytest.mark.parametrize("point", ["begin", "add_vectors", "finish"])
def test_a_killed_run_is_completed_by_the_next(corpus, tmp_path, point, backend):
    """kill -9 before, during and after the embedding of an article: the next run repairs the store
    (on a server, it also takes over the dead run's lease)."""
    clean = tmp_path / "clean"
    build(corpus, clean, progress=False)
    store = tmp_path / "killed"
    result = subprocess.run([sys.executable, "-c", CRASH, str(corpus), str(store), point, "8", json.dumps(backend)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == -signal.SIGKILL, result.stderr
    summary = build(corpus, store, progress=False, **backend)
    assert summary.articles == 5
    assert ids_in_catalog(store, **backend) == ids_in_catalog(clean)
    assert ids_in_chroma(store, **backend) == ids_in_chroma(clean)  # no duplicate, no missing, no orphan
    from qa import ask

    for question in ("Who is John Kirby?", "How many people have been displaced in Gaza?", "23,000"):
        repaired, fresh = ask(question, store=store, **backend), ask(question, store=clean)
        assert same_answer(repaired, fresh), [(x.score, y.score, x.source, y.source) for x, y in zip(repaired.citations, fresh.citations)]


def test_a_missing_corpus_folder_is_a_clear_error(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        build(tmp_path / "nope", tmp_path / "s", progress=False)
    (tmp_path / "one.txt").write_text("Blinken met Abbas in Ramallah.\n")
    with pytest.raises(CorpusError, match="is a file, not a folder"):
        build(tmp_path / "one.txt", tmp_path / "s", progress=False)


def test_another_folder_does_not_silently_replace_the_index(corpus, tmp_path):
    """A store mirrors one folder: indexing a folder that holds none of its articles (or nothing) would
    remove them all, so it is refused; a rebuild replaces them on purpose."""
    store = tmp_path / "s"
    build(corpus, store, progress=False)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "cairo.txt").write_text("Blinken met Egypt's foreign minister in Cairo on Thursday.\n")
    (mine / "notes.pdf").write_bytes(b"%PDF-1.4")
    for folder in (mine, tmp_path / "empty"):
        folder.mkdir(exist_ok=True)
        with pytest.raises(CorpusError, match="holds 5 article.*none of them in.*--rebuild"):
            build(folder, store, progress=False)
    assert open_store(store).stats().articles == 5  # untouched
    summary = build(mine, store, progress=False, rebuild=True)
    assert summary.added == ("cairo.txt",) and summary.articles == 1
    assert "not read (not .txt, .md, .html or .htm): notes.pdf" in summary.lines()
    (corpus / "cairo.txt").write_text((mine / "cairo.txt").read_text())
    assert build(corpus, store, progress=False).unchanged == 1  # one article in common: an ordinary update
    empty = build(tmp_path / "empty", tmp_path / "fresh", progress=False)
    assert f"no articles in {tmp_path / 'empty'}: articles are .txt, .md, .html or .htm files" in empty.lines()


def test_another_model_needs_a_rebuild(corpus, tmp_path, backend):
    from index.embed import default_model_path

    build(corpus, tmp_path / "s", progress=False, **backend)
    other = tmp_path / "model"
    os.symlink(default_model_path(), other)
    with pytest.raises(ConfigError, match="--rebuild"):
        build(corpus, tmp_path / "s", model_path=str(other), progress=False, **backend)


def test_an_article_indexed_from_one_machine_is_answered_by_another(corpus, tmp_path, chroma_server):
    """Server mode: a running reader sees what an indexer with another folder adds, and a rebuild."""
    from qa import ask

    where = {"chroma_url": chroma_server, "namespace": "shared"}
    build(corpus, tmp_path / "machine-a", progress=False, **where)
    question = "Who did Blinken meet in Amman?"
    assert "amman.txt" not in {c.source for c in ask(question, store=tmp_path / "machine-b", **where).citations}
    (corpus / "amman.txt").write_text("Blinken met King Abdullah in Amman on Sunday to discuss aid to Gaza.\n")
    summary = build(corpus, tmp_path / "machine-c", progress=False, **where)
    assert summary.added == ("amman.txt",) and summary.embedded == 1
    answer = ask(question, store=tmp_path / "machine-b", **where)
    assert not answer.abstained and answer.citations[0].source == "amman.txt"
    build(corpus, tmp_path / "machine-a", progress=False, rebuild=True, **where)
    assert ask(question, store=tmp_path / "machine-b", **where).citations[0].source == "amman.txt"


def test_a_second_indexer_elsewhere_is_refused_while_one_writes(corpus, tmp_path, chroma_server):
    import socket

    from index.errors import StoreError
    from index.server import ServerStore

    build(corpus, tmp_path / "a", progress=False, chroma_url=chroma_server, namespace="lease")
    store = ServerStore(chroma_server, tmp_path / "a", "lease")
    store.set_meta(writer=json.dumps({"host": f"not-{socket.gethostname()}", "pid": 1, "time": time.time()}))
    with pytest.raises(StoreError, match="is writing to"):
        build(corpus, tmp_path / "b", progress=False, chroma_url=chroma_server, namespace="lease")
    store.set_meta(writer="")
    assert build(corpus, tmp_path / "b", progress=False, chroma_url=chroma_server, namespace="lease").unchanged == 5
