# The few targets people expect. `make install` for an editable dev install in the active environment.
.PHONY: install test test-rust test-python bench lint fmt wheel gpu-bundle ci

install:
	pip install -e ".[dev]"

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
