// Dense layer: y_j = result(accum(b_j) + sum_i accum(x_i * w_ij)), products cast to the
// accumulator and added in ascending input order, then the optional fused ReLU. On an N-D
// input the product runs over the last axis at every position. Convolutions (nnet_conv.h)
// use the same multiply-accumulate (`mac`) on each output position's window.
//
// Only non-zero weights are stored: entry k multiplies x[w_in[k]] by w[k] into output
// w_out[k]. Entries are sorted by input index, so every output still accumulates in
// ascending input order (the order matters when the accumulator saturates); a pruned model
// simply has fewer entries and therefore fewer multipliers.
//
// Latency: all n_nonzero multiplications unrolled, pipelined with II = reuse_factor.
// Resource: the entries are folded over reuse_factor cycles, block_factor per cycle
//           (block_factor = ceil(n_nonzero / reuse_factor)).
#ifndef NNET_DENSE_H_
#define NNET_DENSE_H_

#include "nnet_common.h"

namespace nnet {

struct dense_config {
    // Overridden per layer in parameters.h.
    static const unsigned n_in = 1;
    static const unsigned n_out = 1;
    static const unsigned n_positions = 1;
    static const unsigned n_nonzero = 1;
    static const unsigned reuse_factor = 1;
    static const unsigned block_factor = 1;
    static const unsigned strategy = latency;
    static const bool relu = false;
};

template <class res_T, typename CONFIG_T>
void dense_finish(typename CONFIG_T::accum_t acc[CONFIG_T::n_out], res_T y[CONFIG_T::n_out]) {
    #pragma HLS INLINE
    for (unsigned j = 0; j < CONFIG_T::n_out; j++) {
        #pragma HLS UNROLL
        res_T z = acc[j];
        if (CONFIG_T::relu && z < 0) z = 0;
        y[j] = z;
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void dense_latency(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_out],
                   const typename CONFIG_T::weight_t w[CONFIG_T::n_nonzero],
                   const typename CONFIG_T::index_in_t w_in[CONFIG_T::n_nonzero],
                   const typename CONFIG_T::index_out_t w_out[CONFIG_T::n_nonzero],
                   const typename CONFIG_T::bias_t b[CONFIG_T::n_out]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    typename CONFIG_T::accum_t acc[CONFIG_T::n_out];
    #pragma HLS ARRAY_PARTITION variable=acc complete
    for (unsigned j = 0; j < CONFIG_T::n_out; j++) {
        #pragma HLS UNROLL
        acc[j] = b[j];
    }
    for (unsigned k = 0; k < CONFIG_T::n_nonzero; k++) {
        #pragma HLS UNROLL
        acc[w_out[k]] += typename CONFIG_T::accum_t(x[w_in[k]] * w[k]);
    }
    dense_finish<res_T, CONFIG_T>(acc, y);
}

template <class data_T, class res_T, typename CONFIG_T>
void dense_resource(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_out],
                    const typename CONFIG_T::weight_t w[CONFIG_T::n_nonzero],
                    const typename CONFIG_T::index_in_t w_in[CONFIG_T::n_nonzero],
                    const typename CONFIG_T::index_out_t w_out[CONFIG_T::n_nonzero],
                    const typename CONFIG_T::bias_t b[CONFIG_T::n_out]) {
    #pragma HLS ARRAY_PARTITION variable=w cyclic factor=CONFIG_T::block_factor
    #pragma HLS ARRAY_PARTITION variable=w_in cyclic factor=CONFIG_T::block_factor
    #pragma HLS ARRAY_PARTITION variable=w_out cyclic factor=CONFIG_T::block_factor
    typename CONFIG_T::accum_t acc[CONFIG_T::n_out];
    #pragma HLS ARRAY_PARTITION variable=acc complete
    for (unsigned j = 0; j < CONFIG_T::n_out; j++) {
        #pragma HLS UNROLL
        acc[j] = b[j];
    }
    for (unsigned ir = 0; ir < CONFIG_T::reuse_factor; ir++) {
        #pragma HLS PIPELINE II=1 rewind
        for (unsigned im = 0; im < CONFIG_T::block_factor; im++) {
            #pragma HLS UNROLL
            const unsigned k = ir * CONFIG_T::block_factor + im;
            if (k < CONFIG_T::n_nonzero)
                acc[w_out[k]] += typename CONFIG_T::accum_t(x[w_in[k]] * w[k]);
        }
    }
    dense_finish<res_T, CONFIG_T>(acc, y);
}

// One multiply-accumulate vector: y = mac(x), n_in -> n_out (Dense rows, convolution windows).
template <class data_T, class res_T, typename CONFIG_T>
void mac(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_out],
         const typename CONFIG_T::weight_t w[CONFIG_T::n_nonzero],
         const typename CONFIG_T::index_in_t w_in[CONFIG_T::n_nonzero],
         const typename CONFIG_T::index_out_t w_out[CONFIG_T::n_nonzero],
         const typename CONFIG_T::bias_t b[CONFIG_T::n_out]) {
    #pragma HLS INLINE
    if (CONFIG_T::strategy == resource)
        dense_resource<data_T, res_T, CONFIG_T>(x, y, w, w_in, w_out, b);
    else
        dense_latency<data_T, res_T, CONFIG_T>(x, y, w, w_in, w_out, b);
}

// Dense over the last axis: the same vector product at each of n_positions positions
// (1 for a flat input; every pixel of an image).
template <class data_T, class res_T, typename CONFIG_T>
void dense(const data_T x[CONFIG_T::n_positions * CONFIG_T::n_in], res_T y[CONFIG_T::n_positions * CONFIG_T::n_out],
           const typename CONFIG_T::weight_t w[CONFIG_T::n_nonzero],
           const typename CONFIG_T::index_in_t w_in[CONFIG_T::n_nonzero],
           const typename CONFIG_T::index_out_t w_out[CONFIG_T::n_nonzero],
           const typename CONFIG_T::bias_t b[CONFIG_T::n_out]) {
    for (unsigned p = 0; p < CONFIG_T::n_positions; p++) {
        data_T xp[CONFIG_T::n_in];
        #pragma HLS ARRAY_PARTITION variable=xp complete
        res_T yp[CONFIG_T::n_out];
        #pragma HLS ARRAY_PARTITION variable=yp complete
        for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
            #pragma HLS UNROLL
            xp[i] = x[p * CONFIG_T::n_in + i];
        }
        mac<data_T, res_T, CONFIG_T>(xp, yp, w, w_in, w_out, b);
        for (unsigned j = 0; j < CONFIG_T::n_out; j++) {
            #pragma HLS UNROLL
            y[p * CONFIG_T::n_out + j] = yp[j];
        }
    }
}

// io_stream: one beat (the last axis of one position) in, one beat out.
template <class data_T, class res_T, typename CONFIG_T>
void dense(hls::stream<data_T>& in, hls::stream<res_T>& out,
           const typename CONFIG_T::weight_t w[CONFIG_T::n_nonzero],
           const typename CONFIG_T::index_in_t w_in[CONFIG_T::n_nonzero],
           const typename CONFIG_T::index_out_t w_out[CONFIG_T::n_nonzero],
           const typename CONFIG_T::bias_t b[CONFIG_T::n_out]) {
    typedef typename data_T::value_type in_t;
    typedef typename res_T::value_type out_t;
    for (unsigned p = 0; p < CONFIG_T::n_positions; p++) {
        in_t x[CONFIG_T::n_in];
        #pragma HLS ARRAY_PARTITION variable=x complete
        out_t y[CONFIG_T::n_out];
        #pragma HLS ARRAY_PARTITION variable=y complete
        read_beat<in_t, CONFIG_T::n_in>(in, x);
        mac<in_t, out_t, CONFIG_T>(x, y, w, w_in, w_out, b);
        write_beat<out_t, CONFIG_T::n_out>(y, out);
    }
}

}  // namespace nnet

#endif
