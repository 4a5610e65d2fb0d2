import json
import shutil

from index.health import check
from index.store import LocalStore, open_store

from test_qa_cli import qa


def test_status_of_a_whole_index_exits_0(seeded):
    health = check(open_store(seeded["store"], seeded.get("chroma_url"), seeded.get("namespace", "qa")))
    assert health.healthy, health.problems
    assert (health.articles, health.pending) == (5, 0)
    assert health.chunks == health.vectors == health.keyword_chunks == health.sampled == 35
    assert health.keyword_generation and health.last_indexed


def test_status_names_what_disagrees_and_exits_1(seed_store, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(seed_store, store)
    result = qa("status", "--store", str(store))
    assert result.returncode == 0 and "consistent: catalog, vectors and keyword snapshot agree" in result.stdout
    collection = LocalStore(store).vector_store().client
    lost = collection.get(limit=1, include=[])["ids"][0]
    collection.delete(ids=[lost])
    result = qa("status", "--json", "--store", str(store))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert report["healthy"] is False and report["vectors"] == 34
    assert "chunk counts disagree: catalog 35, vectors 34, keyword snapshot 35" in report["problems"]
    assert f"vectors lack 1 sampled id ({lost})" in report["problems"]
    assert "chunk counts disagree" in result.stderr


def test_status_without_an_index_says_run_qa_index(tmp_path):
    result = qa("status", "--store", str(tmp_path / "none"))
    assert result.returncode == 1 and f"run `qa index --store {tmp_path / 'none'}` first" in result.stderr
    assert "Traceback" not in result.stderr
