# sporbar: two commands on a fresh machine.
#   make run    create .venv, install, run the whole pipeline on the demo area, print the catalog
#   make test   same install, run the test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
STAMP := $(VENV)/.installed-stamp
CONFIG ?= config/config.yaml
CORES ?= 2
export PATH := $(BIN):$(PATH)

.PHONY: run test install lint clean help

help:
	@echo "make run    - install into .venv and run the demo pipeline (prints where the catalog is)"
	@echo "make test   - install into .venv and run the test suite (unit + end-to-end)"
	@echo "make lint   - snakemake --lint and ruff"
	@echo "make clean  - remove results/ (keeps .venv)"

$(STAMP): pyproject.toml
	@echo ">> creating $(VENV) and installing sporbar (torch==2.13.0 CPU build, from local disk)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --progress-bar off -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	@start=$$(date +%s); \
	echo ">> checking $(CONFIG)"; \
	sporbar check-config $(CONFIG) && \
	echo ">> running the pipeline (snakemake, $(CORES) cores); logs in results/logs/" && \
	snakemake --cores $(CORES) --configfile $(CONFIG) --printshellcmds --show-failed-logs && \
	sporbar summary -c $(CONFIG) --started $$start

test: install
	@set +e; pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "WARNING: pytest collected NO tests (exit 5)"; exit 0; fi; \
	exit $$rc

lint: install
	snakemake --lint
	$(BIN)/pip install --quiet ruff && ruff check src tests

clean:
	rm -rf results .snakemake
