#!/usr/bin/env bash
# The compiler `tachyon csim` runs during the hls_real_headers test ($CXX): runs the real
# compiler ($RECORD_REAL_CXX) and appends one line per testbench to $RECORD_FILE:
#   <project folder> <testbench rows> <compile seconds> <real|BUNDLED>
# "real" when the command searched $TACHYON_AP_INCLUDE, so the test can prove that no
# project was compiled against the bundled ap_* headers by mistake.
set -uo pipefail
project="" headers="BUNDLED"
for arg in "$@"; do
    case "$arg" in
        "-I$TACHYON_AP_INCLUDE") headers="real" ;;
        -I*/include) project="${arg#-I}"; project="${project%/include}" ;;
    esac
done
start=$(date +%s.%N)
$RECORD_REAL_CXX "$@"
status=$?
end=$(date +%s.%N)
rows=$(wc -l < "$project/tb_data/input_raw.dat" 2>/dev/null || echo 0)
printf '%s %s %.2f %s\n' "$project" "$rows" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" "$headers" >> "$RECORD_FILE"
exit $status
