#!/usr/bin/env bash
# Benchmark of `tachyon serve` with `tachyon perf` (not a test): the jet tagger
# (KERAS_3layer, 16-64-32-32-5) and a small CNN (conv2d_small_keras, 8x8x1 -> 10) from the
# shared model zoo, over gRPC and HTTP, batch 1..1024, concurrency 1..64, against the
# in-process emulator (bench/bench_serve_inprocess.cpp: api::Model::predict, the call the
# server makes, same bit-exact fixed point) on the same machine.
#
#   cmake --build build --target tachyon bench_serve_inprocess
#   bench/serve_bench.sh [BUILD_DIR] [SECONDS_PER_LEVEL]     # writes BUILD_DIR/serve_bench/
#   SWEEP=0 bench/serve_bench.sh ...    # only the side-by-side ratio table (ratio.txt)
#
# The ratio table (issue #22's target: at concurrency 16, server >= 70% of in-process):
# for each batch size, in-process (2 threads) and then the server at concurrency 16 over
# gRPC and HTTP, back to back, each as rows per wall second and rows per CPU second
# (server + load generator; from /proc and /usr/bin/time). On a machine shared with other
# jobs the wall ratio depends on who got the cores when, the CPU ratio much less.
#
# Client and server share the machine's cores: on a 2-core machine perf's client threads
# take CPU from the server, so these are conservative numbers for the server.
#
#   BASELINE=old/tachyon bench/serve_bench.sh ...   # the ratio table also for another build
#                                   # of the server (started beside the current one), each
#                                   # point run back to back with it: paired before/after
#   REPS=N bench/serve_bench.sh ... # the ratio table N times (paired runs; take the median)
#
#   RT=1 bench/serve_bench.sh ...   # everything under chrt -f 20 (root): on a machine other
#                                   # jobs load, the measured processes get the cores first,
#                                   # so tail latencies are the server's, not the scheduler's
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
SECS=${2:-1}
MODELS=${MODELS:-"jet cnn"}   # which of the two to run
SWEEP=${SWEEP:-1}             # 0: skip the full concurrency x batch sweep
BATCHES=${BATCHES:-"1 16 256 1024"}   # batch sizes of the ratio table
RUN=""; [ "${RT:-0}" = 1 ] && RUN="chrt -f 20"   # real-time priority for every measured process
T=$B/tachyon
Z=../shared/models
OUT=$B/serve_bench
mkdir -p "$OUT"
tmp=$(mktemp -d)
trap 'kill ${pid_new:-} ${pid_old:-} 2>/dev/null || true; rm -rf "$tmp"' EXIT

repo=$tmp/repo
mkdir -p $repo/jet/1 $repo/cnn/1
cp $Z/keras/KERAS_3layer.json $repo/jet/1/model.json
cp $Z/keras/KERAS_3layer_weights.h5 $repo/jet/1/model_weights.h5
cp $Z/onnx/conv2d_small_keras.onnx $repo/cnn/1/model.onnx
for m in $MODELS; do
  # Delay 0: a batch is whatever is queued when an instance is free (merging under load,
  # no added latency when idle); two instances for two cores.
  printf 'max_batch_size: 1024\ndynamic_batching { max_queue_delay_microseconds: 0 }\ninstance_group [{ count: 2 kind: KIND_CPU }]\n' \
    > $repo/$m/config.pbtxt
done

if [ "$SWEEP" = 1 ]; then
  echo "== in-process (api::Model::predict, no server; 1 and 2 threads)"
  for m in $MODELS; do
    model=$repo/$m/1/model.json; [ $m = cnn ] && model=$repo/$m/1/model.onnx
    echo "-- $m"
    $RUN $B/bench_serve_inprocess $model "$SECS"
  done | tee $OUT/inprocess.txt
fi

# start_server NAME BINARY: a server on free ports; sets pid_NAME, http_NAME, grpc_NAME.
start_server() {
  $RUN $2 serve --model-repository $repo --http-port 0 --grpc-port 0 --metrics-port -1 >$tmp/$1.log 2>&1 &
  eval "pid_$1=$!"
  for _ in $(seq 300); do grep -qs "ready" $tmp/$1.log && break; sleep 0.1; done
  eval "http_$1=$(grep -o 'HTTP on [^ ]*' $tmp/$1.log | cut -d' ' -f3)"
  eval "grpc_$1=$(grep -o 'gRPC on [^ ]*' $tmp/$1.log | cut -d' ' -f3)"
}
SERVERS="new"
start_server new $T
server=$pid_new; http=$http_new; grpc=$grpc_new
if [ -n "${BASELINE:-}" ]; then
  SERVERS="new old"
  start_server old "$BASELINE"
fi

cpu_of() { awk '{print ($14 + $15) / 100}' /proc/$1/stat; }   # utime + stime, seconds

for rep in $(seq ${REPS:-1}); do
  printf '%-5s %-6s %-9s %12s %12s %7s %12s %12s %7s %7s  %s\n' model batch proto "inproc/s" "server/s" ratio \
    "inproc/cpu-s" "server/cpu-s" ratio "srv-only" "load average"
  for m in $MODELS; do
    for b in $BATCHES; do
      model=$repo/$m/1/model.json; [ $m = cnn ] && model=$repo/$m/1/model.onnx
      read -r ip_wall ip_cpu < <($RUN $B/bench_serve_inprocess $model "$SECS" $b | awk '$2 == 2 {print $3, $5}')
      for proto in grpc http; do
       for which in $SERVERS; do
        eval "url=\$${proto}_$which; server=\$pid_$which"
        label=$proto; [ "$SERVERS" != new ] && label=$proto-$which
        s0=$(cpu_of $server)
        $RUN /usr/bin/time -f '%U %S' -o $tmp/client_cpu $T perf -m $m -u $url -i $proto -b $b --concurrency-range 16 \
          -p "$SECS" --json $tmp/point.json --force >/dev/null
        s1=$(cpu_of $server)
        /usr/bin/python3 - "$m" "$b" "$label" "$ip_wall" "$ip_cpu" "$s0" "$s1" $tmp/client_cpu $tmp/point.json <<'PY'
import json, os, sys
m, b, proto, ip_wall, ip_cpu, s0, s1, client, point = sys.argv[1:]
r = json.load(open(point))
r = r["results"][0]
rate = r["throughput_infer_per_sec"]
server_cpu = float(s1) - float(s0)
cpu = server_cpu + sum(map(float, open(client).read().split()[-2:]))
per_cpu = rate * r["seconds"] / cpu
server_only = rate * r["seconds"] / server_cpu
print("%-5s %-6s %-9s %12.0f %12.0f %6.0f%% %12.0f %12.0f %6.0f%% %6.0f%%  %.1f" % (
    m, b, proto, float(ip_wall), rate, 100 * rate / float(ip_wall), float(ip_cpu), per_cpu,
    100 * per_cpu / float(ip_cpu), 100 * server_only / float(ip_cpu), os.getloadavg()[0]))
PY
       done
      done
    done
  done
done | tee $OUT/ratio.txt

server=$pid_new; http=$http_new; grpc=$grpc_new
[ "$SWEEP" = 1 ] && for m in $MODELS; do
  for proto in grpc http; do
    url=$grpc; [ $proto = http ] && url=$http
    echo "== $m over $proto"
    $RUN $T perf -m $m -u $url -i $proto -b 1 -b 16 -b 256 -b 1024 --concurrency-range 1:64 -p "$SECS" \
      --csv $OUT/${m}_${proto}.csv --json $OUT/${m}_${proto}.json --png $OUT/${m}_${proto}.png --force
  done
done
for which in $SERVERS; do
  eval "pid=\$pid_$which"
  kill -TERM $pid
  wait $pid
done
