"""Shared fixtures: the real packaged model, real Chroma stores built once from the seeds (on disk, and
on a real Chroma server started with the `chroma run` that comes with the chromadb wheel)."""
import json
import os
import shutil
import uuid
from pathlib import Path

import pytest

for name, value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
                    "GRADIO_ANALYTICS_ENABLED": "False", "ANONYMIZED_TELEMETRY": "False"}.items():
    os.environ[name] = value
for name in ("QA_STORE", "QA_CORPUS", "QA_MIN_CONFIDENCE", "QA_SELECTOR", "QA_TOP_K", "QA_AUTH", "QA_HOST", "QA_PORT",
             "QA_CHROMA_URL", "QA_NAMESPACE", "QA_API_KEY", "QA_MCP", "QA_LLM_URL", "QA_LLM_MODEL", "QA_LLM_API_KEY",
             "QA_LLM_TIMEOUT"):
    os.environ.pop(name, None)

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def seed_store(tmp_path_factory) -> Path:
    """A store indexed from the five seed articles (built once per test session)."""
    from index import build

    store = tmp_path_factory.mktemp("store") / "qa"
    build(SEEDS, store, progress=False)
    return store


@pytest.fixture()
def corpus(tmp_path) -> Path:
    """A writable copy of the seeds."""
    folder = tmp_path / "corpus"
    shutil.copytree(SEEDS, folder)
    for f in folder.iterdir():
        f.chmod(0o644)
    return folder


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory) -> str:
    """The URL of a real Chroma server on a free loopback port, with its data in a temporary folder;
    stopped at the end of the session."""
    from evals.bench_load import chroma_running

    with chroma_running(tmp_path_factory.mktemp("chroma-server")) as (url, _):
        yield url


@pytest.fixture(params=["embedded", "server"])
def backend(request) -> dict:
    """Where a test's index lives, as keyword arguments for ``build()`` and ``ask()``: nothing extra
    (a folder), or a Chroma server with a namespace of the test's own."""
    if request.param == "embedded":
        return {}
    return {"chroma_url": request.getfixturevalue("chroma_server"), "namespace": f"t{uuid.uuid4().hex[:12]}"}


@pytest.fixture(scope="session")
def seed_server_index(chroma_server, tmp_path_factory) -> dict:
    """The seeds indexed on the Chroma server (built once per session); ``ask(**seed_server_index)``."""
    from index import build

    where = {"store": tmp_path_factory.mktemp("server-cache") / "qa", "chroma_url": chroma_server, "namespace": "seeds"}
    build(SEEDS, where["store"], chroma_url=chroma_server, namespace="seeds", progress=False)
    return where


@pytest.fixture(scope="session", params=["embedded", "server"])
def seeded(request) -> dict:
    """The seed index in each place it can live, as keyword arguments for ``ask()``."""
    if request.param == "embedded":
        return {"store": request.getfixturevalue("seed_store")}
    return request.getfixturevalue("seed_server_index")


API_PASSWORD = "s3cret-for-tests"


@pytest.fixture(scope="session")
def api_server(tmp_path_factory) -> str:
    """One real `qa serve` with QA_MCP=1 and a login (QA_AUTH) on a free loopback port, shared by the MCP and /v1
    tests; its clients send the password as the bearer token."""
    from evals.bench_load import served

    store = tmp_path_factory.mktemp("api-served") / "qa"
    with served(SEEDS, store, extra_env={"QA_AUTH": f"reader:{API_PASSWORD}", "QA_MCP": "1"}) as (url, _):
        yield url


@pytest.fixture(scope="session")
def llm_server() -> str:
    """The /v1 base URL of a real llama.cpp server (xllamacpp) with SmolLM2-135M on a free loopback port,
    shared by the session; a server that cannot start fails the tests that need it (no skip)."""
    from evals.llm_server import llm_running

    with llm_running() as (url, _):
        yield url


def forced(url: str, text: str, **extra) -> dict:
    """``ask()`` overrides for the server at ``url`` whose replies are forced to ``text`` (a grammar); three
    candidate sentences and a generous time limit, for a 2-core machine shared with other work."""
    from qa.compose import _client
    from qa.settings import Settings

    extra = {"llm_sentences": 3, "llm_timeout": 300.0, **extra}
    model = "forced"  # one client (and one engine) per server: the grammar rides on that client's requests
    _client(Settings.from_env(llm_url=url, llm_model=model, **extra)).additional_kwargs = {
        "extra_body": {"grammar": "root ::= " + json.dumps(text, ensure_ascii=False)}}
    return {"llm_url": url, "llm_model": model, **extra}


def seed_chunks() -> tuple[list[str], list[list[tuple[int, int]]]]:
    """The seeds' chunk texts and, per chunk, its sentences' character spans: what indexing embeds."""
    from index.chunk import chunk_article
    from index.read import corpus_files, read_article

    texts, spans = [], []
    for path, source in corpus_files(ROOT / "seeds"):
        article = read_article(path, source)
        for chunk in chunk_article(source, article.text, article.body):
            texts.append(chunk.text)
            spans.append([(s.start - chunk.start, s.end - chunk.start) for s in chunk.sentences])
    return texts, spans
