// Quantizers of quantisation-aware models (LayerKind::Quantize; docs/semantics.md,
// "Quantize"), written for Tachyon. The arithmetic of element i is the layer config's
// value<data_T, res_T>(i, x), generated per layer in parameters.h: a cast through the
// element's quantiser type (QKeras, HGQ, QONNX Quant) or a count of the thresholds x
// reaches, which picks one of the levels (binary, ternary, BipolarQuant, MultiThreshold).
// Every i is a constant once the loops are unrolled, so each element's quantiser is fixed
// logic.
#ifndef NNET_QUANTIZE_H_
#define NNET_QUANTIZE_H_

#include "nnet_common.h"

namespace nnet {

struct quantize_config {
    static const unsigned n_in = 1;
    static const unsigned n_chan = 1;
    static const unsigned reuse_factor = 1;
};

template <class data_T, class res_T, typename CONFIG_T>
void quantize(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_in]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        y[i] = CONFIG_T::template value<data_T, res_T>(i, x[i]);
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void quantize(hls::stream<data_T>& in, hls::stream<res_T>& out) {
    for (unsigned p = 0; p < CONFIG_T::n_in / CONFIG_T::n_chan; p++) {
        #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
        const data_T x = in.read();
        res_T y;
        for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
            #pragma HLS UNROLL
            y[c] = CONFIG_T::template value<typename data_T::value_type, typename res_T::value_type>(p * CONFIG_T::n_chan + c, x[c]);
        }
        out.write(y);
    }
}

}  // namespace nnet

#endif
