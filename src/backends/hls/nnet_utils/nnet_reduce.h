// Reduce over one axis (sum, mean, max) and the integer power x^k (docs/semantics.md,
// "Reduce" and "Pow"). Sums and products are formed exactly by ap_fixed and cast to
// accum_t step by step; the mean multiplies the sum by reciprocal(), 2^-k exactly when N
// is a power of two; one cast to the result type.
#ifndef NNET_REDUCE_H_
#define NNET_REDUCE_H_

#include "nnet_common.h"
#include "nnet_elementwise.h"

namespace nnet {

enum reduce_op { reduce_sum, reduce_mean, reduce_max };

struct reduce_config {
    // Overridden per layer in parameters.h, with accum_t (sum, mean) and, for a mean,
    // reciprocal_t and `static reciprocal_t reciprocal()`. The input is [outer][n][inner].
    // These defaults only let the branches a layer does not take compile.
    typedef ap_fixed<2, 2> accum_t;
    typedef ap_ufixed<1, 1> reciprocal_t;
    static reciprocal_t reciprocal() { return reciprocal_t(1); }
    static const unsigned outer = 1;
    static const unsigned n = 1;       // values reduced into one
    static const unsigned inner = 1;
    static const unsigned reuse_factor = 1;
    static const unsigned op = reduce_sum;
};

// The reduction of x[base], x[base + stride], ... (n values).
template <class data_T, class res_T, typename CONFIG_T>
res_T reduce_values(const data_T* x, unsigned base, unsigned stride) {
    #pragma HLS INLINE
    if (CONFIG_T::op == reduce_max) {
        data_T m = x[base];
        for (unsigned k = 1; k < CONFIG_T::n; k++) {
            #pragma HLS UNROLL
            if (x[base + k * stride] > m) m = x[base + k * stride];
        }
        return res_T(m);
    }
    typename CONFIG_T::accum_t acc = 0;
    for (unsigned k = 0; k < CONFIG_T::n; k++) {
        #pragma HLS UNROLL
        acc = typename CONFIG_T::accum_t(acc + x[base + k * stride]);
    }
    if (CONFIG_T::op == reduce_mean) return res_T(acc * CONFIG_T::reciprocal());
    return res_T(acc);
}

template <class data_T, class res_T, typename CONFIG_T>
void reduce(const data_T x[CONFIG_T::outer * CONFIG_T::n * CONFIG_T::inner], res_T y[CONFIG_T::outer * CONFIG_T::inner]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    for (unsigned o = 0; o < CONFIG_T::outer; o++) {
        #pragma HLS UNROLL
        for (unsigned i = 0; i < CONFIG_T::inner; i++) {
            #pragma HLS UNROLL
            y[o * CONFIG_T::inner + i] =
                reduce_values<data_T, res_T, CONFIG_T>(x, o * CONFIG_T::n * CONFIG_T::inner + i, CONFIG_T::inner);
        }
    }
}

// io_stream: a reduction over the last axis, one beat (n values) in, one value out.
template <class data_T, class res_T, typename CONFIG_T>
void reduce(hls::stream<data_T>& in, hls::stream<res_T>& out) {
    for (unsigned p = 0; p < CONFIG_T::outer; p++) {
        #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
        const data_T x = in.read();
        typename data_T::value_type v[CONFIG_T::n];
        for (unsigned k = 0; k < CONFIG_T::n; k++) {
            #pragma HLS UNROLL
            v[k] = x[k];
        }
        res_T y;
        y[0] = reduce_values<typename data_T::value_type, typename res_T::value_type, CONFIG_T>(v, 0, 1);
        out.write(y);
    }
}

struct pow_config {
    // Overridden per layer in parameters.h, with accum_t.
    static const unsigned n_in = 1;     // elements per sample
    static const unsigned n_chan = 1;   // values per stream beat
    static const unsigned reuse_factor = 1;
    static const unsigned exponent = 2;
};

template <class data_T, class res_T, typename CONFIG_T>
res_T pow_value(const data_T& x) {
    #pragma HLS INLINE
    typename CONFIG_T::accum_t p = x * x;
    for (unsigned e = 2; e < CONFIG_T::exponent; e++) {
        #pragma HLS UNROLL
        p = typename CONFIG_T::accum_t(p * x);
    }
    return res_T(p);
}

// pow_value as the element operation of map_elements (the same for every element).
template <typename CONFIG_T>
struct pow_op {
    template <class data_T, class res_T>
    static res_T value(unsigned, data_T x) {
        #pragma HLS INLINE
        return pow_value<data_T, res_T, CONFIG_T>(x);
    }
};

template <class data_T, class res_T, typename CONFIG_T>
void pow(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_in]) {
    map_elements<data_T, res_T, CONFIG_T, pow_op<CONFIG_T> >(x, y);
}

template <class data_T, class res_T, typename CONFIG_T>
void pow(hls::stream<data_T>& in, hls::stream<res_T>& out) {
    map_elements<data_T, res_T, CONFIG_T, pow_op<CONFIG_T> >(in, out);
}

}  // namespace nnet

#endif
