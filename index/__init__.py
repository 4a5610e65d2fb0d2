"""Reading, cleaning, chunking, embedding and storing news articles: ``build()`` is the entry point.

Importing this package loads no model and opens no store; it only makes sure nothing here can reach a
model hub or send telemetry (the machine has no internet, and a hub lookup hangs instead of failing),
and that loading a model draws no progress bar on stderr.
"""
import os

for _name, _value in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # transformers draws a "Loading weights" bar on every model load
}.items():
    os.environ.setdefault(_name, _value)

from index.build import Summary, build  # noqa: E402  (after the environment is set)

__all__ = ["build", "Summary"]
