// BatchNorm as netlist blocks: per channel, x * scale + shift as a shift-add graph, one cast.
#include "ops/batchnorm/Rtl.h"

#include "util/Error.h"

#include <algorithm>
#include <string>
#include <vector>

namespace tachyon::verilog {

namespace {

std::vector<Sig> batchNorm(RtlContext& c, const Layer& l, const LoweredGraph& low, const std::vector<Sig>& in,
                           const FixedType& inT) {
    const auto& scale = low.scaleRaw(l.name);
    const auto& shift = low.biasRaw(l.name);
    const int fp = inT.frac() + l.type("scale").frac();
    const int fs = l.type("shift").frac();
    const int f = std::max(fp, fs);
    std::vector<Sig> out;
    for (size_t k = 0; k < in.size(); ++k) {
        const size_t i = k % scale.size();   // per channel (last axis)
        Sig v = linearMap(c, {in[k]}, {scale[i]}, 1, 1, {Int128(shift[i]) << (f - fs)}, f - fp)[0];
        out.push_back(castTo(c, v, f, l.type("result")));
    }
    return out;
}

}  // namespace

std::vector<Sig> batchNormRtl(RtlContext& c, const Layer& l, const LoweredGraph& low, const std::vector<Sig>& in,
                              const FixedType& inT) {
    return batchNorm(c, l, low, in, inT);
}

}  // namespace tachyon::verilog
