// The loop of element-wise layers (activations, BatchNorm, Quantize, Pow):
// y[i] = OP_T::value<in, out>(i, x[i], params...) for every element, all in parallel
// (io_parallel) or one beat of n_chan elements per II (io_stream). OP_T supplies the
// arithmetic; the element's flat index i lets it pick a per-element type or a per-channel
// parameter (i % n_chan), and is a constant once the loops unroll. `params` (tables,
// scales) reach OP_T unchanged; the caller partitions them as its schedule needs.
#ifndef NNET_ELEMENTWISE_H_
#define NNET_ELEMENTWISE_H_

#include "nnet_common.h"

namespace nnet {

template <class data_T, class res_T, typename CONFIG_T, class OP_T, class... PARAMS>
void map_elements(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_in], PARAMS... params) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        y[i] = OP_T::template value<data_T, res_T>(i, x[i], params...);
    }
}

template <class data_T, class res_T, typename CONFIG_T, class OP_T, class... PARAMS>
void map_elements(hls::stream<data_T>& in, hls::stream<res_T>& out, PARAMS... params) {
    #pragma HLS INLINE
    typedef typename data_T::value_type in_t;
    typedef typename res_T::value_type out_t;
    for (unsigned p = 0; p < CONFIG_T::n_in / CONFIG_T::n_chan; p++) {
        #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
        const data_T x = in.read();
        res_T y;
        for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
            #pragma HLS UNROLL
            y[c] = OP_T::template value<in_t, out_t>(p * CONFIG_T::n_chan + c, x[c], params...);
        }
        out.write(y);
    }
}

}  // namespace nnet

#endif
