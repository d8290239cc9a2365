// Shared pieces of the Tachyon HLS layer kernels. Every kernel computes exactly what
// docs/semantics.md specifies (the Tachyon emulator is the reference); only standard
// ap_fixed / ap_int / hls::stream API is used, so the code builds with the vendor headers.
//
// Tensors are channels-last ([width, channels] or [height, width, channels]) and flat:
// element (h, w, c) is at (h * width + w) * channels + c. In io_stream a tensor travels
// one pixel per beat: an nnet::array holding all channels (the last axis) of one position.
#ifndef NNET_COMMON_H_
#define NNET_COMMON_H_

#include "ap_fixed.h"
#include "hls_stream.h"

#include <type_traits>

namespace nnet {

enum strategy { latency, resource };

// One stream beat: N values (the channels of one pixel).
template <class T, unsigned N>
struct array {
    typedef T value_type;
    static const unsigned size = N;
    T data[N];
    T& operator[](unsigned i) { return data[i]; }
    const T& operator[](unsigned i) const { return data[i]; }
};

// The raw two's-complement integer of a fixed-point value, as an ap_int/ap_uint of the same
// width and signedness (key_T): raw(x) = x * 2^F.
template <class key_T, unsigned W, class data_T>
key_T raw_bits(const data_T& x) {
    #pragma HLS INLINE
    key_T key;
    key.range(W - 1, 0) = x.range(W - 1, 0);
    return key;
}

// Lookup-table index shared by the table activations and softmax:
//   idx = clamp((key >> shift) + offset, 0, size - 1)
// TABLE supplies shift, offset (the lowest valid shifted key is -offset) and size; with
// den > 0 (hls4ml's sigmoid/tanh) idx = clamp(trunc(key * mul / den) + offset, 0, size - 1).
template <class TABLE, class = void>
struct table_is_scaled { static const bool value = false; };
template <class TABLE>
struct table_is_scaled<TABLE, decltype(void(TABLE::den))> { static const bool value = true; };

template <class TABLE, class key_T>
typename std::enable_if<table_is_scaled<TABLE>::value, unsigned>::type table_index(const key_T& key) {
    #pragma HLS INLINE
    // hls4ml's sigmoid/tanh: C++ division truncates towards zero, as hls4ml's does.
    const long long i = key.to_int64() * TABLE::mul / TABLE::den + TABLE::offset;
    return i < 0 ? 0 : (i > (long long)TABLE::size - 1 ? TABLE::size - 1 : (unsigned)i);
}

template <class TABLE, class key_T>
typename std::enable_if<!table_is_scaled<TABLE>::value, unsigned>::type table_index(const key_T& key) {
    #pragma HLS INLINE
    const key_T shifted = key >> TABLE::shift;
    if (shifted < -TABLE::offset) return 0;
    if (shifted > (long long)TABLE::size - 1 - TABLE::offset) return TABLE::size - 1;
    return (unsigned)(shifted + TABLE::offset).to_int();
}

// y = res(sum / den), the exact quotient converted once (average pooling, average merge).
// sum_T is a signed ap_fixed of SUM_W bits and SUM_F fractional bits, den >= 1. With
// q = floor(v * 2^(RES_F)) and the remainder compared with half an LSB, the value
// 4q + {0: exact, 1: below half, 2: half, 3: above half} at RES_F + 2 fractional bits
// (quotient_T) rounds and overflows exactly as the true quotient does in every mode.
// The writer checks that the shifted sum fits 62 bits.
template <class res_T, class quotient_T, int QW, int RES_F, class sum_T, int SUM_W, int SUM_F>
res_T divide_cast(const sum_T& sum, long long den) {
    #pragma HLS INLINE
    long long num = raw_bits<ap_int<SUM_W>, SUM_W>(sum).to_int64();
    if (RES_F >= SUM_F) num = num * (1LL << (RES_F >= SUM_F ? RES_F - SUM_F : 0));
    else den = den * (1LL << (RES_F < SUM_F ? SUM_F - RES_F : 0));
    long long q = num / den, r = num % den;
    if (r < 0) {  // floor division
        q -= 1;
        r += den;
    }
    const int where = r == 0 ? 0 : (2 * r < den ? 1 : (2 * r == den ? 2 : 3));
    quotient_T t;
    t.range(QW - 1, 0) = 4 * q + where;
    return res_T(t);
}

// divide_cast for a divisor known at compile time (average merge, global average pooling,
// pooling that counts the padding, LayerNorm's mean and variance): the same value, but
// floor(num / D) is a multiplication by a reciprocal constant and a shift on fixed-width
// integers of the numerator's own width, not a run-time 64-bit divider. With u < 2^NB,
// 2^L >= D and M = ceil(2^(NB+L) / D), floor(u / D) = (u * M) >> (NB + L) exactly
// (Granlund and Montgomery, PLDI 1994, theorem 4.2); a negative numerator n uses
// floor(n / D) = ~floor(~n / D) with ~n = -n - 1 >= 0. Where NB + L exceeds 63 (M would not
// fit 64 bits) the division is left to divide_cast.
constexpr int ceil_log2(long long d, int l = 0) { return (1LL << l) >= d ? l : ceil_log2(d, l + 1); }

template <int NUM_W, long long D, bool RECIPROCAL = (NUM_W - 1 + ceil_log2(D) <= 63)>
struct floor_divider {
    // q = floor(n / D), r = n - q * D in [0, D), for a NUM_W-bit signed n.
    static void divide(const ap_int<NUM_W>& n, long long& q, long long& r) {
        #pragma HLS INLINE
        q = n.to_int64() / D;
        r = n.to_int64() % D;
        if (r < 0) {
            q -= 1;
            r += D;
        }
    }
};

template <int NUM_W, long long D>
struct floor_divider<NUM_W, D, true> {
    static const int NB = NUM_W - 1;   // |n| <= 2^NB, and ~n < 2^NB for a negative n
    static const int L = ceil_log2(D);
    static void divide(const ap_int<NUM_W>& n, long long& q, long long& r) {
        #pragma HLS INLINE
        const ap_uint<NB + 1> M = (unsigned long long)((((unsigned long long)1 << (NB + L)) + D - 1) / D);
        const bool neg = n < 0;
        const ap_uint<NB> u = neg ? ap_uint<NB>(~n) : ap_uint<NB>(n);
        const ap_uint<NB> f = (u * M) >> (NB + L);
        q = neg ? ~(long long)f.to_int64() : (long long)f.to_int64();
        r = n.to_int64() - q * D;   // a constant multiple: shifts and adds
    }
};

template <class res_T, class quotient_T, int QW, int RES_F, class sum_T, int SUM_W, int SUM_F, long long DEN>
res_T divide_cast_const(const sum_T& sum) {
    #pragma HLS INLINE
    static const int UP = RES_F >= SUM_F ? RES_F - SUM_F : 0;      // numerator scaled up ...
    static const int DOWN = RES_F < SUM_F ? SUM_F - RES_F : 0;     // ... or divisor scaled up
    static const long long D = DEN << DOWN;
    const ap_int<SUM_W + UP> num = ap_int<SUM_W + UP>(raw_bits<ap_int<SUM_W>, SUM_W>(sum)) << UP;
    long long q, r;
    floor_divider<SUM_W + UP, D>::divide(num, q, r);
    const int where = r == 0 ? 0 : (2 * r < D ? 1 : (2 * r == D ? 2 : 3));
    quotient_T t;
    t.range(QW - 1, 0) = 4 * q + where;
    return res_T(t);
}

// The maximum of x[0..N-1] as a balanced tree of comparisons: ceil(log2 N) levels, where a
// loop `if (x[i] > m) m = x[i]` is a chain of N - 1 dependent comparators that the
// scheduler has to see through. The maximum is exact, so the order changes no value.
template <class T, int N>
struct max_tree {
    static T max(const T* x) {
        #pragma HLS INLINE
        const T a = max_tree<T, N / 2>::max(x);
        const T b = max_tree<T, N - N / 2>::max(x + N / 2);
        return b > a ? b : a;
    }
};
template <class T>
struct max_tree<T, 1> {
    static T max(const T* x) { return x[0]; }
};

// ---- windows of convolution and pooling -------------------------------------------------
// CONFIG_T: in_height, in_width, n_chan, out_height, out_width, filt_height, filt_width,
// stride_height, stride_width, dilation_height, dilation_width, pad_top, pad_left (1-D
// layers have height 1). The window of output (oh, ow) covers input rows
// oh * stride_height - pad_top + kh * dilation_height and likewise columns.

// The window of output (oh, ow) in im2col order (kernel rows, kernel columns, channels),
// zeros where it covers padding; inside[t] tells whether tap t lies in the input. buf holds
// ROWS input rows, row ih in slot ih % ROWS: the whole input (io_parallel) or the line
// buffer (io_stream).
template <class T, typename CONFIG_T, unsigned ROWS>
void fill_window(const T buf[ROWS * CONFIG_T::in_width * CONFIG_T::n_chan], unsigned oh, unsigned ow,
                 T win[CONFIG_T::filt_height * CONFIG_T::filt_width * CONFIG_T::n_chan],
                 bool inside[CONFIG_T::filt_height * CONFIG_T::filt_width]) {
    #pragma HLS INLINE
    for (unsigned kh = 0; kh < CONFIG_T::filt_height; kh++) {
        #pragma HLS UNROLL
        for (unsigned kw = 0; kw < CONFIG_T::filt_width; kw++) {
            #pragma HLS UNROLL
            const int ih = int(oh * CONFIG_T::stride_height + kh * CONFIG_T::dilation_height) - int(CONFIG_T::pad_top);
            const int iw = int(ow * CONFIG_T::stride_width + kw * CONFIG_T::dilation_width) - int(CONFIG_T::pad_left);
            const bool in = ih >= 0 && ih < int(CONFIG_T::in_height) && iw >= 0 && iw < int(CONFIG_T::in_width);
            const unsigned tap = kh * CONFIG_T::filt_width + kw;
            inside[tap] = in;
            const unsigned base = in ? ((unsigned(ih) % ROWS) * CONFIG_T::in_width + unsigned(iw)) * CONFIG_T::n_chan : 0;
            for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
                #pragma HLS UNROLL
                if (in) win[tap * CONFIG_T::n_chan + c] = buf[base + c];
                else win[tap * CONFIG_T::n_chan + c] = 0;
            }
        }
    }
}

// ---- io_stream helpers ---------------------------------------------------------------------

// A tensor read by several layers: every beat copied to each reader's stream.
template <class T, unsigned BEATS>
void clone_stream(hls::stream<T>& in, hls::stream<T>& out1, hls::stream<T>& out2) {
    for (unsigned b = 0; b < BEATS; b++) {
        #pragma HLS PIPELINE II=1
        const T v = in.read();
        out1.write(v);
        out2.write(v);
    }
}

// One beat into an array slice and back.
template <class T, unsigned N>
void read_beat(hls::stream<array<T, N> >& in, T x[N]) {
    #pragma HLS INLINE
    const array<T, N> beat = in.read();
    for (unsigned i = 0; i < N; i++) {
        #pragma HLS UNROLL
        x[i] = beat[i];
    }
}

template <class T, unsigned N>
void write_beat(const T y[N], hls::stream<array<T, N> >& out) {
    #pragma HLS INLINE
    array<T, N> beat;
    for (unsigned i = 0; i < N; i++) {
        #pragma HLS UNROLL
        beat[i] = y[i];
    }
    out.write(beat);
}

}  // namespace nnet

#endif
