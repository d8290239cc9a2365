#!/usr/bin/env bash
# Set-up, build and run every test (ctest). Tests that need ../shared skip without it.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
cd build
ctest --output-on-failure -j"$(nproc)" --timeout 1500
