#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz/, clang + ASan + UBSan, in build-fuzz/) and runs each
# for SECONDS (default 20) on a seed corpus made from the project's own fixtures.
#
#   ./scripts/fuzz.sh            # CI budget: 20 s per harness (called by scripts/test.sh)
#   ./scripts/fuzz.sh 600        # the long run (numbers in README.md, "Hardening")
#   FUZZ_ONLY="npy csv" ./scripts/fuzz.sh 60
#
# Corpora grow in build-fuzz/corpus/<harness>/ across runs; a crash, sanitizer report,
# hang (> 10 s) or blow-up (> 2 GiB) leaves its input in build-fuzz/artifacts/ and makes
# the script fail. Skips (exit 0) when clang or libFuzzer is not installed.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-20}
HARNESSES=${FUZZ_ONLY:-"onnx keras_json keras_h5 keras3 config xgboost tmva npy csv serve_request serve_config"}
B=build-fuzz

if ! command -v clang++ >/dev/null ||
   ! echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' |
     clang++ -x c++ -fsanitize=fuzzer,address,undefined -o /tmp/tachyon-fuzz-probe.$$ - 2>/dev/null; then
  echo "fuzz: skipped (clang with libFuzzer not available; scripts/setup.sh installs it)"
  exit 0
fi
rm -f /tmp/tachyon-fuzz-probe.$$

CC=clang CXX=clang++ cmake -S . -B $B -DCMAKE_BUILD_TYPE=Release -DTACHYON_FUZZ=ON >/dev/null
# Only the harnesses and what they link (the core, the serve protocol): not the CLI,
# the backends or the server, which the sanitised build does not need.
cmake --build $B -j"$(nproc)" --target $(for h in $HARNESSES; do printf 'fuzz_%s ' "$h"; done) >/dev/null

# Seeds: the project's own fixtures (trained and exported by its scripts).
F=$B/fixtures
[ -f $F/nn_fixtures.stamp ] || /usr/bin/python3 scripts/make_fixtures.py $F >/dev/null
[ -f $F/tmva_known.xml ] || /usr/bin/python3 scripts/make_tree_fixtures.py $F >/dev/null
[ -f $F/keras3_fixtures.stamp ] || /usr/bin/python3 scripts/make_keras3_fixtures.py $F >/dev/null 2>&1
C=$B/corpus
mkdir -p $B/artifacts
for h in $HARNESSES; do mkdir -p $C/$h; done
seed() { local h=$1; shift; for f in "$@"; do [ -e "$f" ] && cp -n "$f" $C/$h/ || true; done; }
seed onnx $F/*.onnx
seed keras_json $F/keras_dense.json
seed keras_h5 $F/keras_dense_full.h5
seed keras3 $F/keras3/keras_dense.keras
seed config examples/*.yml bench/*.yml
printf 'InputPrecision: ap_fixed<12,4>\nThresholdPrecision: ap_fixed<18,8>\nScorePrecision: ap_fixed<18,8>\nProjectName: bdt\n' > $C/config/trees.yml
seed xgboost $F/xgb_small4.json
printf '{"format":"tachyon-trees","version":1,"n_features":2,"n_classes":2,"comparison":"<=","base_score":[0.5,0],"trees":[{"class":1,"feature":[1,-1,-1],"threshold":[0.25,0,0],"left":[1,-1,-1],"right":[2,-1,-1],"value":[0,1.5,-2]}]}\n' > $C/xgboost/tachyon_trees.json
seed tmva $F/tmva_known.xml
# tachyon serve: inference bodies (first byte: binary flag, then a 16-bit header length)
# and Triton model configurations.
printf '\x00\x00\x00{"id":"a","inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","data":[[1,2],[3,4]]}],"outputs":[{"name":"y","parameters":{"binary_data":true}}]}' > $C/serve_request/json
printf '\x01\x5e\x00{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP64","parameters":{"binary_data_size":16}}]}0123456789abcdef' > $C/serve_request/binary
printf '\x00\x00\x00{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","parameters":{"shared_memory_region":"r","shared_memory_byte_size":8,"shared_memory_offset":4}}],"outputs":[{"name":"y","parameters":{"shared_memory_region":"o","shared_memory_byte_size":8,"classification":2}}]}' > $C/serve_request/shm
printf 'name: "m"\nplatform: "onnxruntime_onnx"\nmax_batch_size: 8\ninput [{ name: "x" data_type: TYPE_FP32 dims: [16] allow_ragged_batch: true }]\ndynamic_batching { preferred_batch_size: [4, 8] max_queue_delay_microseconds: 100 default_queue_policy { max_queue_size: 4 default_timeout_microseconds: 10 } }\ninstance_group [{ count: 2 kind: KIND_CPU }]\nversion_policy { specific { versions: [1, 3] } }\nparameters { key: "mode" value { string_value: "float" } }\noptimization { execution_accelerators { gpu_execution_accelerator: [{ name: "tensorrt" }] } }\n' > $C/serve_config/full.pbtxt
/usr/bin/python3 - "$C" <<'PY'
import sys, numpy as np
c = sys.argv[1]
for name, a in {"f8_2d": np.arange(12, dtype="<f8").reshape(3, 4), "f4_1d": np.arange(5, dtype="<f4"),
                "i4_2d": np.arange(6, dtype="<i4").reshape(2, 3), "i8_0d": np.array(7, dtype="<i8")}.items():
    np.save(f"{c}/npy/{name}.npy", a)
open(f"{c}/csv/a.csv", "w").write("# x,y\n1,2.5,-3e-2\n4,5,6\n")
open(f"{c}/csv/b.csv", "w").write("0.1;0.2\n0.3;nan\n")
PY

# The first stack frame of a crash report outside libc and the sanitizer runtime.
crash_site() {
  grep -E '^    #[0-9]+ ' "$1" | grep -v -E 'libc\.so|interceptor|asan_|ubsan_|sanitizer_common|/libc/|string/|memcpy|memmove|strlen' | head -1
}

failed=0
printf '%-11s %12s %8s  %s\n' harness executions exec/s result
for h in $HARNESSES; do
  log=$B/artifacts/$h.log
  env_opts="TACHYON_FUZZ_WEIGHTS=$F/keras_dense_weights.h5"
  asan=detect_leaks=0
  extra=()
  if [ $h = keras_h5 ] || [ $h = keras3 ]; then
    # libhdf5 1.10.8 itself crashes on some corrupt files (the CLI reads H5 in a child
    # process for that reason, util/CrashIsolation.h). Fork mode keeps fuzzing past those
    # crashes; each one is then replayed below and must crash inside libhdf5, not Tachyon.
    asan="$asan:suppressions=fuzz/hdf5.supp:allocator_may_return_null=1"
    extra=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
    rm -rf $B/artifacts/$h-run && mkdir -p $B/artifacts/$h-run
    prefix=$B/artifacts/$h-run/
  else
    prefix=$B/artifacts/$h-
  fi
  set +e
  env $env_opts ASAN_OPTIONS=$asan \
    $B/fuzz_$h $C/$h "${extra[@]}" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix=$prefix >"$log" 2>&1
  rc=$?
  set -e
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  if [ -z "$runs" ]; then  # fork mode: the last status line "#N: ... exec/s R ..."
    runs=$(grep -o '^#[0-9]*:' "$log" | tail -1 | tr -d '#:' || true)
    rate=$(grep -o 'exec/s [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
  fi
  result=ok
  if [ $h = keras_h5 ] || [ $h = keras3 ]; then
    ext=.h5; [ $h = keras3 ] && ext=.keras
    # Every sanitizer report in the log must point into libhdf5 (its first frame outside
    # libc and the sanitizer runtime); replaying one input alone may not crash, since
    # libhdf5 keeps state across files in one process.
    reports=$(grep -c 'ERROR: AddressSanitizer\|runtime error:' "$log" || true)
    ours=$(awk '/ERROR: AddressSanitizer|runtime error:/ {want = 1; next}
                want && /^    #[0-9]+ / && !/libc\.so|interceptor|asan_|ubsan_|sanitizer_common|\/libc\/|string\/|memcpy|memmove|strlen/ {
                  if ($0 !~ /libhdf5/) print; want = 0 }' "$log" | head -5)
    if [ -n "$ours" ]; then
      result="FAILED: a crash outside libhdf5 (see $log): $ours"; failed=1
    else
      result="ok ($reports crashes inside libhdf5, each an error in the CLI)"
      # The CLI (normal build, when built) must not crash on any of the inputs.
      if [ -x build/tachyon ]; then
        for a in $B/artifacts/$h-run/crash-* $B/artifacts/$h-run/oom-* $B/artifacts/$h-run/timeout-*; do
          [ -e "$a" ] || continue
          case "$a" in *.h5|*.keras|*.cli|*.report) continue ;; esac
          cp "$a" "$a$ext"
          set +e; build/tachyon info "$a$ext" >"$a.cli" 2>&1; st=$?; set -e
          if [ $st -gt 1 ] || { [ $st -eq 1 ] && ! grep -q '^tachyon: error: ' "$a.cli"; }; then
            result="FAILED: the CLI did not handle $a$ext (status $st), see $a.cli"; failed=1; break
          fi
        done
      fi
    fi
  elif [ $rc -ne 0 ]; then
    result="FAILED (see $log)"; failed=1
  fi
  printf '%-11s %12s %8s  %s\n' "$h" "${runs:-?}" "${rate:-?}" "$result"
done
exit $failed
