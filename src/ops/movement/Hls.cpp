// HLS C++ of the data-movement layers: Reshape, Transpose, Pad, Resize (nnet_utils/nnet_movement.h).
#include "backends/hls/HlsEmit.h"

#include "util/Error.h"

#include <algorithm>
#include <array>
#include <string>
#include <vector>

namespace tachyon::hls {

// A shape as [d0, d1, d2] (leading 1s), the last axis kept last.
std::array<int, 3> as3(const Layer& l, const Shape& s) {
    if (s.size() > 3) throw Error(layerError(l, "tensors of more than 3 axes per sample are not supported"));
    std::array<int, 3> d{1, 1, 1};
    for (size_t k = 0; k < s.size(); ++k) d[3 - s.size() + k] = s[k];
    return d;
}

void movementHeader(const Layer& l, const LayerInputs& in, ParamsText& p, const std::string& what) {
    p.os << "// " << l.name << ": " << what << " " << shapeText(in.shapes[0]) << " -> " << shapeText(l.shape) << "\n";
    p.typedefLine(l.type("result").str(), "result_t");
    p.beginConfig("movement_config");
    int nIn = 1;
    for (int d : in.shapes[0]) nIn *= d;
    p.constant("unsigned", "n_in", nIn);
    p.constant("unsigned", "n_out", l.outSize());
    p.constant("unsigned", "in_chan", in.shapes[0].back());
    p.constant("unsigned", "out_chan", l.shape.back());
    p.constant("unsigned", "reuse_factor", l.schedule.reuseFactor);
}

void emitMovement(const Layer& l, const LayerInputs& in, const LoweredGraph&, LayerCode& c, ParamsText& p) {
    switch (l.kind) {
    case LayerKind::Reshape:
        movementHeader(l, in, p, "Reshape");
        p.endConfig();
        c.calls.push_back(oneCall("reshape", c, in, l.name));
        return;
    case LayerKind::Transpose: {
        const auto& perm = l.as<TransposeAttrs>().perm;
        std::string permText;
        for (int q : perm) permText += (permText.empty() ? "" : ",") + std::to_string(q);
        movementHeader(l, in, p, "Transpose (" + permText + ")");
        p.endConfig();
        const Shape& is = in.shapes[0];
        const Shape& os = l.shape;
        std::vector<long long> inStride(is.size(), 1), outStride(os.size(), 1);
        for (size_t d = is.size(); d-- > 1;) inStride[d - 1] = inStride[d] * is[d];
        for (size_t d = os.size(); d-- > 1;) outStride[d - 1] = outStride[d] * os[d];
        auto source = [&](size_t k) {
            long long src = 0;
            for (size_t d = 0; d < os.size(); ++d) src += (long long)(k / size_t(outStride[d]) % size_t(os[d])) * inStride[size_t(perm[d])];
            return std::to_string(src);
        };
        c.constants.push_back({c.id + "_index.h",
                               header(c.id, "index", "// Output element i is input element " + c.id + "_index[i].\n" +
                                                         constArray("unsigned", c.id + "_index", size_t(l.outSize()), 16, source))});
        KernelCall k = oneCall("transpose", c, in, l.name);
        k.constantArgs = {c.id + "_index"};
        c.calls.push_back(k);
        return;
    }
    case LayerKind::Pad: {
        const auto& a = l.as<PadAttrs>();
        movementHeader(l, in, p, "ZeroPadding");
        const auto di = as3(l, in.shapes[0]), dout = as3(l, l.shape);
        std::array<int, 3> pad{0, 0, 0};
        for (size_t k = 0; k < a.padBegin.size(); ++k) pad[3 - a.padBegin.size() + k] = a.padBegin[k];
        for (int k = 0; k < 3; ++k) {
            p.constant("unsigned", "in_d" + std::to_string(k), di[size_t(k)]);
            p.constant("unsigned", "out_d" + std::to_string(k), dout[size_t(k)]);
            p.constant("unsigned", "pad" + std::to_string(k), pad[size_t(k)]);
        }
        p.endConfig();
        c.calls.push_back(oneCall("zeropad", c, in, l.name));
        return;
    }
    case LayerKind::Resize: {
        const auto& a = l.as<ResizeAttrs>();
        movementHeader(l, in, p, "UpSampling (nearest)");
        const auto di = as3(l, in.shapes[0]), dout = as3(l, l.shape);
        std::array<int, 3> scale{1, 1, 1};
        for (size_t k = 0; k < a.scale.size(); ++k) scale[3 - a.scale.size() + k] = a.scale[k];
        for (int k = 0; k < 3; ++k) {
            p.constant("unsigned", "in_d" + std::to_string(k), di[size_t(k)]);
            p.constant("unsigned", "out_d" + std::to_string(k), dout[size_t(k)]);
            p.constant("unsigned", "scale" + std::to_string(k), scale[size_t(k)]);
        }
        p.endConfig();
        c.calls.push_back(oneCall("resize_nearest", c, in, l.name));
        return;
    }
    default: throw Error(layerError(l, "not a data-movement layer"));
    }
}

}  // namespace tachyon::hls
