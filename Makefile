# cuzarr — the two set-up commands are `make demo` and `make test`; both bootstrap what is missing.
VENV    := .venv
PY      := $(VENV)/bin/python
BUILD   := build/py
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
PYTEST_ARGS ?=

export CMAKE_BUILD_PARALLEL_LEVEL := $(JOBS)

.PHONY: all bootstrap build build-tests test test-cpp test-python test-gpu test-asan test-xarray-suite fuzz bench demo clean \
        wheel sdist test-wheel test-wheel-gpu

# The GPU suite uses this Python: the project's .venv where it exists, else python3 (the GPU
# machine's own environment, with wheels for what it lacks).
GPU_PY ?= $(if $(wildcard $(VENV)/bin/python),$(VENV)/bin/python,python3)

all: build

bootstrap:
	scripts/bootstrap

# One CMake tree (build/py) serves the wheel (extension + CLI) and the C++ tests. `make` and
# `make demo` leave the tests out (faster on a fresh machine); the test targets add them to the
# same tree, so nothing is compiled twice.
BUILD_TESTS ?= OFF
build: bootstrap
	@echo "build: compiling cuzarr (library, Python extension, cuzarr command) in $(BUILD) and installing it into $(VENV); several minutes the first time, seconds after"
	$(PY) -m pip install --quiet --no-build-isolation --no-deps \
	  -Cbuild-dir=$(BUILD) -Ccmake.define.CUZARR_BUILD_TESTS=$(BUILD_TESTS) .
	@$(VENV)/bin/cuzarr --version

build-tests:
	$(MAKE) build BUILD_TESTS=ON

test-cpp: build-tests
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

test-python: build-tests
	$(PY) -m pytest -q $(PYTEST_ARGS) tests/python

test: build-tests
	@status=0; \
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) || status=1; \
	$(PY) -m pytest -q $(PYTEST_ARGS) tests/python || status=1; \
	exit $$status

# Builds with CUDA (and the C++ tests: GoogleTest is needed) and runs the GPU decompression
# tests under compute-sanitizer memcheck, then the Python tests marked `gpu`; on a machine without
# a GPU it skips cleanly.
SANITIZER ?= $(shell command -v compute-sanitizer 2>/dev/null || echo /usr/local/cuda/bin/compute-sanitizer)
test-gpu:
	@if ! nvidia-smi -L >/dev/null 2>&1; then echo "test-gpu: no GPU on this machine, skipping"; exit 0; fi; \
	set -e; \
	$(GPU_PY) -m pip install --quiet --no-build-isolation --no-deps \
	  -Cbuild-dir=build/gpu -Ccmake.define.CUZARR_CUDA=ON -Ccmake.define.CUZARR_BUILD_TESTS=ON . ; \
	$(SANITIZER) --tool memcheck --error-exitcode 1 --print-limit 20 build/gpu/tests/cpp/gpu_decode_test; \
	$(GPU_PY) -m pytest -q -m gpu -p no:cacheprovider $(PYTEST_ARGS) tests/python

# xarray's own zarr backend tests with every read through engine="cuzarr" (docs/xarray.md); also
# one test of `make test` (tests/python/test_xarray_suite.py). 2-3 minutes on 2 cores.
test-xarray-suite: build
	$(PY) tests/python/xarray_suite/run_suite.py

# The self-contained wheel (docs/packaging.md): CUDA on (sm_80, sm_90, PTX), the libraries it links
# bundled by auditwheel, a manylinux tag; leaves exactly one cuzarr wheel in dist/. PYTHON picks the
# Python it is for (e.g. make wheel PYTHON=/root/.pyenv/versions/3.12.1/bin/python3 for cp312);
# each Python has its own build environment and CMake tree under build/wheel/cpXY.
PYTHON ?= python3
wheel:
	PYTHON=$(PYTHON) scripts/build-wheel

sdist:
	PYTHON=$(PYTHON) scripts/build-wheel --sdist

# Installs dist/'s wheel (or WHEEL=...) into a fresh venv made with PYTHON and reads every
# conformance store over file, zip and HTTP there, then the xarray backend (tests/python/test_wheel.py).
WHEEL ?= $(firstword $(wildcard dist/cuzarr-*.whl))
test-wheel: bootstrap
	@test -n "$(WHEEL)" || { echo "test-wheel: no wheel in dist/ (make wheel first, or WHEEL=...)"; exit 1; }
	CUZARR_WHEEL=$(WHEEL) CUZARR_WHEEL_PYTHON=$(PYTHON) \
	  $(PY) -m pytest -q -m wheel -p no:cacheprovider $(PYTEST_ARGS) tests/python/test_wheel.py

# On a GPU machine, no compiler: installs WHEEL into a fresh venv that sees the system's CuPy and
# runs the GPU tests against it (scripts/test-wheel-gpu).
test-wheel-gpu:
	@test -n "$(WHEEL)" || { echo "test-wheel-gpu: no wheel in dist/ (WHEEL=...)"; exit 1; }
	scripts/test-wheel-gpu $(WHEEL)

# Reliability harness (docs/reliability.md): the C++ and Python tests against a build with
# AddressSanitizer + UndefinedBehaviorSanitizer (clang 14, build/asan; .venv is left alone).
test-asan: bootstrap
	JOBS=$(JOBS) scripts/test-asan

# libFuzzer targets of tests/fuzz (build/fuzz), seeded from real stores, FUZZ_SECONDS each.
FUZZ_SECONDS ?= 60
fuzz: bootstrap
	JOBS=$(JOBS) FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz

# The benchmark harness (bench/, docs/benchmarks.md): writes its datasets once into BENCH_DIR, then
# times cuzarr, tensorstore, zarr-python and xarray on them (on the GPU when there is one) and
# prints Markdown tables; options through BENCH_ARGS, e.g. BENCH_ARGS="--size 1G --json out.json".
BENCH_DIR ?= build/bench-data
BENCH_ARGS ?=
BENCH_PY ?= $(PY)
bench: build
	$(BENCH_PY) -m bench --dir $(BENCH_DIR) $(BENCH_ARGS)

# The climate demo (examples/climate_demo.py, docs/demo.md): writes its Zarr stores into demo-data/
# once, reads them with cuzarr -- on the GPU when there is one -- and with zarr, prints the timings
# and leaves demo-data/climate_demo.png. On a GPU machine it first adds CuPy when it is missing.
# Options go through DEMO_ARGS, e.g. make demo DEMO_ARGS="--size 1G".
DEMO_ARGS ?=
demo: build
	@if nvidia-smi -L >/dev/null 2>&1 && ! $(PY) -c "import cupy" 2>/dev/null; then \
	  scripts/bootstrap --no-apt --cuda || echo "demo: could not install CuPy, so the demo runs on the CPU"; \
	fi
	@echo "demo: running examples/climate_demo.py (writes its stores into demo-data/ the first time, then reads them and draws demo-data/climate_demo.png)"
	$(PY) examples/climate_demo.py $(DEMO_ARGS)

clean:
	rm -rf build demo-data dist
