# bookhook: the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export PATH := $(HOME)/.cargo/bin:$(PATH)

# The environment cargo-leptos gives its debug builds. `cargo test` uses the same, so switching
# between building the site and running the tests does not rebuild hundreds of crates.
LEPTOS_ENV_VARS := RUSTFLAGS="--cfg erase_components" LEPTOS_OUTPUT_NAME=bookhook \
	LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg LEPTOS_SITE_ADDR=127.0.0.1:3000 \
	LEPTOS_RELOAD_PORT=3001 LEPTOS_LIB_DIR=. LEPTOS_BIN_DIR=. LEPTOS_JS_MINIFY=false \
	LEPTOS_HASH_FILES=false

.PHONY: acyclic audit fuzz test-fuzz bench-log help run test test-unit test-postgres test-e2e soak build release tools test-tools fmt lint screenshots bench

help:
	@echo "make run    build and start the panel on http://127.0.0.1:3000 (SQLite under ./data/)"
	@echo "make test   every test: the dependency audit, unit, integration (SQLite and PostgreSQL), browser end-to-end"
	@echo "make audit  known advisories and licences of every dependency (offline; ONLINE=1 for the live database)"
	@echo "make lint   cargo fmt --check and cargo clippy"

tools:
	@.ci/tools build

test-tools:
	@.ci/tools test

run: tools
	@echo "==> Building the panel and the server (the first build takes about 5 minutes; later ones seconds)"
	@echo "==> Then serving http://127.0.0.1:3000 (Ctrl-C stops it)"
	@# A release build leaves its own JS/WASM in target/site; the debug server needs its own.
	rm -rf target/site/pkg
	cargo leptos serve

build: tools
	rm -rf target/site/pkg
	cargo leptos build

# Release builds run wasm-opt, taken from the npm package binaryen (Debian's breaks hydration).
release: test-tools
	rm -rf target/site/pkg
	PATH="$(CURDIR)/end2end/node_modules/.bin:$$PATH" cargo leptos build --release

# End-to-end benchmark of webhook delivery against the release build (fresh database, local
# receiver): make bench ARGS="--n 20000 --concurrency 64"   (as fast as the client can)
#            make bench ARGS="--rate 200 --n 4000"           (paced; latency at a steady rate)
# Other flags: --webhooks K (deliveries = n x K), --keep (keep the data dir), --server PATH.
# The bench binary is built like cargo-leptos builds the release server (no RUSTFLAGS, the same
# LEPTOS_OUTPUT_NAME, which leptos_config reads at compile time), so the two share every crate.
bench: release
	LEPTOS_OUTPUT_NAME=bookhook cargo build --release --features ssr --bin bench
	target/release/bench $(ARGS)

test: test-tools acyclic audit test-unit test-postgres test-e2e

# Known advisories, licences, bans and sources of every crate (cargo-deny, rules in deny.toml),
# offline against the RustSec snapshot in ../shared/advisory-db (or /work/shared/advisory-db, for a
# clone elsewhere; ADVISORY_DB=<dir> for another copy); `make audit ONLINE=1` fetches the live database instead (needs github.com). Then the
# licences of the npm packages, which npm audit cannot check offline.
ADVISORY_DB ?= $(firstword $(wildcard ../shared/advisory-db /work/shared/advisory-db) ../shared/advisory-db)
audit:
	@echo "==> Advisories, licences, bans and sources of every crate (cargo-deny)"
	cargo fetch --locked --quiet
ifeq ($(ONLINE),1)
	rm -rf target/advisory-db
	cargo deny --log-level error check
else
	.ci/advisory-snapshot $(ADVISORY_DB) target/advisory-db
	cargo deny --log-level error --offline check
endif
	@echo "==> Licences of the npm packages"
	python3 .ci/npm-licenses.py

# No module of src/ imports a module that imports it. cargo-modules' own --acyclic counts a type
# and its methods as a cycle, so .ci/module-cycles.py folds its graph into modules first.
acyclic:
	@echo "==> Import cycles between the modules of src/ (cargo modules dependencies)"
	set -o pipefail; $(LEPTOS_ENV_VARS) cargo modules dependencies --lib --features ssr \
		--no-externs --no-sysroot | python3 .ci/module-cycles.py

# The integration tests start a real server each, all in one test process; they run one at a
# time, since a panel page's server render has been seen to stall only while other tests' servers
# rendered pages in the same process (open: see the README's Tests section).
test-unit:
	@echo "==> Unit and integration tests (SQLite; the first build takes about 5 minutes)"
	$(LEPTOS_ENV_VARS) cargo test --features ssr -- --test-threads=1

# The fault soak at full size (make test runs a short one): 20,000 transitions, flaky and dead
# receivers, the server killed twice; prints what happened to every message. Then the ground
# giving way FAULT_EPISODES times in a row (make test runs one of each): on SQLite the data
# directory's file system filling up and freed, on PostgreSQL the server stopped for 4 s under
# load and started again.
#   make soak [SOAK_TRANSITIONS=N] [FAULT_EPISODES=N] [SOAK_BACKEND=postgres]
SOAK_TRANSITIONS ?= 20000
FAULT_EPISODES ?= 5
soak:
	$(LEPTOS_ENV_VARS) SOAK_TRANSITIONS=$(SOAK_TRANSITIONS) BOOKHOOK_TEST_BACKEND=$(SOAK_BACKEND) \
		cargo test --features ssr --test api soak -- --nocapture
	$(LEPTOS_ENV_VARS) FAULT_EPISODES=$(FAULT_EPISODES) BOOKHOOK_TEST_BACKEND=$(SOAK_BACKEND) \
		cargo test --features ssr --test api faults:: -- --nocapture

# The same integration suite on PostgreSQL (BOOKHOOK_TEST_POSTGRES_URL, default
# postgres://postgres@127.0.0.1:5432; each test creates a database of its own). A server that
# does not answer fails the run. build.rs compiles the backend in (cfg bookhook_test_postgres), so
# the tests only PostgreSQL can run are ignored in test-unit and run here.
test-postgres:
	@echo "==> Integration tests on PostgreSQL"
	$(LEPTOS_ENV_VARS) BOOKHOOK_TEST_BACKEND=postgres cargo test --features ssr --test api -- --test-threads=1

test-e2e:
	@echo "==> Building the site for the browser tests"
	rm -rf target/site/pkg
	cargo leptos build
	@echo "==> Browser tests (Playwright driving /usr/bin/chromium)"
	cd end2end && npx playwright test

# Refreshes the README's pictures of the panel.
screenshots: build test-tools
	cd end2end && SCREENSHOTS=1 npx playwright test screenshots.spec.ts

fmt:
	cargo fmt --all

# Coverage-guided fuzzing with libFuzzer (the engine cargo fuzz drives, through the same
# libfuzzer-sys crate and the same instrumentation flags, which stable Rust accepts), kept inside
# the one crate: the targets are src/bin/fuzz_*.rs, their checks src/fuzzing.rs, their seed inputs
# tests/fuzz/<target>/. Inputs found are kept in target/fuzz/corpus/, crashes in
# target/fuzz/artifacts/ (the run fails and prints the input).
#   make fuzz [FUZZ_SECONDS=300] [FUZZ_TARGETS="fuzz_search"]
FUZZ_SECONDS ?= 300
FUZZ_TARGETS ?= fuzz_api_body fuzz_search fuzz_webhook_url
# --target keeps the instrumentation off build scripts and proc macros, as cargo fuzz does.
FUZZ_HOST = $(shell rustc -vV | sed -n 's/^host: //p')
FUZZ_RUSTFLAGS := -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
	-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
	-Cllvm-args=-sanitizer-coverage-trace-compares -Cllvm-args=-sanitizer-coverage-stack-depth \
	--cfg fuzzing -Cdebug-assertions -Coverflow-checks
fuzz:
	@echo "==> Building the fuzz targets with libFuzzer's instrumentation (the first build takes 10-30 minutes on 2 cores)"
	RUSTFLAGS="$(FUZZ_RUSTFLAGS)" LEPTOS_OUTPUT_NAME=bookhook CARGO_TARGET_DIR=target/fuzz \
		cargo build --release --target $(FUZZ_HOST) --features fuzz $(addprefix --bin ,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
		s=$${t#fuzz_}; mkdir -p target/fuzz/corpus/$$s target/fuzz/artifacts/$$s; \
		echo "==> $$t for $(FUZZ_SECONDS) s (seeds: tests/fuzz/$$s)"; \
		target/fuzz/$(FUZZ_HOST)/release/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -rss_limit_mb=2048 \
			-timeout=10 -print_final_stats=1 -artifact_prefix=target/fuzz/artifacts/$$s/ \
			target/fuzz/corpus/$$s tests/fuzz/$$s 2>&1 | grep -E "^(#[0-9]+ +DONE|Done|stat::number_of_executed_units|stat::peak_rss|==[0-9]+==|SUMMARY|.*panicked|.*Test unit written)" ; \
		test $${PIPESTATUS[0]} -eq 0 || exit 1; \
	done

lint:
	cargo fmt --all -- --check
	$(LEPTOS_ENV_VARS) cargo clippy --features ssr --all-targets -- -D warnings

# Seeds a fresh database with 250,000 messages and 1,000,000 attempts and times the delivery
# log's queries (first page, deep keyset page, each filter): make bench-log [ARGS="--messages N"]
bench-log:
	cargo build --release --features ssr --bin logbench
	target/release/logbench $(ARGS)
