#!/usr/bin/env bash
# ctest hls_real_headers (opt-in): every HLS project of the csim test suites compiled against
# Xilinx's own ap_int.h/ap_fixed.h (HLS_arbitrary_Precision_Types' include/, named by
# $XILINX_AP_INCLUDE) instead of the bundled headers, each required bit-exact with the
# emulator. Exits 77 (ctest: skipped) when the headers are not there.
# Usage: run.sh <tachyon_tests binary>
set -euo pipefail
tests_binary="$1"
headers="${XILINX_AP_INCLUDE:-}"
if [ -z "$headers" ] || [ ! -f "$headers/ap_fixed.h" ] || [ ! -f "$headers/ap_int.h" ]; then
    echo "skipped: set XILINX_AP_INCLUDE to the include/ folder of Xilinx's HLS_arbitrary_Precision_Types"
    exit 77
fi
here="$(cd "$(dirname "$0")" && pwd)"
record="$(mktemp -d)"
trap 'rm -rf "$record"' EXIT

# The csim test suites: every test that C-simulates a generated project (the other tests of
# these suites read generated code only and cost little).
suites="HlsProject.*:HlsCnn.*:HlsMultiInput.*:HlsRnn.*:HlsAttention.*:Softmax.*Csim*:Softmax.TachyonSoftmax*"
suites+=":TreeLayerHls.*:TreesBackends.HlsCsim*:GarNetHls.*:ReducePow.HlsCsim*:BinaryMac.*Csim*"
# A narrower gtest filter for a quick look (the whole set takes long: the real headers
# compile several times slower than the bundled constexpr ones).
suites="${HLS_REAL_HEADERS_FILTER:-$suites}"

export TACHYON_AP_INCLUDE="$(cd "$headers" && pwd)"
export RECORD_REAL_CXX="${CXX:-g++}" RECORD_FILE="$record/compiles.txt"
export CXX="$here/record_cxx.sh"
start=$(date +%s)
"$tests_binary" --gtest_filter="$suites" --gtest_brief=1
end=$(date +%s)

[ -s "$RECORD_FILE" ] || { echo "FAIL: no testbench was compiled"; exit 1; }
if grep -q ' BUNDLED$' "$RECORD_FILE"; then
    echo "FAIL: compiled against the bundled ap_* headers, not $TACHYON_AP_INCLUDE:"
    grep ' BUNDLED$' "$RECORD_FILE"
    exit 1
fi
# gtest above required 0 mismatches for each; summarise what was compared.
awk -v dir="$TACHYON_AP_INCLUDE" -v wall=$((end - start)) '
    { projects++; rows += $2; seconds += $3 }
    END { printf "hls_real_headers: %d projects, %d testbench rows, 0 mismatches against the emulator, " \
                 "%.0f s of g++ (%d s wall) with the ap_* headers of %s\n", projects, rows, seconds, wall, dir }' \
    "$RECORD_FILE"
