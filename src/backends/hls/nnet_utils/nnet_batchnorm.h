// BatchNormalization (inference form), per channel (the last axis):
// y = result(x * scale_c + shift_c), one exact product and sum per element.
#ifndef NNET_BATCHNORM_H_
#define NNET_BATCHNORM_H_

#include "nnet_common.h"

namespace nnet {

struct batchnorm_config {
    // Overridden per layer in parameters.h.
    static const unsigned n_in = 1;     // elements per sample
    static const unsigned n_chan = 1;   // channels (scale and shift entries)
    static const unsigned reuse_factor = 1;
};

template <class data_T, class res_T, typename CONFIG_T>
void batchnorm(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_in],
               const typename CONFIG_T::scale_t scale[CONFIG_T::n_chan],
               const typename CONFIG_T::shift_t shift[CONFIG_T::n_chan]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        y[i] = x[i] * scale[i % CONFIG_T::n_chan] + shift[i % CONFIG_T::n_chan];
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void batchnorm(hls::stream<data_T>& in, hls::stream<res_T>& out,
               const typename CONFIG_T::scale_t scale[CONFIG_T::n_chan],
               const typename CONFIG_T::shift_t shift[CONFIG_T::n_chan]) {
    // Every channel of a beat in one cycle: one register per scale and shift.
    #pragma HLS ARRAY_PARTITION variable=scale complete
    #pragma HLS ARRAY_PARTITION variable=shift complete
    for (unsigned p = 0; p < CONFIG_T::n_in / CONFIG_T::n_chan; p++) {
        #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
        const data_T x = in.read();
        res_T y;
        for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
            #pragma HLS UNROLL
            y[c] = x[c] * scale[c] + shift[c];
        }
        out.write(y);
    }
}

}  // namespace nnet

#endif
