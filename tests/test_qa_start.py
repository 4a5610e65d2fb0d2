"""Starting to answer imports only what answering needs: no torch, transformers, gradio or matplotlib.

Each check runs in a fresh interpreter and looks at ``sys.modules`` after the first answer (or after the
chat is ready). How long starting takes is measured by ``python -m evals.bench_start``, not here.
"""
import json
import subprocess
import sys

from conftest import ROOT

NEVER = ["torch", "transformers", "sentence_transformers", "gradio", "matplotlib", "llama_index.core",
         "llama_index.embeddings.huggingface", "llama_index.vector_stores.chroma", "llama_index.retrievers.bm25",
         "chromadb.server", "uvicorn"]
MODEL = ["torch", "transformers", "sentence_transformers", "llama_index.embeddings.huggingface"]


def fresh(code: str, never: list[str] = NEVER) -> list[str]:
    """The modules of ``never`` that are imported after running ``code`` in a fresh interpreter."""
    report = f"import json, sys; print(json.dumps([m for m in {never!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", f"{code}\n{report}"], capture_output=True, text=True, cwd=ROOT,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])


def test_qa_ask_imports_no_torch_and_no_gradio(seed_store):
    code = ("from qa.cli import cli\n"
            f"cli(['ask', '--json', '--store', {str(seed_store)!r}, 'Who is John Kirby?'], standalone_mode=False)")
    assert fresh(code) == []


def test_the_first_ask_imports_no_torch_and_no_gradio(seed_store):
    code = (f"from qa import ask\nanswer = ask('Who is John Kirby?', store={str(seed_store)!r})\n"
            "assert answer.citations, answer")
    assert fresh(code) == []


def test_qa_serve_is_ready_without_torch(seed_store):
    """The chat needs gradio; it must not need the torch model to answer."""
    code = ("from ui.app import serve\nfrom qa.settings import Settings\nfrom evals.bench_load import free_port\n"
            f"serve(Settings(store={str(seed_store)!r}, port=free_port()), block=False)\n"
            "import gradio; gradio.close_all()")
    assert fresh(code, MODEL) == []
