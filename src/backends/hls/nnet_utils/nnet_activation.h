// Activation layers: y_i = result(f(x_i)), one kernel for every function (CONFIG_T::function).
// Piecewise-linear functions are exact; the others read the emulator's lookup table, indexed
// by the input's raw value (nnet_common.h table_index):
//   sigmoid, tanh, softplus, softsign   result(table[idx])
//   elu                                 x >= 0 ? result(x) : result(table[idx])
//   selu                                x >= 0 ? result(lambda * x) : result(table[idx])
//   swish, gelu                         result(x * table[idx])   (the table holds sigmoid, Phi)
// param[] holds the param_t constants: {alpha} (leaky_relu), {slope, offset} (hard_sigmoid),
// {lambda} (selu). Functions without a table or parameters are passed nnet::none.
#ifndef NNET_ACTIVATION_H_
#define NNET_ACTIVATION_H_

#include "nnet_common.h"
#include "nnet_elementwise.h"

namespace nnet {

enum activation_function {
    linear, relu, relu6, leaky_relu, hard_sigmoid, sigmoid, tanh, elu, selu, softplus, softsign, swish, gelu
};

// The placeholder table / parameter array.
static const ap_uint<1> none[1] = {0};

struct activation_config {
    // Overridden per layer in parameters.h.
    static const unsigned n_in = 1;     // elements per sample
    static const unsigned n_chan = 1;   // values per stream beat (the last axis)
    static const unsigned reuse_factor = 1;
    static const unsigned function = linear;
    static const unsigned in_width = 1;  // width of key_t, the input's raw integer
    static const unsigned n_param = 1;
    typedef ap_uint<1> table_t;
    typedef ap_uint<1> param_t;
    struct table {
        static const int shift = 0;
        static const long long offset = 0;
        static const unsigned size = 1;
    };
};

template <class data_T, class res_T, typename CONFIG_T>
res_T activation_value(const data_T& x, const typename CONFIG_T::table_t table[CONFIG_T::table::size],
                       const typename CONFIG_T::param_t param[CONFIG_T::n_param]) {
    #pragma HLS INLINE
    typedef typename CONFIG_T::key_t key_t;
    switch (CONFIG_T::function) {
    case relu:
        if (x > 0) return res_T(x);
        return res_T(0);
    case relu6:
        if (x <= 0) return res_T(0);
        if (x > 6) return res_T(6);
        return res_T(x);
    case leaky_relu:
        if (x >= 0) return res_T(x);
        return res_T(param[0] * x);
    case hard_sigmoid:  // clip(slope * x + offset, 0, 1), the sum exact
        if (param[0] * x + param[1] <= 0) return res_T(0);
        if (param[0] * x + param[1] >= 1) return res_T(1);
        return res_T(param[0] * x + param[1]);
    case sigmoid:
    case tanh:
    case softplus:
    case softsign:
        return res_T(table[table_index<typename CONFIG_T::table>(raw_bits<key_t, CONFIG_T::in_width>(x))]);
    case elu:
        if (x >= 0) return res_T(x);
        return res_T(table[table_index<typename CONFIG_T::table>(raw_bits<key_t, CONFIG_T::in_width>(x))]);
    case selu:
        if (x >= 0) return res_T(param[0] * x);
        return res_T(table[table_index<typename CONFIG_T::table>(raw_bits<key_t, CONFIG_T::in_width>(x))]);
    case swish:
    case gelu:
        return res_T(x * table[table_index<typename CONFIG_T::table>(raw_bits<key_t, CONFIG_T::in_width>(x))]);
    default:  // linear
        return res_T(x);
    }
}

// activation_value as the element operation of map_elements (the same for every element).
template <typename CONFIG_T>
struct activation_op {
    template <class data_T, class res_T, class table_T, class param_T>
    static res_T value(unsigned, data_T x, const table_T* table, const param_T* param) {
        #pragma HLS INLINE
        return activation_value<data_T, res_T, CONFIG_T>(x, table, param);
    }
};

template <class data_T, class res_T, typename CONFIG_T, class table_T, class param_T>
void activation(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_in], const table_T table[], const param_T param[]) {
    map_elements<data_T, res_T, CONFIG_T, activation_op<CONFIG_T> >(x, y, table, param);
}

template <class data_T, class res_T, typename CONFIG_T, class table_T, class param_T>
void activation(hls::stream<data_T>& in, hls::stream<res_T>& out, const table_T table[], const param_T param[CONFIG_T::n_param]) {
    // Every channel of a beat in one cycle: the parameters in registers; the table is a ROM
    // read once per channel per cycle (Vitis replicates read-only memories as needed).
    #pragma HLS ARRAY_PARTITION variable=param complete
    map_elements<data_T, res_T, CONFIG_T, activation_op<CONFIG_T> >(in, out, table, param);
}

}  // namespace nnet

#endif
