# The two commands of the README: `make demo` (the chat service on the demo data) and
# `make test` (the test suite). Both set everything up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA ?= ../shared/data
HOST ?= 127.0.0.1
PORT ?= 8000
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: demo test install system-deps clean-demo

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -e '.[dev,spark,voice]'
	touch $@

install: $(BIN)/.installed

# Debian packages some parts need: espeak-ng (test audio), chromium (browser test),
# Java 17 (Spark). Installed only when missing; needs root (as on the project's machines).
system-deps:
	@bash scripts/system-deps.sh

# Serves as soon as the catalog and the lexical indexes exist (about a minute after the
# install); embeddings, indexes and the recommender are built in the background and used as
# each one is ready (the page and /healthz say what is still being prepared).
demo: install
	$(BIN)/coverstory import goodbooks $(DATA)/goodbooks10k
	$(BIN)/coverstory build lexical
	$(BIN)/coverstory serve --build --host $(HOST) --port $(PORT)

test: install system-deps
	$(BIN)/pytest -q

clean-demo:
	rm -rf .coverstory
