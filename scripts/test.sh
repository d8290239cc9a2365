#!/usr/bin/env bash
# Set-up, build and run every test (ctest). Tests that need ../shared skip without it.
# Then every fuzz harness for a short fixed budget (FUZZ_SECONDS, default 20 s each), so
# that a parser regression is caught; skipped when clang/libFuzzer is not installed.
#   --long   also the long tests (tests/support/long_tests.h: minutes each, big designs
#            through Verilator, Yosys, place and route), which the default run and CI skip.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--long" ]; then
    export TACHYON_LONG_TESTS=1
elif [ -n "${1:-}" ]; then
    echo "usage: $0 [--long]" >&2
    exit 2
fi
./scripts/build.sh
(cd build && ctest --output-on-failure -j"$(nproc)" --timeout 1500)
./scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
