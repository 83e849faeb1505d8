# Two commands on a fresh machine: `make bench` (the default suite) and `make test` (all tests).
# Each creates .venv if missing and installs the project from its own files.
VENV ?= .venv
PY := $(VENV)/bin/python
ARCH := $(shell uname -m)
# Reproducible pins on x86-64; on a Jetson (aarch64) JetPack's torch is kept (see README).
CONSTRAINTS := $(if $(filter x86_64,$(ARCH)),-c constraints/linux-x86_64.txt,)
# On a Jetson the venv sees JetPack's system torch and torchaudio.
VENV_FLAGS := $(if $(filter aarch64,$(ARCH)),--system-site-packages,)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
STAMP := $(VENV)/.installed-stamp
# uv installs the same pins from the same sources (pip's configured find-links and indexes, every
# index considered as pip does, byte-compiled as pip does) in less time; pip installs them where uv cannot.
PIP_CONFIG = $(shell python3 -m pip config get global.$(1) 2>/dev/null)
UV_SOURCES = $(foreach d,$(sort $(call PIP_CONFIG,find-links) $(PIP_FIND_LINKS)),--find-links $(d)) \
  $(foreach u,$(call PIP_CONFIG,extra-index-url) $(PIP_EXTRA_INDEX_URL),--extra-index-url $(u)) \
  $(foreach u,$(call PIP_CONFIG,index-url) $(PIP_INDEX_URL),--index-url $(u))
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM := false

.PHONY: bench test lint system-deps

$(STAMP): pyproject.toml constraints/linux-x86_64.txt
	test -x $(PY) || python3 -m venv $(VENV_FLAGS) $(VENV)
	$(PY) -m pip install -q --upgrade pip
	{ $(PY) -m pip install -q uv && $(VENV)/bin/uv pip install -q --python $(PY) --native-tls --compile-bytecode \
	    --index-strategy unsafe-best-match $(UV_SOURCES) $(CONSTRAINTS) -e '.[all,dev]'; } || \
	  $(PY) -m pip install -q $(CONSTRAINTS) -e '.[all,dev]'
	touch $@

# Debian tools the tests use for real audio and real pages (installed only when missing).
system-deps:
	@command -v espeak-ng >/dev/null && command -v sox >/dev/null && command -v chromium >/dev/null || \
	  { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng sox chromium >/dev/null; }

bench: $(STAMP)
	$(PY) -m harness run suites/smoke.toml --out reports/runs/smoke

# Tests that assert on measured times run after the rest have run on every core (up to 4): one
# file per core, at most two at once (each times a single-threaded tiny model).
JOBS ?= $(shell n=$$(nproc); echo $$(( n < 4 ? n : 4 )))
TIMING_JOBS := $(shell echo $$(( $(JOBS) < 2 ? $(JOBS) : 2 )))
test: $(STAMP) system-deps
	$(PY) -m pytest -n $(JOBS) --dist worksteal -m "not timing"; rest=$$?; \
	  $(PY) -m pytest -n $(TIMING_JOBS) --dist loadfile -m timing; timing=$$?; \
	  [ $$rest = 0 ] && [ $$timing = 0 ]

lint: $(STAMP)
	$(VENV)/bin/ruff check harness tests suites conftest.py
	$(VENV)/bin/mypy
