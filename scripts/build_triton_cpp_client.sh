#!/usr/bin/env bash
# Builds Triton's C++ client library (the one CMSSW's SONIC links: libgrpcclient, and
# libhttpclient) from its own sources, for the opt-in ctest serve_triton_cpp_client.
# Nothing of Triton's is kept in this repository: the sources are read from a checkout
# (or bare git directory) given here, and everything built goes to OUT.
#
#   scripts/build_triton_cpp_client.sh CLIENT_SRC COMMON_SRC [OUT]
#   (or TRITONCLIENT_SRC=... TRITON_COMMON_SRC=... [TRITON_CPP_CLIENT_DIR=OUT] scripts/build_triton_cpp_client.sh)
#
#   CLIENT_SRC   github.com/triton-inference-server/client  (src/c++/library)
#   COMMON_SRC   github.com/triton-inference-server/common  (protobuf/*.proto, include/triton/common)
#   OUT          default build/triton-cpp-client: include/, lib/libgrpcclient.so, lib/libhttpclient.so, SOURCES
#
# Then: TRITON_CPP_CLIENT_DIR=OUT ctest --test-dir build -R serve_triton_cpp_client
#
# Why not Triton's CMake: it asks for CMake >= 3.31 and fetches its dependencies (gRPC,
# protobuf, curl) over the network; Debian 12 has CMake 3.25 and the packages already
# (scripts/setup.sh: libgrpc++-dev protobuf-compiler-grpc libcurl4-openssl-dev zlib1g-dev
# rapidjson-dev). So this compiles the same files Triton's src/c++/library/CMakeLists.txt
# lists for the two libraries (grpc_client.cc common.cc + the generated protobuf/gRPC code;
# http_client.cc common.cc cencode.cc with TRITON_ENABLE_ZLIB) with the same export lists
# (its libgrpcclient.ldscript / libhttpclient.ldscript).
set -euo pipefail
CLIENT_SRC=${1:-${TRITONCLIENT_SRC:-}}
COMMON_SRC=${2:-${TRITON_COMMON_SRC:-}}
OUT=${3:-${TRITON_CPP_CLIENT_DIR:-build/triton-cpp-client}}
JOBS=${JOBS:-2}
if [ -z "$CLIENT_SRC" ] || [ -z "$COMMON_SRC" ]; then
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
for tool in protoc grpc_cpp_plugin pkg-config g++; do
  command -v $tool >/dev/null || { echo "build_triton_cpp_client: $tool not found (scripts/setup.sh installs it)" >&2; exit 1; }
done
for pc in grpc++ protobuf libcurl zlib; do
  pkg-config --exists $pc || { echo "build_triton_cpp_client: pkg-config $pc not found (scripts/setup.sh)" >&2; exit 1; }
done
[ -f /usr/include/rapidjson/document.h ] || { echo "build_triton_cpp_client: rapidjson-dev missing (scripts/setup.sh)" >&2; exit 1; }

# extract SRC SUBPATH DEST: SRC/SUBPATH copied to DEST/SUBPATH, from a work tree or by git archive.
extract() {
  if [ -e "$1/$2" ]; then
    mkdir -p "$3/$(dirname "$2")" && cp -r "$1/$2" "$3/$(dirname "$2")/"
  else
    git --git-dir "$1" archive HEAD "$2" | tar -x -C "$3" ||
      { echo "build_triton_cpp_client: $1 holds no $2 (neither a checkout nor a git directory with it)" >&2; exit 1; }
  fi
}
# revision SRC: the commit a checkout or git directory is at (for the SOURCES record).
revision() {
  git -C "$1" rev-parse HEAD 2>/dev/null || git --git-dir "$1" rev-parse HEAD 2>/dev/null || echo unknown
}

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
extract "$CLIENT_SRC" src/c++/library "$work"
extract "$COMMON_SRC" protobuf "$work"
extract "$COMMON_SRC" include/triton/common "$work"
lib=$work/src/c++/library
gen=$work/gen
mkdir -p "$gen" "$OUT/include" "$OUT/lib" "$work/obj"

echo "== protoc: Triton's grpc_service.proto, model_config.proto, health.proto"
protoc -I "$work/protobuf" --cpp_out="$gen" --grpc_out="$gen" \
  --plugin=protoc-gen-grpc="$(command -v grpc_cpp_plugin)" \
  "$work/protobuf/grpc_service.proto" "$work/protobuf/model_config.proto" "$work/protobuf/health.proto"

CXXFLAGS="-std=c++17 -O2 -fPIC -w -I$lib -I$gen -I$work/include $(pkg-config --cflags grpc++ protobuf libcurl zlib)"
# compile NAME SOURCE [FLAGS...]: one object into $work/obj (in the background; waited for below).
compile() {
  local name=$1 src=$2; shift 2
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
  echo "   g++ $(basename "$src")"
  g++ $CXXFLAGS "$@" -c "$src" -o "$work/obj/$name.o" &
}
echo "== compiling (-j$JOBS)"
for f in grpc_service model_config health; do
  compile ${f}.pb "$gen/$f.pb.cc"
done
compile grpc_service.grpc.pb "$gen/grpc_service.grpc.pb.cc"
compile health.grpc.pb "$gen/health.grpc.pb.cc"
compile grpc_client "$lib/grpc_client.cc"
compile common "$lib/common.cc"
compile http_client "$lib/http_client.cc" -DTRITON_ENABLE_ZLIB=1
compile cencode "$lib/cencode.cc"
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n; done
o=$work/obj

echo "== linking $OUT/lib"
g++ -shared -o "$OUT/lib/libgrpcclient.so" -Wl,--version-script="$lib/libgrpcclient.ldscript" \
  $o/grpc_client.o $o/common.o $o/grpc_service.pb.o $o/model_config.pb.o $o/health.pb.o \
  $o/grpc_service.grpc.pb.o $o/health.grpc.pb.o $(pkg-config --libs grpc++ protobuf) -pthread
g++ -shared -o "$OUT/lib/libhttpclient.so" -Wl,--version-script="$lib/libhttpclient.ldscript" \
  $o/http_client.o $o/common.o $o/cencode.o $(pkg-config --libs libcurl zlib) -pthread

# Headers as Triton installs them (include/: the client headers and the generated ones).
cp "$lib"/{grpc_client.h,http_client.h,common.h,ipc.h,shm_utils.h} "$OUT/include/"
cp "$gen"/*.pb.h "$OUT/include/"
printf 'client %s\ncommon %s\n' "$(revision "$CLIENT_SRC")" "$(revision "$COMMON_SRC")" > "$OUT/SOURCES"
echo "built Triton's C++ client into $OUT ($(tr '\n' ' ' < "$OUT/SOURCES"))"
