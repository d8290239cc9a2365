// Quantize layers as netlist blocks (see Rtl.h), with the emulator's constants:
// the same element types (QuantizeAttrs::elementType), threshold bounds (thresholdRaw)
// and levels (castDouble to the result type) as src/ops/quantize/Kernel.cpp.
#include "ops/quantize/Rtl.h"

#include "emulator/Cast.h"
#include "util/Error.h"

#include <algorithm>

namespace tachyon::verilog {

namespace {

[[noreturn]] void refuse(const Layer& l, const std::string& why) {
    throw Error("Verilog backend: layer " + l.name + " (Quantize): " + why);
}

// Which element of the attrs' per-element vectors value k of `in` uses: k itself for the
// whole tensor, or channel k of a streamed pixel when every pixel has the same quantiser.
size_t elementOf(const Layer& l, const std::vector<Sig>& in, size_t k) {
    const auto& a = l.as<QuantizeAttrs>();
    if (a.width.size() == 1) return 0;
    if (in.size() == a.width.size()) return k;
    const size_t channels = in.size();
    for (size_t e = k + channels; e < a.width.size(); e += channels)
        if (a.elementType(e) != a.elementType(k) || (a.width[e] == 0) != (a.width[k] == 0))
            refuse(l, "per-element quantisers that differ between pixels of a stream (the streaming RTL applies one "
                      "quantiser per channel)");
    return k;
}

std::vector<Sig> fixedMode(RtlContext& c, const Layer& l, const std::vector<Sig>& in, const FixedType& inT) {
    const auto& a = l.as<QuantizeAttrs>();
    const FixedType& outT = l.type("result");
    std::vector<Sig> out;
    for (size_t k = 0; k < in.size(); ++k) {
        const size_t e = elementOf(l, in, k);
        if (a.width[e] == 0) {   // pruned (HGQ): always 0
            out.push_back(constant(c, 0));
            continue;
        }
        const FixedType t = a.elementType(e);
        out.push_back(castTo(c, castTo(c, in[k], inT.frac(), t), t.frac(), outT));
    }
    return out;
}

// levels[base + #{k : x >= bounds[k]}] for ascending bounds that all lie in (x.lo, x.hi].
Sig thresholdChain(RtlContext& c, Sig x, const std::vector<Int128>& bounds, const std::vector<Int128>& levels) {
    Node n;
    n.name = c.nl.freshName(c.prefix + "thr");
    n.ops = {x};
    n.lo = *std::min_element(levels.begin(), levels.end());
    n.hi = *std::max_element(levels.begin(), levels.end());
    int depth = 0;
    while ((size_t(1) << depth) < bounds.size() + 1) ++depth;
    n.delay = c.delay.compare(c.nl.node(x).width) + c.delay.logic() * depth;
    n.body = [bounds, levels](std::ostream& os, const std::vector<std::string>& o, const std::string& self) {
        os << "  assign " << self << " =";
        for (size_t k = bounds.size(); k-- > 0;)
            os << " (" << o[0] << " >= " << literal(bounds[k]) << ") ? " << literal(levels[k + 1]) << " :";
        os << " " << literal(levels[0]) << ";\n";
    };
    return c.nl.add(std::move(n));
}

std::vector<Sig> thresholdMode(RtlContext& c, const Layer& l, const std::vector<Sig>& in, const FixedType& inT) {
    const auto& a = l.as<QuantizeAttrs>();
    const FixedType& outT = l.type("result");
    const size_t nThr = size_t(a.nThresholds);
    std::vector<Int128> level;
    for (double v : a.levels) level.push_back(outT.castDouble(v));
    if (nThr == 0) return std::vector<Sig>(in.size(), constant(c, level.at(0)));
    const size_t rows = a.thresholds.size() / nThr;
    const size_t channels = size_t(l.shape.back());
    std::vector<Sig> out;
    for (size_t k = 0; k < in.size(); ++k) {
        const size_t row = rows == 1 ? 0 : k % channels;
        std::vector<Int128> bound;
        for (size_t j = 0; j < nThr; ++j)
            bound.push_back(thresholdRaw(a.thresholds[row * nThr + j], inT.frac(), a.strict[j] != 0));
        std::sort(bound.begin(), bound.end());
        const Node& x = c.nl.node(in[k]);
        const size_t always = size_t(std::count_if(bound.begin(), bound.end(), [&](Int128 b) { return b <= x.lo; }));
        const size_t never = size_t(std::count_if(bound.begin(), bound.end(), [&](Int128 b) { return b > x.hi; }));
        const std::vector<Int128> live(bound.begin() + ptrdiff_t(always), bound.end() - ptrdiff_t(never));
        const std::vector<Int128> reach(level.begin() + ptrdiff_t(always), level.begin() + ptrdiff_t(always + live.size() + 1));
        out.push_back(live.empty() ? constant(c, reach[0]) : thresholdChain(c, in[k], live, reach));
    }
    return out;
}

}  // namespace

std::vector<Sig> quantizeRtl(RtlContext& c, const Layer& l, const std::vector<Sig>& in, const FixedType& inT) {
    const auto& a = l.as<QuantizeAttrs>();
    if (a.mode == QuantizeMode::Fixed) return fixedMode(c, l, in, inT);
    return thresholdMode(c, l, in, inT);
}

std::vector<Sig> quantizeLayerRtl(RtlContext& c, const Layer& l, const LoweredGraph&, const std::vector<Sig>& in,
                   const FixedType& inT) {
    return quantizeRtl(c, l, in, inT);
}

}  // namespace tachyon::verilog
