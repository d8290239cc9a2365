// HLS C++ of BatchNorm as a per-channel scale and shift (nnet_utils/nnet_batchnorm.h).
#include "backends/hls/HlsEmit.h"

#include "util/Error.h"

#include <algorithm>
#include <string>
#include <vector>

namespace tachyon::hls {

void emitBatchNorm(const Layer& l, const LayerInputs& in, const LoweredGraph& low, LayerCode& c, ParamsText& p) {
    const auto& s = low.scaleRaw(l.name);
    const auto& h = low.biasRaw(l.name);
    const FixedType& sT = l.type("scale");
    const FixedType& hT = l.type("shift");
    p.os << "// " << l.name << ": BatchNormalization over " << shapeText(l.shape) << " (" << s.size()
         << " channels)\n";
    p.typedefLine(sT.str(), "scale_t");
    p.typedefLine(hT.str(), "shift_t");
    p.typedefLine(l.type("result").str(), "result_t");
    p.beginConfig("batchnorm_config");
    p.constant("unsigned", "n_in", l.outSize());
    p.constant("unsigned", "n_chan", s.size());
    p.constant("unsigned", "reuse_factor", l.schedule.reuseFactor);
    p.alias("scale_t");
    p.alias("shift_t");
    p.endConfig();
    std::string body = constArray(c.id + "_scale_t", c.id + "_scale", s.size(), 8, [&](size_t k) { return literal(sT, s[k]); });
    body += constArray(c.id + "_shift_t", c.id + "_shift", h.size(), 8, [&](size_t k) { return literal(hT, h[k]); });
    c.constants.push_back({c.id + "_s.h", header(c.id, "s", body)});
    KernelCall k = oneCall("batchnorm", c, in, l.name);
    k.constantArgs = {c.id + "_scale", c.id + "_shift"};
    c.calls.push_back(k);
}

}  // namespace tachyon::hls
