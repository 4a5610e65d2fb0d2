"""Shared fixtures: the real packaged model, a real Chroma store built once from the seeds."""
import os
import shutil
import socket
from pathlib import Path

import pytest

for name, value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
                    "GRADIO_ANALYTICS_ENABLED": "False", "ANONYMIZED_TELEMETRY": "False"}.items():
    os.environ[name] = value
for name in ("QA_STORE", "QA_CORPUS", "QA_MIN_CONFIDENCE", "QA_TOP_K", "QA_AUTH", "QA_HOST", "QA_PORT"):
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
