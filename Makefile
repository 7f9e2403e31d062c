# auth-anomaly — `make demo` runs the main job on bundled data, `make test` runs every test.
# Both install what they need first (scripts/setup.sh: Rust targets, wasm-pack, wasm-bindgen-cli,
# npm packages, and Debian's Chromium for browser tests).

SHELL := /bin/bash
export PATH := $(CURDIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
export CHROMEDRIVER ?= /usr/bin/chromedriver
WASM_PACK := wasm-pack
NODE_PKG := pkg/node/auth_anomaly_bg.wasm
WEB_PKG := www/pkg/auth_anomaly_bg.wasm
CORE_SRC := $(shell find src -name '*.rs') Cargo.toml Cargo.lock pkg.json $(wildcard types/*.d.ts)

# `make eval`: detection quality on simulated organisations (writes EVALUATION.md).
.PHONY: deny eval all setup setup-browser build build-node build-web build-hosts demo serve test test-rust test-wasm test-node test-browser test-hosts lint bench clean

all: build

setup:
	@scripts/setup.sh

setup-browser:
	@scripts/setup.sh --browser

build: setup build-node build-web build-hosts
	cargo build --release --workspace

# Each host adapter builds and tests itself: hosts/<host>/build.sh and hosts/<host>/test.sh.
build-hosts:
	@for f in hosts/*/build.sh; do [ -f "$$f" ] || continue; echo "== $$f"; bash "$$f" || exit 1; done

build-node: $(NODE_PKG)
build-web: $(WEB_PKG)

# The JS packages (Node, browsers) are built with WebAssembly SIMD (simd128): memchr's line and
# quote searches and LLVM's vectorised loops use it, ~10 % fewer instructions per event in Node
# (BENCHMARKS.md). Every engine the packages target has it (Node ≥ 16.4, Chrome/Edge ≥ 91,
# Firefox ≥ 89, Safari ≥ 16.4). Only these two packages: the Fluent Bit adapter, also
# wasm32-unknown-unknown, runs in WAMR, whose interpreter has no SIMD.
JS_WASM_FLAGS := CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128"

$(NODE_PKG): $(CORE_SRC)
	$(JS_WASM_FLAGS) $(WASM_PACK) build --release --target nodejs --out-dir pkg/node --out-name auth_anomaly --no-pack -- --features js
	cp types/auth_anomaly.d.ts pkg/node/auth_anomaly.d.ts

$(WEB_PKG): $(CORE_SRC)
	$(JS_WASM_FLAGS) $(WASM_PACK) build --release --target web --out-dir www/pkg --out-name auth_anomaly --no-pack -- --features js
	cat types/auth_anomaly.d.ts types/web-init.d.ts > www/pkg/auth_anomaly.d.ts

demo: setup build-node
	node hosts/node/cli.mjs detect --pretty demo/org-demo.ndjson

test: setup-browser build-node build-web test-rust test-wasm test-node test-browser test-hosts lint deny
	@echo "make test: all suites passed"

test-rust:
	cargo test --workspace
	# Allocation counts hold for optimised builds only (debug builds cross-check each skipped
	# assessment, which allocates).
	cargo test --release --test allocation_free

test-wasm:
	$(JS_WASM_FLAGS) $(WASM_PACK) test --node -- --features js --test wasm_api
	$(JS_WASM_FLAGS) $(WASM_PACK) test --headless --chrome -- --features browser-tests --test wasm_api

test-node: build-node
	node --test --test-concurrency=2 hosts/node/test/ tests/js/


test-browser: build-web build-node
	@if [ -d www/test ]; then node --test www/test/; fi

test-hosts: build-hosts
	@for f in hosts/*/test.sh; do [ -f "$$f" ] || continue; echo "== $$f"; bash "$$f" || exit 1; done

serve: build-web
	node www/serve.mjs

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy --features js --target wasm32-unknown-unknown --lib --test wasm_api -- -D warnings

# Licences (allow-list), bans and sources (crates.io only) of the workspace and of each standalone
# host crate, by deny.toml. Not advisories: the RustSec database would need the network.
DENY_MANIFESTS := Cargo.toml $(wildcard hosts/*/Cargo.toml)
deny:
	@for m in $(DENY_MANIFESTS); do \
		echo "== cargo deny: $$m"; \
		cargo deny --manifest-path $$m --config $(CURDIR)/deny.toml --locked --all-features --workspace check -s licenses bans sources || exit 1; \
	done

eval:
	cargo run --release -p auth-anomaly-eval -- --out EVALUATION.md

bench: setup-browser build-node build-web
	cargo bench --bench throughput
	node benches/node_bench.mjs
	node benches/browser_bench.mjs
	node benches/cli_memory.mjs --events 1000000

clean:
	cargo clean
	rm -rf pkg www/pkg
