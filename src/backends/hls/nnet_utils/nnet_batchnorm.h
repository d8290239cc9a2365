// BatchNormalization (inference form), per channel (the last axis):
// y = result(x * scale_c + shift_c), one exact product and sum per element.
#ifndef NNET_BATCHNORM_H_
#define NNET_BATCHNORM_H_

#include "nnet_elementwise.h"

namespace nnet {

struct batchnorm_config {
    // Overridden per layer in parameters.h.
    static const unsigned n_in = 1;     // elements per sample
    static const unsigned n_chan = 1;   // channels (scale and shift entries)
    static const unsigned reuse_factor = 1;
};

// Element i of channel i % n_chan.
template <typename CONFIG_T>
struct batchnorm_op {
    template <class data_T, class res_T>
    static res_T value(unsigned i, data_T x, const typename CONFIG_T::scale_t* scale,
                       const typename CONFIG_T::shift_t* shift) {
        #pragma HLS INLINE
        return x * scale[i % CONFIG_T::n_chan] + shift[i % CONFIG_T::n_chan];
    }
};

template <class data_T, class res_T, typename CONFIG_T>
void batchnorm(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_in],
               const typename CONFIG_T::scale_t scale[CONFIG_T::n_chan],
               const typename CONFIG_T::shift_t shift[CONFIG_T::n_chan]) {
    map_elements<data_T, res_T, CONFIG_T, batchnorm_op<CONFIG_T> >(x, y, scale, shift);
}

template <class data_T, class res_T, typename CONFIG_T>
void batchnorm(hls::stream<data_T>& in, hls::stream<res_T>& out,
               const typename CONFIG_T::scale_t scale[CONFIG_T::n_chan],
               const typename CONFIG_T::shift_t shift[CONFIG_T::n_chan]) {
    // Every channel of a beat in one cycle: one register per scale and shift.
    #pragma HLS ARRAY_PARTITION variable=scale complete
    #pragma HLS ARRAY_PARTITION variable=shift complete
    map_elements<data_T, res_T, CONFIG_T, batchnorm_op<CONFIG_T> >(in, out, scale, shift);
}

}  // namespace nnet

#endif
