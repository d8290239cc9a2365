// Shared pieces of the Tachyon HLS layer kernels. Every kernel computes exactly what
// docs/semantics.md specifies (the Tachyon emulator is the reference); only standard
// ap_fixed / ap_int / hls::stream API is used, so the code builds with the vendor headers.
#ifndef NNET_COMMON_H_
#define NNET_COMMON_H_

#include "ap_fixed.h"
#include "hls_stream.h"

namespace nnet {

enum strategy { latency, resource };

// The raw two's-complement integer of a fixed-point value, as an ap_int/ap_uint of the same
// width and signedness (key_T): raw(x) = x * 2^F.
template <class key_T, unsigned W, class data_T>
key_T raw_bits(const data_T& x) {
    #pragma HLS INLINE
    key_T key;
    key.range(W - 1, 0) = x.range(W - 1, 0);
    return key;
}

// Lookup-table index shared by sigmoid, tanh and softmax:
//   idx = clamp((key >> shift) + offset, 0, size - 1)
// TABLE supplies shift, offset (the lowest valid shifted key is -offset) and size.
template <class TABLE, class key_T>
unsigned table_index(const key_T& key) {
    #pragma HLS INLINE
    const key_T shifted = key >> TABLE::shift;
    if (shifted < -TABLE::offset) return 0;
    if (shifted > (long long)TABLE::size - 1 - TABLE::offset) return TABLE::size - 1;
    return (unsigned)(shifted + TABLE::offset).to_int();
}

// io_stream: one value per stream element, n values per sample, in index order.
template <class T, unsigned N>
void read_vector(hls::stream<T>& in, T x[N]) {
    #pragma HLS INLINE
    for (unsigned i = 0; i < N; i++) {
        #pragma HLS PIPELINE II=1
        x[i] = in.read();
    }
}

template <class T, unsigned N>
void write_vector(const T y[N], hls::stream<T>& out) {
    #pragma HLS INLINE
    for (unsigned i = 0; i < N; i++) {
        #pragma HLS PIPELINE II=1
        out.write(y[i]);
    }
}

}  // namespace nnet

#endif
