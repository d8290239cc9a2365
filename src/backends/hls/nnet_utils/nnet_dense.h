// Dense layer: y_j = result(accum(b_j) + sum_i accum(x_i * w_ij)), products cast to the
// accumulator and added in ascending input order, then the optional fused ReLU. On an N-D
// input the product runs over the last axis at every position. Convolutions (nnet_conv.h)
// use the same multiply-accumulate (`mac`) on each output position's window.
//
// Weight table (written by the HLS backend): only non-zero weights, grouped by output.
// Entry t = (c * n_out + j) * per_output + m is product m of output j in cycle c: it adds
// w[t] * x[w_in[t]] to acc[j]. Each output's entries are in ascending input order over
// (c, m), so every output still accumulates in ascending input order (the order matters
// when the accumulator saturates). Outputs with fewer non-zero weights than
// n_cycles * per_output are padded with w = 0 (adding accum(0) leaves acc unchanged).
//
// Every unrolled lane (j, m) therefore writes the accumulator at the compile-time index j:
// no run-time-indexed accumulator updates in either strategy.
// Latency:  n_cycles = 1; all products unrolled, the function pipelined with
//           II = reuse_factor. The inputs are wired at compile time: the layer's config
//           (parameters.h) has gather(x, xt), one assignment xt[t] = x[i] per table entry
//           with i a literal, so no product reads through the index table (w_in is not
//           used); the weight table is completely partitioned, w[t] a constant.
// Resource: n_cycles = reuse_factor; a loop of reuse_factor iterations pipelined with II=1,
//           block_factor = n_out * per_output products per cycle; the tables are
//           partitioned cyclically by block_factor, so lane (j, m) reads its own bank.
#ifndef NNET_DENSE_H_
#define NNET_DENSE_H_

#include "nnet_common.h"

namespace nnet {

struct dense_config {
    // Overridden per layer in parameters.h.
    static const unsigned n_in = 1;
    static const unsigned n_out = 1;
    static const unsigned n_positions = 1;
    static const unsigned n_nonzero = 1;   // non-zero weights (documentation; the table is n_table long)
    static const unsigned n_cycles = 1;    // 1 (Latency) or reuse_factor (Resource)
    static const unsigned per_output = 1;  // products per output per cycle
    static const unsigned block_factor = 1;  // n_out * per_output: multipliers per cycle
    static const unsigned n_table = 1;     // n_cycles * block_factor
    static const unsigned reuse_factor = 1;
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

template <typename CONFIG_T>
void dense_init(typename CONFIG_T::accum_t acc[CONFIG_T::n_out], const typename CONFIG_T::bias_t b[CONFIG_T::n_out]) {
    #pragma HLS INLINE
    for (unsigned j = 0; j < CONFIG_T::n_out; j++) {
        #pragma HLS UNROLL
        acc[j] = b[j];
    }
}

// The products of cycle c: lane (j, m) adds into acc[j], j a constant of the unrolled loop.
template <class data_T, typename CONFIG_T>
void dense_cycle(const data_T x[CONFIG_T::n_in], typename CONFIG_T::accum_t acc[CONFIG_T::n_out],
                 const typename CONFIG_T::weight_t w[CONFIG_T::n_table],
                 const typename CONFIG_T::index_in_t w_in[CONFIG_T::n_table], unsigned c) {
    #pragma HLS INLINE
    for (unsigned j = 0; j < CONFIG_T::n_out; j++) {
        #pragma HLS UNROLL
        for (unsigned m = 0; m < CONFIG_T::per_output; m++) {
            #pragma HLS UNROLL
            const unsigned t = (c * CONFIG_T::n_out + j) * CONFIG_T::per_output + m;
            acc[j] += typename CONFIG_T::accum_t(x[w_in[t]] * w[t]);
        }
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void dense_latency(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_out],
                   const typename CONFIG_T::weight_t w[CONFIG_T::n_table],
                   const typename CONFIG_T::index_in_t w_in[CONFIG_T::n_table],
                   const typename CONFIG_T::bias_t b[CONFIG_T::n_out]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    #pragma HLS ARRAY_PARTITION variable=x complete
    #pragma HLS ARRAY_PARTITION variable=w complete
    #pragma HLS ARRAY_PARTITION variable=b complete
    data_T xt[CONFIG_T::n_table];
    #pragma HLS ARRAY_PARTITION variable=xt complete
    CONFIG_T::template gather<data_T>(x, xt);
    typename CONFIG_T::accum_t acc[CONFIG_T::n_out];
    #pragma HLS ARRAY_PARTITION variable=acc complete
    dense_init<CONFIG_T>(acc, b);
    // Entry t = (c * n_out + j) * per_output + m: ascending t is ascending (c, m) per output.
    for (unsigned t = 0; t < CONFIG_T::n_table; t++) {
        #pragma HLS UNROLL
        const unsigned j = (t / CONFIG_T::per_output) % CONFIG_T::n_out;
        acc[j] += typename CONFIG_T::accum_t(xt[t] * w[t]);
    }
    dense_finish<res_T, CONFIG_T>(acc, y);
}

template <class data_T, class res_T, typename CONFIG_T>
void dense_resource(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_out],
                    const typename CONFIG_T::weight_t w[CONFIG_T::n_table],
                    const typename CONFIG_T::index_in_t w_in[CONFIG_T::n_table],
                    const typename CONFIG_T::bias_t b[CONFIG_T::n_out]) {
    #pragma HLS ARRAY_PARTITION variable=x complete
    #pragma HLS ARRAY_PARTITION variable=w cyclic factor=CONFIG_T::block_factor
    #pragma HLS ARRAY_PARTITION variable=w_in cyclic factor=CONFIG_T::block_factor
    #pragma HLS ARRAY_PARTITION variable=b complete
    typename CONFIG_T::accum_t acc[CONFIG_T::n_out];
    #pragma HLS ARRAY_PARTITION variable=acc complete
    dense_init<CONFIG_T>(acc, b);
    for (unsigned c = 0; c < CONFIG_T::n_cycles; c++) {
        #pragma HLS PIPELINE II=1 rewind
        dense_cycle<data_T, CONFIG_T>(x, acc, w, w_in, c);
    }
    dense_finish<res_T, CONFIG_T>(acc, y);
}

// The schedule chosen at compile time, so that a Resource layer's config need not define
// gather (only Latency configs have it).
template <bool RESOURCE>
struct mac_schedule {
    template <class data_T, class res_T, typename CONFIG_T>
    static void run(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_out],
                    const typename CONFIG_T::weight_t w[CONFIG_T::n_table],
                    const typename CONFIG_T::index_in_t w_in[CONFIG_T::n_table],
                    const typename CONFIG_T::bias_t b[CONFIG_T::n_out]) {
        #pragma HLS INLINE
        dense_latency<data_T, res_T, CONFIG_T>(x, y, w, w_in, b);
    }
};
template <>
struct mac_schedule<true> {
    template <class data_T, class res_T, typename CONFIG_T>
    static void run(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_out],
                    const typename CONFIG_T::weight_t w[CONFIG_T::n_table],
                    const typename CONFIG_T::index_in_t w_in[CONFIG_T::n_table],
                    const typename CONFIG_T::bias_t b[CONFIG_T::n_out]) {
        #pragma HLS INLINE
        dense_resource<data_T, res_T, CONFIG_T>(x, y, w, w_in, b);
    }
};

// One multiply-accumulate vector: y = mac(x), n_in -> n_out (Dense rows, convolution windows).
template <class data_T, class res_T, typename CONFIG_T>
void mac(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_out],
         const typename CONFIG_T::weight_t w[CONFIG_T::n_table],
         const typename CONFIG_T::index_in_t w_in[CONFIG_T::n_table],
         const typename CONFIG_T::bias_t b[CONFIG_T::n_out]) {
    #pragma HLS INLINE
    mac_schedule<CONFIG_T::strategy == resource>::template run<data_T, res_T, CONFIG_T>(x, y, w, w_in, b);
}

// Dense over the last axis: the same vector product at each of n_positions positions
// (1 for a flat input; every pixel of an image).
template <class data_T, class res_T, typename CONFIG_T>
void dense(const data_T x[CONFIG_T::n_positions * CONFIG_T::n_in], res_T y[CONFIG_T::n_positions * CONFIG_T::n_out],
           const typename CONFIG_T::weight_t w[CONFIG_T::n_table],
           const typename CONFIG_T::index_in_t w_in[CONFIG_T::n_table],
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
        mac<data_T, res_T, CONFIG_T>(xp, yp, w, w_in, b);
        for (unsigned j = 0; j < CONFIG_T::n_out; j++) {
            #pragma HLS UNROLL
            y[p * CONFIG_T::n_out + j] = yp[j];
        }
    }
}

// io_stream: one beat (the last axis of one position: a whole sample for a flat Dense)
// in, one beat out. Latency: positions pipelined with II = reuse_factor (no `rewind`: the
// loop is not alone in the function); successive samples overlap through the top-level
// DATAFLOW. Resource: the folded loop of reuse_factor cycles per position.
template <class data_T, class res_T, typename CONFIG_T>
void dense(hls::stream<data_T>& in, hls::stream<res_T>& out,
           const typename CONFIG_T::weight_t w[CONFIG_T::n_table],
           const typename CONFIG_T::index_in_t w_in[CONFIG_T::n_table],
           const typename CONFIG_T::bias_t b[CONFIG_T::n_out]) {
    typedef typename data_T::value_type in_t;
    typedef typename res_T::value_type out_t;
    if (CONFIG_T::strategy == latency) {
        for (unsigned p = 0; p < CONFIG_T::n_positions; p++) {
            #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
            in_t x[CONFIG_T::n_in];
            #pragma HLS ARRAY_PARTITION variable=x complete
            out_t y[CONFIG_T::n_out];
            #pragma HLS ARRAY_PARTITION variable=y complete
            read_beat<in_t, CONFIG_T::n_in>(in, x);
            mac<in_t, out_t, CONFIG_T>(x, y, w, w_in, b);
            write_beat<out_t, CONFIG_T::n_out>(y, out);
        }
    } else {
        for (unsigned p = 0; p < CONFIG_T::n_positions; p++) {
            in_t x[CONFIG_T::n_in];
            #pragma HLS ARRAY_PARTITION variable=x complete
            out_t y[CONFIG_T::n_out];
            #pragma HLS ARRAY_PARTITION variable=y complete
            read_beat<in_t, CONFIG_T::n_in>(in, x);
            mac<in_t, out_t, CONFIG_T>(x, y, w, w_in, b);
            write_beat<out_t, CONFIG_T::n_out>(y, out);
        }
    }
}

// Binary x binary Dense as XNOR-popcount (docs/semantics.md, "Binary x binary Dense"):
// the input holds only +a and -a and every weight of output j is +h_j or -h_j. Input bit
// b_i = (x_i > 0); the weight bits c_ij are packed per output in words of word_bits bits
// (w[j * n_words + k], bit i % word_bits of word i / word_bits). popcount_j counts the
// agreeing bits (the XNOR of b and c_j), and acc_j = offset_j + step_j * popcount_j is
// exactly the accumulator of the multiply-accumulate above (offset_j = accum(b_j) -
// n_in a h_j, step_j = 2 a h_j, both in accum_t's LSBs); then the usual cast and ReLU.
// Every loop is unrolled; the function is pipelined with II = reuse_factor.
struct dense_xnor_config {
    // Overridden per layer in parameters.h.
    static const unsigned n_in = 1;
    static const unsigned n_out = 1;
    static const unsigned n_positions = 1;
    static const unsigned word_bits = 1;   // min(n_in, 64)
    static const unsigned n_words = 1;     // ceil(n_in / word_bits)
    static const unsigned reuse_factor = 1;
    static const bool relu = false;
};

template <class data_T, class res_T, typename CONFIG_T>
void dense_xnor_vector(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_out],
                       const typename CONFIG_T::word_t w[CONFIG_T::n_out * CONFIG_T::n_words],
                       const typename CONFIG_T::accum_t offset[CONFIG_T::n_out],
                       const typename CONFIG_T::step_t step[CONFIG_T::n_out]) {
    #pragma HLS INLINE
    typename CONFIG_T::word_t xb[CONFIG_T::n_words];
    #pragma HLS ARRAY_PARTITION variable=xb complete
    for (unsigned k = 0; k < CONFIG_T::n_words; k++) {
        #pragma HLS UNROLL
        xb[k] = 0;
    }
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        xb[i / CONFIG_T::word_bits][i % CONFIG_T::word_bits] = x[i] > 0;
    }
    typename CONFIG_T::accum_t acc[CONFIG_T::n_out];
    #pragma HLS ARRAY_PARTITION variable=acc complete
    for (unsigned j = 0; j < CONFIG_T::n_out; j++) {
        #pragma HLS UNROLL
        typename CONFIG_T::count_t count = 0;
        for (unsigned k = 0; k < CONFIG_T::n_words; k++) {
            #pragma HLS UNROLL
            const typename CONFIG_T::word_t agree = ~(xb[k] ^ w[j * CONFIG_T::n_words + k]);
            for (unsigned b = 0; b < CONFIG_T::word_bits; b++) {
                #pragma HLS UNROLL
                if (k * CONFIG_T::word_bits + b < CONFIG_T::n_in) count += agree[b] ? 1 : 0;
            }
        }
        acc[j] = offset[j] + step[j] * count;
    }
    dense_finish<res_T, CONFIG_T>(acc, y);
}

// Over the last axis: the same vector product at each of n_positions positions.
template <class data_T, class res_T, typename CONFIG_T>
void dense_xnor(const data_T x[CONFIG_T::n_positions * CONFIG_T::n_in],
                res_T y[CONFIG_T::n_positions * CONFIG_T::n_out],
                const typename CONFIG_T::word_t w[CONFIG_T::n_out * CONFIG_T::n_words],
                const typename CONFIG_T::accum_t offset[CONFIG_T::n_out],
                const typename CONFIG_T::step_t step[CONFIG_T::n_out]) {
    #pragma HLS ARRAY_PARTITION variable=w complete
    #pragma HLS ARRAY_PARTITION variable=offset complete
    #pragma HLS ARRAY_PARTITION variable=step complete
    for (unsigned p = 0; p < CONFIG_T::n_positions; p++) {
        #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
        data_T xp[CONFIG_T::n_in];
        #pragma HLS ARRAY_PARTITION variable=xp complete
        res_T yp[CONFIG_T::n_out];
        #pragma HLS ARRAY_PARTITION variable=yp complete
        for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
            #pragma HLS UNROLL
            xp[i] = x[p * CONFIG_T::n_in + i];
        }
        dense_xnor_vector<data_T, res_T, CONFIG_T>(xp, yp, w, offset, step);
        for (unsigned j = 0; j < CONFIG_T::n_out; j++) {
            #pragma HLS UNROLL
            y[p * CONFIG_T::n_out + j] = yp[j];
        }
    }
}

// io_stream: one beat (one position's last axis) in, one beat out.
template <class data_T, class res_T, typename CONFIG_T>
void dense_xnor(hls::stream<data_T>& in, hls::stream<res_T>& out,
                const typename CONFIG_T::word_t w[CONFIG_T::n_out * CONFIG_T::n_words],
                const typename CONFIG_T::accum_t offset[CONFIG_T::n_out],
                const typename CONFIG_T::step_t step[CONFIG_T::n_out]) {
    typedef typename data_T::value_type in_t;
    typedef typename res_T::value_type out_t;
    #pragma HLS ARRAY_PARTITION variable=w complete
    #pragma HLS ARRAY_PARTITION variable=offset complete
    #pragma HLS ARRAY_PARTITION variable=step complete
    for (unsigned p = 0; p < CONFIG_T::n_positions; p++) {
        #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
        in_t x[CONFIG_T::n_in];
        #pragma HLS ARRAY_PARTITION variable=x complete
        out_t y[CONFIG_T::n_out];
        #pragma HLS ARRAY_PARTITION variable=y complete
        read_beat<in_t, CONFIG_T::n_in>(in, x);
        dense_xnor_vector<in_t, out_t, CONFIG_T>(x, y, w, offset, step);
        write_beat<out_t, CONFIG_T::n_out>(y, out);
    }
}

}  // namespace nnet

#endif
