// Elementwise merges of two tensors of one shape (Keras Add, Subtract, Multiply, Average,
// Maximum, Minimum): the exact sum, difference, product or extreme of the two values,
// converted once to the result type; average = result(exact sum / divisor) (divide_cast_const).
// A merge of more than two inputs is a chain of these whose intermediate tensors have
// exact types (so only the last step rounds), the last one dividing by the input count.
#ifndef NNET_MERGE_H_
#define NNET_MERGE_H_

#include "nnet_common.h"

namespace nnet {

enum merge_op { add, subtract, multiply, average, maximum, minimum };

struct merge_config {
    // Overridden per layer in parameters.h, with sum_t (the exact sum of the two inputs)
    // and, for average, quotient_t (see divide_cast).
    static const unsigned n_elem = 1;   // elements per sample
    static const unsigned n_chan = 1;   // values per stream beat
    static const unsigned reuse_factor = 1;
    static const unsigned op = add;
    static const unsigned divisor = 1;  // average: the number of merged tensors
};

template <class data1_T, class data2_T, class res_T, typename CONFIG_T>
res_T merge_value(const data1_T& a, const data2_T& b) {
    #pragma HLS INLINE
    switch (CONFIG_T::op) {
    case subtract: return res_T(a - b);
    case multiply: return res_T(a * b);
    case average: {
        const typename CONFIG_T::sum_t sum = a + b;
        return divide_cast_const<res_T, typename CONFIG_T::quotient_t, CONFIG_T::quotient_width, CONFIG_T::result_frac,
                                 typename CONFIG_T::sum_t, CONFIG_T::sum_width, CONFIG_T::sum_frac, CONFIG_T::divisor>(sum);
    }
    case maximum:
        if (a >= b) return res_T(a);
        return res_T(b);
    case minimum:
        if (a <= b) return res_T(a);
        return res_T(b);
    default:  // add
        return res_T(a + b);
    }
}

template <class data1_T, class data2_T, class res_T, typename CONFIG_T>
void merge(const data1_T x1[CONFIG_T::n_elem], const data2_T x2[CONFIG_T::n_elem], res_T y[CONFIG_T::n_elem]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    for (unsigned i = 0; i < CONFIG_T::n_elem; i++) {
        #pragma HLS UNROLL
        y[i] = merge_value<data1_T, data2_T, res_T, CONFIG_T>(x1[i], x2[i]);
    }
}

template <class data1_T, class data2_T, class res_T, typename CONFIG_T>
void merge(hls::stream<data1_T>& in1, hls::stream<data2_T>& in2, hls::stream<res_T>& out) {
    for (unsigned p = 0; p < CONFIG_T::n_elem / CONFIG_T::n_chan; p++) {
        #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
        const data1_T a = in1.read();
        const data2_T b = in2.read();
        res_T y;
        for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
            #pragma HLS UNROLL
            y[c] = merge_value<typename data1_T::value_type, typename data2_T::value_type, typename res_T::value_type,
                               CONFIG_T>(a[c], b[c]);
        }
        out.write(y);
    }
}

}  // namespace nnet

#endif
