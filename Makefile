# Two commands for a newcomer: `make main` (the main job) and `make test` (every test).
# Both set everything up first: a virtual environment in .venv, all Python dependencies
# (PoCL's CPU OpenCL driver included, from PyPI) and the Rust extension built from source.

PY := .venv/bin/python
STAMP := .venv/.stamp-setup
RUST_SOURCES := $(shell find sidecar_rs/src -name '*.rs' 2>/dev/null) sidecar_rs/Cargo.toml

.PHONY: setup main test test-rust test-python gate lint bench rebuild clean

setup: $(STAMP)

$(STAMP): pyproject.toml $(RUST_SOURCES) scripts/setup.sh
	bash scripts/setup.sh
	@touch $(STAMP)

## The main job: a shadowed T2 search on PoCL's CPU device, then a review of its divergence log.
main: setup
	bash scripts/main.sh

## Every test: Rust unit tests, the Python suite on both backends, then the CI gate.
test: setup
	bash scripts/test.sh

test-rust:
	cargo test --manifest-path sidecar_rs/Cargo.toml

test-python: setup
	$(PY) -m pytest

## Rebuild the extension after a Rust change (release build, installed in place).
rebuild:
	.venv/bin/maturin develop --release --skip-install
	@touch $(STAMP)

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	cargo fmt --manifest-path sidecar_rs/Cargo.toml --check
	cargo clippy --manifest-path sidecar_rs/Cargo.toml --all-targets -- -D warnings
	cargo clippy --manifest-path sidecar_rs/Cargo.toml --all-targets --features python -- -D warnings

bench: setup
	$(PY) bench/bench_backends.py
	$(PY) bench/bench_dispatcher.py
	$(PY) bench/bench_fuzz.py

clean:
	rm -rf .venv sidecar_rs/target t2_sidecar/*.so
