# sporbar: two commands on a fresh machine.
#   make run    create .venv, install, run the whole pipeline on the demo area, print the catalog
#   make test   same install, run the test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
STAMP := $(VENV)/.installed-stamp
# pycsw (the CSW of `sporbar serve --csw`) in a virtualenv of its own: its pins conflict with .venv's
CSW_VENV := .venv-csw
CSW_STAMP := $(CSW_VENV)/.installed-stamp
CONFIG ?= config/config.yaml
CORES ?= 2
export PATH := $(BIN):$(PATH)

.PHONY: run test install lint clean help container container-test container-arm64 container-test-arm64 web serve bench

help:
	@echo "make run    - install into .venv and run the demo pipeline (prints where the catalog is)"
	@echo "make test   - install into .venv and run the test suite (unit + end-to-end)"
	@echo "make lint   - snakemake --lint, ruff, mypy and the import layers (lint-imports)"
	@echo "make container - build the OCI image (podman; cached by input hash)"
	@echo "make container-arm64 - the linux/arm64 image (CUDA torch, Olivia) under qemu: hours when cold"
	@echo "make serve APPROVED_BY=name - approve, then STAC API on pgstac + STAC Browser on http://127.0.0.1:8000/browser/, CSW at /csw"
	@echo "make clean  - remove results/ (keeps .venv)"

$(STAMP): pyproject.toml
	@echo ">> creating $(VENV) and installing sporbar (torch==2.13.0 CPU build, from local disk)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --progress-bar off -e '.[test]'
	@touch $(STAMP)

$(CSW_STAMP): services/csw/requirements.txt
	@echo ">> creating $(CSW_VENV) (pycsw 2.6.2 for the CSW, pinned in services/csw/requirements.txt)"
	$(PYTHON) -m venv $(CSW_VENV)
	$(CSW_VENV)/bin/pip install --quiet --progress-bar off --no-deps -r services/csw/requirements.txt
	$(CSW_VENV)/bin/pip check
	@touch $(CSW_STAMP)

install: $(STAMP) $(CSW_STAMP)

run: install
	@start=$$(date +%s); \
	echo ">> checking $(CONFIG)"; \
	sporbar check-config $(CONFIG) && \
	bash workflow/unlock-stale.sh $(CONFIG) && \
	echo ">> running the pipeline (snakemake, $(CORES) cores); logs in results/logs/" && \
	snakemake --cores $(CORES) --configfile $(CONFIG) --rerun-incomplete --printshellcmds --show-failed-logs && \
	sporbar summary -c $(CONFIG) --started $$start

# Unit, integration (loopback servers, PostgreSQL/pgstac, STAC Browser in Chromium), the real
# local Slurm cluster and end-to-end tests; then the container is built (cached) and tested.
test: install
	@set +e; pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "WARNING: pytest collected NO tests (exit 5)"; rc=0; fi; \
	[ $$rc -eq 0 ] || exit $$rc
	containers/test.sh

container:
	containers/build.sh

container-test:
	containers/test.sh

# linux/arm64 (Olivia's Grace-Hopper nodes) under qemu-user-static: hours for a cold build, so
# never part of `make test`; tests/container/test_arm64_image.py runs only once this is built.
container-arm64:
	ARCH=arm64 containers/build.sh

container-test-arm64:
	ARCH=arm64 containers/test.sh

web:
	bash web/build.sh

# The STAC API is a public target: collections go in only once approved (APPROVED_BY=name
# approves every collection as it is now; without it, `sporbar approve` must have been run).
serve: install web
	eval "$$(services/postgres.sh start)" && \
	if [ -n "$(APPROVED_BY)" ]; then sporbar approve --all --by "$(APPROVED_BY)" -c $(CONFIG); fi && \
	sporbar publish --to pgstac --asset-base-url /data/ -c $(CONFIG) -o results/catalog/catalog.json && \
	sporbar serve --csw

lint: install
	snakemake --lint
	ruff check src tests benchmarks
	mypy src/sporbar
	lint-imports

clean:
	rm -rf results .snakemake
