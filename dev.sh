#!/usr/bin/env bash
# Sluice developer entry point: `./dev.sh serve` runs the broker, `./dev.sh test` runs every test,
# `./dev.sh deps` only installs what the build needs. All three install what a fresh Debian
# machine with only a Rust toolchain lacks (RocksDB's build needs libclang for bindgen, the
# openssl crate needs OpenSSL's headers).
set -euo pipefail
cd "$(dirname "$0")"

ensure_build_deps() {
  local missing=()
  # scripts/find-libclang looks for the file bindgen loads (libclang.so or libclang-<N>.so), not
  # any file starting with "libclang": a fresh machine's libclang-cpp.so.14 is not enough.
  if ! scripts/find-libclang >/dev/null; then
    echo "dev.sh: libclang is missing (RocksDB's Rust binding runs bindgen, which needs it)" >&2
    missing+=(clang libclang-dev)
  fi
  # The openssl crate (SNS message signatures) links the system's libssl and finds its headers
  # with pkg-config; the runtime library alone (libssl3) is not enough.
  if ! command -v pkg-config >/dev/null || ! pkg-config --exists openssl; then
    echo "dev.sh: OpenSSL's headers or pkg-config are missing (the openssl crate builds against them)" >&2
    missing+=(pkg-config libssl-dev)
  fi
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "dev.sh: installing ${missing[*]}" >&2
    local sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    if ! scripts/find-libclang >/dev/null; then
      echo "dev.sh: libclang is still missing after installing libclang-dev; set LIBCLANG_PATH to its folder" >&2
      exit 1
    fi
    if ! pkg-config --exists openssl; then
      echo "dev.sh: pkg-config still does not find openssl after installing libssl-dev; set OPENSSL_DIR" >&2
      exit 1
    fi
  fi
}

# Runs a build command and says every minute that it is still going: RocksDB's C++ build is one
# cargo step that prints nothing for 15 to 25 minutes on 2 cores the first time.
with_progress() {
  local started
  started="$(date +%s)"
  (
    while sleep 60; do
      echo "dev.sh: still building, $((($(date +%s) - started) / 60)) min so far (the first build compiles RocksDB's C++: 15 to 25 min on 2 cores; later builds reuse it)" >&2
    done
  ) &
  local ticker=$!
  local status=0
  "$@" || status=$?
  kill "$ticker" 2>/dev/null || true
  wait "$ticker" 2>/dev/null || true
  return "$status"
}

cmd="${1:-help}"
shift || true
case "$cmd" in
  deps)
    ensure_build_deps
    echo "dev.sh: build dependencies present (libclang: $(scripts/find-libclang))" >&2
    ;;
  serve)
    ensure_build_deps
    with_progress cargo build --release -p sluice-server
    exec "${CARGO_TARGET_DIR:-target}/release/sluice" serve "$@"
    ;;
  test)
    ensure_build_deps
    # One invocation for everything: cargo builds the `sluice` and `sluice-load` binaries before
    # any test runs (their packages have integration tests), and a single package selection keeps
    # build-dependency features stable, so RocksDB's C++ build is not redone.
    # Style first, as CONTRIBUTING.md asks of every change: formatting, then clippy with
    # warnings as errors (it shares the test build's compiled dependencies).
    # A minimal toolchain may lack either component: then say so and go on to the tests.
    if cargo fmt --version >/dev/null 2>&1; then
      cargo fmt --all --check
    else
      echo "dev.sh: rustfmt is not installed (rustup component add rustfmt); skipping the format check" >&2
    fi
    if cargo clippy --version >/dev/null 2>&1; then
      with_progress cargo clippy --workspace --all-targets --quiet -- -D warnings
    else
      echo "dev.sh: clippy is not installed (rustup component add clippy); skipping lints" >&2
    fi
    with_progress cargo test --workspace --no-run "$@"
    cargo test --workspace "$@"
    # Then the deployment files (Dockerfile, kustomize, Helm chart, alerts, dashboard), offline;
    # it installs its pinned tools into ~/.cache/sluice-deploy-tools on first use.
    deploy/validate
    # Then a short coverage-guided fuzz run of every client-facing decoder (cargo-fuzz).
    fuzz/run "${SLUICE_FUZZ_SECONDS:-10}"
    ;;
  *)
    echo "usage: ./dev.sh serve [sluice serve flags...] | ./dev.sh test [cargo test args...] | ./dev.sh deps" >&2
    exit 2
    ;;
esac
