#!/usr/bin/env bash
# Set-up, build and run every test (ctest). Tests that need ../shared skip without it.
# Then every fuzz harness for a short fixed budget (FUZZ_SECONDS, default 20 s each), so
# that a parser regression is caught; skipped when clang/libFuzzer is not installed.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
(cd build && ctest --output-on-failure -j"$(nproc)" --timeout 1500)
./scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
