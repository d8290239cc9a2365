// Pooling constants: each output position's window as spatial input indices (ih * inW + iw),
// -1 where it covers padding; a global pooling has one position covering every input.
#include "lower/Lower.h"

namespace tachyon {

LayerConstants lowerPooling(const Graph&, const Layer& l, const std::vector<LoweredInput>& ins) {
    const PoolAttrs& a = l.as<PoolAttrs>();
    const Shape& in = ins.at(0).shape;
    const int rank = a.rank;
    const int inH = rank == 2 ? in[0] : 1, inW = in[size_t(rank - 1)];
    LayerConstants c;
    if (a.global) {
        for (int p = 0; p < inH * inW; ++p) c.window.push_back(p);
        return c;
    }
    const int kH = rank == 2 ? a.kernel[0] : 1, kW = a.kernel[size_t(rank - 1)];
    const int sH = rank == 2 ? a.strides[0] : 1, sW = a.strides[size_t(rank - 1)];
    const int pT = rank == 2 ? a.padBegin[0] : 0, pL = a.padBegin[size_t(rank - 1)];
    const int outH = rank == 2 ? l.shape[0] : 1, outW = l.shape[size_t(rank - 1)];
    for (int oh = 0; oh < outH; ++oh)
        for (int ow = 0; ow < outW; ++ow)
            for (int kh = 0; kh < kH; ++kh)
                for (int kw = 0; kw < kW; ++kw) {
                    const int ih = oh * sH - pT + kh, iw = ow * sW - pL + kw;
                    const bool inside = ih >= 0 && ih < inH && iw >= 0 && iw < inW;
                    c.window.push_back(inside ? ih * inW + iw : -1);
                }
    return c;
}

}  // namespace tachyon
