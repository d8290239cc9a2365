// Activation layers: y_i = result(f(x_i)). Piecewise-linear functions are exact; sigmoid
// and tanh read a lookup table indexed by the input's raw value (nnet_common.h).
#ifndef NNET_ACTIVATION_H_
#define NNET_ACTIVATION_H_

#include "nnet_common.h"

namespace nnet {

struct activation_config {
    // Overridden per layer in parameters.h.
    static const unsigned n_in = 1;
    static const unsigned reuse_factor = 1;
};

template <class data_T, class res_T, typename CONFIG_T>
void linear(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_in]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        y[i] = x[i];
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void relu(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_in]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        if (x[i] > 0) y[i] = x[i];
        else y[i] = 0;
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void relu6(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_in]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        if (x[i] <= 0) y[i] = 0;
        else if (x[i] > 6) y[i] = 6;
        else y[i] = x[i];
    }
}

// alpha is already quantised to CONFIG_T::param_t.
template <class data_T, class res_T, typename CONFIG_T>
void leaky_relu(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_in],
                const typename CONFIG_T::param_t alpha) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        if (x[i] >= 0) y[i] = x[i];
        else y[i] = alpha * x[i];
    }
}

// clip(slope * x + offset, 0, 1), the sum exact; slope and offset are param_t constants.
template <class data_T, class res_T, typename CONFIG_T>
void hard_sigmoid(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_in],
                  const typename CONFIG_T::param_t slope, const typename CONFIG_T::param_t offset) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        if (slope * x[i] + offset <= 0) y[i] = 0;
        else if (slope * x[i] + offset >= 1) y[i] = 1;
        else y[i] = slope * x[i] + offset;
    }
}

// Sigmoid and tanh: y = result(table[idx(raw(x))]).
template <class data_T, class res_T, typename CONFIG_T>
void table_activation(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_in],
                      const typename CONFIG_T::table_t table[CONFIG_T::table::size]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        typedef typename CONFIG_T::key_t key_t;
        const key_t key = raw_bits<key_t, CONFIG_T::in_width>(x[i]);
        y[i] = table[table_index<typename CONFIG_T::table>(key)];
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void sigmoid(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_in],
             const typename CONFIG_T::table_t table[CONFIG_T::table::size]) {
    #pragma HLS INLINE
    table_activation<data_T, res_T, CONFIG_T>(x, y, table);
}

template <class data_T, class res_T, typename CONFIG_T>
void tanh(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_in],
          const typename CONFIG_T::table_t table[CONFIG_T::table::size]) {
    #pragma HLS INLINE
    table_activation<data_T, res_T, CONFIG_T>(x, y, table);
}

// ---- io_stream: read the sample, apply the array kernel, write the result ----
template <class data_T, class res_T, typename CONFIG_T>
void linear(hls::stream<data_T>& in, hls::stream<res_T>& out) {
    data_T x[CONFIG_T::n_in];
    res_T y[CONFIG_T::n_in];
    read_vector<data_T, CONFIG_T::n_in>(in, x);
    linear<data_T, res_T, CONFIG_T>(x, y);
    write_vector<res_T, CONFIG_T::n_in>(y, out);
}

template <class data_T, class res_T, typename CONFIG_T>
void relu(hls::stream<data_T>& in, hls::stream<res_T>& out) {
    data_T x[CONFIG_T::n_in];
    res_T y[CONFIG_T::n_in];
    read_vector<data_T, CONFIG_T::n_in>(in, x);
    relu<data_T, res_T, CONFIG_T>(x, y);
    write_vector<res_T, CONFIG_T::n_in>(y, out);
}

template <class data_T, class res_T, typename CONFIG_T>
void relu6(hls::stream<data_T>& in, hls::stream<res_T>& out) {
    data_T x[CONFIG_T::n_in];
    res_T y[CONFIG_T::n_in];
    read_vector<data_T, CONFIG_T::n_in>(in, x);
    relu6<data_T, res_T, CONFIG_T>(x, y);
    write_vector<res_T, CONFIG_T::n_in>(y, out);
}

template <class data_T, class res_T, typename CONFIG_T>
void leaky_relu(hls::stream<data_T>& in, hls::stream<res_T>& out,
                const typename CONFIG_T::param_t alpha) {
    data_T x[CONFIG_T::n_in];
    res_T y[CONFIG_T::n_in];
    read_vector<data_T, CONFIG_T::n_in>(in, x);
    leaky_relu<data_T, res_T, CONFIG_T>(x, y, alpha);
    write_vector<res_T, CONFIG_T::n_in>(y, out);
}

template <class data_T, class res_T, typename CONFIG_T>
void hard_sigmoid(hls::stream<data_T>& in, hls::stream<res_T>& out,
                  const typename CONFIG_T::param_t slope, const typename CONFIG_T::param_t offset) {
    data_T x[CONFIG_T::n_in];
    res_T y[CONFIG_T::n_in];
    read_vector<data_T, CONFIG_T::n_in>(in, x);
    hard_sigmoid<data_T, res_T, CONFIG_T>(x, y, slope, offset);
    write_vector<res_T, CONFIG_T::n_in>(y, out);
}

template <class data_T, class res_T, typename CONFIG_T>
void sigmoid(hls::stream<data_T>& in, hls::stream<res_T>& out,
             const typename CONFIG_T::table_t table[CONFIG_T::table::size]) {
    data_T x[CONFIG_T::n_in];
    res_T y[CONFIG_T::n_in];
    read_vector<data_T, CONFIG_T::n_in>(in, x);
    table_activation<data_T, res_T, CONFIG_T>(x, y, table);
    write_vector<res_T, CONFIG_T::n_in>(y, out);
}

template <class data_T, class res_T, typename CONFIG_T>
void tanh(hls::stream<data_T>& in, hls::stream<res_T>& out,
          const typename CONFIG_T::table_t table[CONFIG_T::table::size]) {
    data_T x[CONFIG_T::n_in];
    res_T y[CONFIG_T::n_in];
    read_vector<data_T, CONFIG_T::n_in>(in, x);
    table_activation<data_T, res_T, CONFIG_T>(x, y, table);
    write_vector<res_T, CONFIG_T::n_in>(y, out);
}

}  // namespace nnet

#endif
