// Tachyon's softmax (the default) over the last axis (for every position of the others),
// with two lookup tables and an exact sum (docs/semantics.md):
//   m = max_i raw(x_i);  e_i = exp_table[idx(m - raw(x_i))];  S = sum_i e_i (exact);
//   r = inv_table[idx(raw(S))];  y_i = result(e_i * r)
#ifndef NNET_SOFTMAX_H_
#define NNET_SOFTMAX_H_

#include "nnet_common.h"

namespace nnet {

struct softmax_config {
    // Overridden per layer in parameters.h (together with the exp_table / inv_table
    // index parameters and the key, diff, sum and table types).
    static const unsigned n_in = 1;       // the last axis
    static const unsigned n_groups = 1;   // positions of the other axes
    static const unsigned reuse_factor = 1;
};

// One group of n_in values.
template <class data_T, class res_T, typename CONFIG_T>
void softmax_group(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_in],
                   const typename CONFIG_T::exp_table_t exp_table[CONFIG_T::exp_table::size],
                   const typename CONFIG_T::inv_table_t inv_table[CONFIG_T::inv_table::size]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    typedef typename CONFIG_T::key_t key_t;
    key_t key[CONFIG_T::n_in];
    #pragma HLS ARRAY_PARTITION variable=key complete
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        key[i] = raw_bits<key_t, CONFIG_T::in_width>(x[i]);
    }
    const key_t m = max_tree<key_t, CONFIG_T::n_in>::max(key);
    typename CONFIG_T::exp_table_t e[CONFIG_T::n_in];
    #pragma HLS ARRAY_PARTITION variable=e complete
    typename CONFIG_T::sum_t sum = 0;
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        const typename CONFIG_T::diff_t d = m - key[i];
        e[i] = exp_table[table_index<typename CONFIG_T::exp_table>(d)];
        sum += e[i];
    }
    typedef typename CONFIG_T::sum_key_t sum_key_t;
    const sum_key_t s = raw_bits<sum_key_t, CONFIG_T::sum_width>(sum);
    const typename CONFIG_T::inv_table_t r = inv_table[table_index<typename CONFIG_T::inv_table>(s)];
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        y[i] = e[i] * r;
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void softmax(const data_T x[CONFIG_T::n_groups * CONFIG_T::n_in], res_T y[CONFIG_T::n_groups * CONFIG_T::n_in],
             const typename CONFIG_T::exp_table_t exp_table[CONFIG_T::exp_table::size],
             const typename CONFIG_T::inv_table_t inv_table[CONFIG_T::inv_table::size]) {
    for (unsigned g = 0; g < CONFIG_T::n_groups; g++) {
        data_T xg[CONFIG_T::n_in];
        res_T yg[CONFIG_T::n_in];
        for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
            #pragma HLS UNROLL
            xg[i] = x[g * CONFIG_T::n_in + i];
        }
        softmax_group<data_T, res_T, CONFIG_T>(xg, yg, exp_table, inv_table);
        for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
            #pragma HLS UNROLL
            y[g * CONFIG_T::n_in + i] = yg[i];
        }
    }
}

// io_stream: one beat (the last axis) per group.
template <class data_T, class res_T, typename CONFIG_T>
void softmax(hls::stream<data_T>& in, hls::stream<res_T>& out,
             const typename CONFIG_T::exp_table_t exp_table[CONFIG_T::exp_table::size],
             const typename CONFIG_T::inv_table_t inv_table[CONFIG_T::inv_table::size]) {
    typedef typename data_T::value_type in_t;
    typedef typename res_T::value_type out_t;
    for (unsigned g = 0; g < CONFIG_T::n_groups; g++) {
        #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
        in_t x[CONFIG_T::n_in];
        #pragma HLS ARRAY_PARTITION variable=x complete
        out_t y[CONFIG_T::n_in];
        #pragma HLS ARRAY_PARTITION variable=y complete
        read_beat<in_t, CONFIG_T::n_in>(in, x);
        softmax_group<in_t, out_t, CONFIG_T>(x, y, exp_table, inv_table);
        write_beat<out_t, CONFIG_T::n_in>(y, out);
    }
}

// ---- hls4ml's softmax implementations (Implementation: stable | latency | legacy | argmax) ----
// Bit for bit what hls4ml's nnet_activation.h computes (docs/semantics.md, "Softmax
// variants"); the tables are hls4ml's init_exp_table / init_invert_table contents, filled
// by the Tachyon emulator.

// hls4ml's table index: the top N bits of x's bit pattern, as an unsigned integer.
template <int N, class T>
unsigned softmax_top_bits(const T& x) {
    #pragma HLS INLINE
    ap_uint<N> y = x.range(T::width - 1, T::width - N);
    return (unsigned)y.to_uint();
}

// hls4ml's nnet::reduce with Op_add<T>: left half = the largest power of two below N, every
// addition cast to T.
constexpr int softmax_tree_left(int n, int p = 1) { return p * 2 <= n - 1 ? softmax_tree_left(n, p * 2) : p; }

template <class T, int N>
struct softmax_tree {
    static T sum(const T* x) {
        #pragma HLS INLINE
        static const int left = softmax_tree_left(N);
        return T(softmax_tree<T, left>::sum(x) + softmax_tree<T, N - left>::sum(x + left));
    }
};
template <class T>
struct softmax_tree<T, 2> {
    static T sum(const T* x) { return T(x[0] + x[1]); }
};
template <class T>
struct softmax_tree<T, 1> {
    static T sum(const T* x) { return x[0]; }
};

// e_i (accum_t) -> sum (accum_t tree) -> inv_inp_t -> inverse table -> y_i = e_i * r.
template <class res_T, typename CONFIG_T>
void softmax_normalise(const typename CONFIG_T::accum_t e[CONFIG_T::n_in], res_T y[CONFIG_T::n_in],
                       const typename CONFIG_T::inv_table_t inv_table[CONFIG_T::inv_table_size]) {
    #pragma HLS INLINE
    const typename CONFIG_T::inv_inp_t s = softmax_tree<typename CONFIG_T::accum_t, CONFIG_T::n_in>::sum(e);
    const typename CONFIG_T::inv_table_t r = inv_table[softmax_top_bits<CONFIG_T::inv_bits>(s)];
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        y[i] = e[i] * r;
    }
}

// hls4ml softmax_stable: d_i = inp_norm_t(max - x_i), e_i = exp_table[top bits of d_i].
template <class data_T, class res_T, typename CONFIG_T>
void softmax_stable(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_in],
                    const typename CONFIG_T::exp_table_t exp_table[CONFIG_T::exp_table_size],
                    const typename CONFIG_T::inv_table_t inv_table[CONFIG_T::inv_table_size]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    const data_T m = max_tree<data_T, CONFIG_T::n_in>::max(x);
    typename CONFIG_T::accum_t e[CONFIG_T::n_in];
    #pragma HLS ARRAY_PARTITION variable=e complete
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        const typename CONFIG_T::inp_norm_t d = m - x[i];
        e[i] = exp_table[softmax_top_bits<CONFIG_T::exp_bits>(d)];
    }
    softmax_normalise<res_T, CONFIG_T>(e, y, inv_table);
}

// hls4ml softmax_latency: e_i = exp_table[top bits of x_i] (no maximum subtracted).
template <class data_T, class res_T, typename CONFIG_T>
void softmax_latency(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_in],
                     const typename CONFIG_T::exp_table_t exp_table[CONFIG_T::exp_table_size],
                     const typename CONFIG_T::inv_table_t inv_table[CONFIG_T::inv_table_size]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    typename CONFIG_T::accum_t e[CONFIG_T::n_in];
    #pragma HLS ARRAY_PARTITION variable=e complete
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        e[i] = exp_table[softmax_top_bits<CONFIG_T::exp_bits>(x[i])];
    }
    softmax_normalise<res_T, CONFIG_T>(e, y, inv_table);
}

// hls4ml softmax_legacy: acc_i = sum_j exp_table[clamp(trunc((x_j - x_i) * N / 16) + N / 2)]
// (1 for j = i) in table_t; y_i = inv_table[clamp(trunc(acc_i * M / 64))]. The truncating
// divisions are written on raw integers: exp_mul / exp_den and inv_mul / inv_den hold
// N, 16 and the fractional-bit scaling (C++ integer division truncates towards zero, as
// ap_fixed's operator/ and its conversion to int do).
template <class data_T, class res_T, typename CONFIG_T>
void softmax_legacy(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_in],
                    const typename CONFIG_T::table_t exp_table[CONFIG_T::exp_table_size],
                    const typename CONFIG_T::table_t inv_table[CONFIG_T::inv_table_size]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    typedef typename CONFIG_T::key_t key_t;
    typedef typename CONFIG_T::table_t table_t;
    long long key[CONFIG_T::n_in];
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        key[i] = (long long)raw_bits<key_t, CONFIG_T::in_width>(x[i]);
    }
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        table_t acc = 0;
        for (unsigned j = 0; j < CONFIG_T::n_in; j++) {
            #pragma HLS UNROLL
            table_t term;
            if (i == j) {
                term = 1;
            } else {
                long long idx = (key[j] - key[i]) * CONFIG_T::exp_mul / CONFIG_T::exp_den +
                                (long long)(8 * CONFIG_T::exp_table_size / 16);
                if (idx < 0) idx = 0;
                if (idx > (long long)CONFIG_T::exp_table_size - 1) idx = CONFIG_T::exp_table_size - 1;
                term = exp_table[idx];
            }
            acc += term;
        }
        typedef typename CONFIG_T::table_key_t table_key_t;
        long long k = (long long)raw_bits<table_key_t, table_t::width>(acc) * CONFIG_T::inv_mul / CONFIG_T::inv_den;
        if (k < 0) k = 0;
        if (k > (long long)CONFIG_T::inv_table_size - 1) k = CONFIG_T::inv_table_size - 1;
        y[i] = inv_table[k];
    }
}

// hls4ml softmax_argmax: 1 at the first maximum, 0 elsewhere. All n(n-1) comparisons
// run side by side (one comparator level and an AND) instead of a chain carrying the
// running maximum and its index: x_i is the first maximum when it is greater than every
// earlier value and not less than every later one.
template <class data_T, class res_T, typename CONFIG_T>
void softmax_argmax(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_in]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        bool first = true;
        for (unsigned j = 0; j < CONFIG_T::n_in; j++) {
            #pragma HLS UNROLL
            if (j < i && !(x[i] > x[j])) first = false;
            if (j > i && !(x[i] >= x[j])) first = false;
        }
        y[i] = first ? res_T(1) : res_T(0);
    }
}

// io_stream versions: the vector is one beat (its last axis); read it, compute, write it.
#define NNET_SOFTMAX_STREAM(NAME, TABLE_DECLS, TABLE_ARGS)                                    \
    template <class data_T, class res_T, typename CONFIG_T>                                  \
    void NAME(hls::stream<data_T>& in, hls::stream<res_T>& out TABLE_DECLS) {                \
        typedef typename data_T::value_type in_t;                                             \
        typedef typename res_T::value_type out_t;                                             \
        in_t x[CONFIG_T::n_in];                                                               \
        out_t y[CONFIG_T::n_in];                                                              \
        read_beat<in_t, CONFIG_T::n_in>(in, x);                                               \
        NAME<in_t, out_t, CONFIG_T>(x, y TABLE_ARGS);                                         \
        write_beat<out_t, CONFIG_T::n_in>(y, out);                                            \
    }
#define NNET_SOFTMAX_COMMA ,
NNET_SOFTMAX_STREAM(softmax_stable,
                    NNET_SOFTMAX_COMMA const typename CONFIG_T::exp_table_t exp_table[CONFIG_T::exp_table_size]
                        NNET_SOFTMAX_COMMA const typename CONFIG_T::inv_table_t inv_table[CONFIG_T::inv_table_size],
                    NNET_SOFTMAX_COMMA exp_table NNET_SOFTMAX_COMMA inv_table)
NNET_SOFTMAX_STREAM(softmax_latency,
                    NNET_SOFTMAX_COMMA const typename CONFIG_T::exp_table_t exp_table[CONFIG_T::exp_table_size]
                        NNET_SOFTMAX_COMMA const typename CONFIG_T::inv_table_t inv_table[CONFIG_T::inv_table_size],
                    NNET_SOFTMAX_COMMA exp_table NNET_SOFTMAX_COMMA inv_table)
NNET_SOFTMAX_STREAM(softmax_legacy,
                    NNET_SOFTMAX_COMMA const typename CONFIG_T::table_t exp_table[CONFIG_T::exp_table_size]
                        NNET_SOFTMAX_COMMA const typename CONFIG_T::table_t inv_table[CONFIG_T::inv_table_size],
                    NNET_SOFTMAX_COMMA exp_table NNET_SOFTMAX_COMMA inv_table)
NNET_SOFTMAX_STREAM(softmax_argmax, , )
#undef NNET_SOFTMAX_STREAM
#undef NNET_SOFTMAX_COMMA

}  // namespace nnet

#endif
