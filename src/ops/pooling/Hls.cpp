// HLS C++ of max and average pooling, windowed or global (nnet_utils/nnet_pooling.h).
#include "backends/hls/HlsEmit.h"

#include "util/Error.h"

#include <algorithm>
#include <string>
#include <vector>

namespace tachyon::hls {

void emitPooling(const Layer& l, const LayerInputs& in, const LoweredGraph&, LayerCode& c, ParamsText& p) {
    const PoolAttrs& a = l.as<PoolAttrs>();
    if (a.rank != 1 && a.rank != 2) throw Error(layerError(l, "only 1-D and 2-D pooling is supported"));
    const Shape& s = in.shapes[0];
    Geometry geo;
    if (a.global) {
        geo.inH = a.rank == 2 ? s[0] : 1;
        geo.inW = s[size_t(a.rank - 1)];
        geo.C = s.back();
        geo.kH = geo.inH;
        geo.kW = geo.inW;
    } else {
        geo = windowGeometry(a.rank, s, l.shape, a.kernel, a.strides, {}, a.padBegin);
    }
    const bool average = a.op == PoolOp::Average;
    const FixedType& inT = in.types[0];
    const int taps = geo.kH * geo.kW;
    // The exact sum of `taps` input values, signed.
    const int grow = bitsFor(taps) + 1 + (inT.isSigned ? 0 : 1);
    const FixedType sum = FixedType::fixed(inT.width + grow, inT.integer + grow, true);
    p.os << "// " << l.name << ": " << hlsClassName(l) << " " << shapeText(s) << " -> " << shapeText(l.shape)
         << (a.global ? "" : ", window " + std::to_string(geo.kH) + "x" + std::to_string(geo.kW) + ", stride " +
                                 std::to_string(geo.sH) + "x" + std::to_string(geo.sW))
         << (average && a.countPadding ? ", padding counted" : "") << "\n";
    p.typedefLine(l.type("result").str(), "result_t");
    divideTypes(l, p, sum, l.type("result"), taps, average);
    p.beginConfig("pooling_config");
    geo.emit(p);
    p.constant("unsigned", "reuse_factor", l.schedule.reuseFactor);
    p.constant("unsigned", "op", average ? "nnet::average_pool" : "nnet::max_pool");
    p.constant("bool", "count_padding", boolText(a.countPadding));
    p.constant("bool", "global", boolText(a.global));
    p.flushLater();
    p.endConfig();
    c.calls.push_back(oneCall("pooling", c, in, l.name));
}

}  // namespace tachyon::hls
