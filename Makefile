# cuzarr — the two set-up commands are `make demo` and `make test`; both bootstrap what is missing.
VENV    := .venv
PY      := $(VENV)/bin/python
BUILD   := build/py
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
PYTEST_ARGS ?=

export CMAKE_BUILD_PARALLEL_LEVEL := $(JOBS)

.PHONY: all bootstrap build test test-cpp test-python demo clean

all: build

bootstrap:
	scripts/bootstrap

# One CMake tree (build/py) serves the wheel (extension + CLI) and the C++ tests.
build: bootstrap
	$(PY) -m pip install --quiet --no-build-isolation --no-deps \
	  -Cbuild-dir=$(BUILD) -Ccmake.define.CUZARR_BUILD_TESTS=ON .
	@$(VENV)/bin/cuzarr --version

test-cpp: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

test-python: build
	$(PY) -m pytest -q $(PYTEST_ARGS) tests/python

test: build
	@status=0; \
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) || status=1; \
	$(PY) -m pytest -q $(PYTEST_ARGS) tests/python || status=1; \
	exit $$status

demo: build
	$(PY) examples/quickstart.py

clean:
	rm -rf build demo-data
