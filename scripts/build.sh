#!/usr/bin/env bash
# Installs dependencies (scripts/setup.sh) and builds Tachyon into build/.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
