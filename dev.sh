#!/usr/bin/env bash
# Sluice developer entry point: `./dev.sh serve` runs the broker, `./dev.sh test` runs every test.
# Both install what a fresh Debian machine with only a Rust toolchain lacks (RocksDB's build
# needs clang and libclang for bindgen).
set -euo pipefail
cd "$(dirname "$0")"

ensure_build_deps() {
  if ! ldconfig -p 2>/dev/null | grep -q 'libclang' && ! ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1; then
    echo "dev.sh: installing clang and libclang-dev (needed to build RocksDB)" >&2
    local sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq clang libclang-dev >/dev/null
  fi
}

cmd="${1:-help}"
shift || true
case "$cmd" in
  serve)
    ensure_build_deps
    cargo build --release -p sluice-server
    exec "${CARGO_TARGET_DIR:-target}/release/sluice" serve "$@"
    ;;
  test)
    ensure_build_deps
    # One invocation for everything: cargo builds the `sluice` and `sluice-load` binaries before
    # any test runs (their packages have integration tests), and a single package selection keeps
    # build-dependency features stable, so RocksDB's C++ build is not redone.
    cargo test --workspace "$@"
    # Then the deployment files (Dockerfile, kustomize, Helm chart, alerts, dashboard), offline;
    # it installs its pinned tools into ~/.cache/sluice-deploy-tools on first use.
    deploy/validate
    # Then a short coverage-guided fuzz run of every client-facing decoder (cargo-fuzz).
    fuzz/run "${SLUICE_FUZZ_SECONDS:-10}"
    ;;
  *)
    echo "usage: ./dev.sh serve [sluice serve flags...] | ./dev.sh test [cargo test args...]" >&2
    exit 2
    ;;
esac
