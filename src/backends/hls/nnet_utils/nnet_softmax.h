// Softmax over the last axis (for every position of the others), with two lookup tables
// and an exact sum (docs/semantics.md):
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
    key_t m = key[0];
    for (unsigned i = 1; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        if (key[i] > m) m = key[i];
    }
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
        in_t x[CONFIG_T::n_in];
        out_t y[CONFIG_T::n_in];
        read_beat<in_t, CONFIG_T::n_in>(in, x);
        softmax_group<in_t, out_t, CONFIG_T>(x, y, exp_table, inv_table);
        write_beat<out_t, CONFIG_T::n_in>(y, out);
    }
}

}  // namespace nnet

#endif
