// BatchNormalization (inference form): y_i = result(x_i * scale_i + shift_i), one exact
// product and sum per element.
#ifndef NNET_BATCHNORM_H_
#define NNET_BATCHNORM_H_

#include "nnet_common.h"

namespace nnet {

struct batchnorm_config {
    // Overridden per layer in parameters.h.
    static const unsigned n_in = 1;
    static const unsigned reuse_factor = 1;
};

template <class data_T, class res_T, typename CONFIG_T>
void batchnorm(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_in],
               const typename CONFIG_T::scale_t scale[CONFIG_T::n_in],
               const typename CONFIG_T::shift_t shift[CONFIG_T::n_in]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        y[i] = x[i] * scale[i] + shift[i];
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void batchnorm(hls::stream<data_T>& in, hls::stream<res_T>& out,
               const typename CONFIG_T::scale_t scale[CONFIG_T::n_in],
               const typename CONFIG_T::shift_t shift[CONFIG_T::n_in]) {
    data_T x[CONFIG_T::n_in];
    res_T y[CONFIG_T::n_in];
    read_vector<data_T, CONFIG_T::n_in>(in, x);
    batchnorm<data_T, res_T, CONFIG_T>(x, y, scale, shift);
    write_vector<res_T, CONFIG_T::n_in>(y, out);
}

}  // namespace nnet

#endif
