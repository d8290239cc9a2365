// Quantizers of quantisation-aware models (LayerKind::Quantize; docs/semantics.md,
// "Quantize"), written for Tachyon. The arithmetic of element i is the layer config's
// value<data_T, res_T>(i, x), generated per layer in parameters.h: a cast through the
// element's quantiser type (QKeras, HGQ, QONNX Quant) or a count of the thresholds x
// reaches, which picks one of the levels (binary, ternary, BipolarQuant, MultiThreshold).
// Every i is a constant once the loops are unrolled, so each element's quantiser is fixed
// logic.
#ifndef NNET_QUANTIZE_H_
#define NNET_QUANTIZE_H_

#include "nnet_elementwise.h"

namespace nnet {

struct quantize_config {
    static const unsigned n_in = 1;
    static const unsigned n_chan = 1;
    static const unsigned reuse_factor = 1;
};

// The layer config is the element operation: its value<data_T, res_T>(i, x).
template <class data_T, class res_T, typename CONFIG_T>
void quantize(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_in]) {
    map_elements<data_T, res_T, CONFIG_T, CONFIG_T>(x, y);
}

template <class data_T, class res_T, typename CONFIG_T>
void quantize(hls::stream<data_T>& in, hls::stream<res_T>& out) {
    map_elements<data_T, res_T, CONFIG_T, CONFIG_T>(in, out);
}

}  // namespace nnet

#endif
