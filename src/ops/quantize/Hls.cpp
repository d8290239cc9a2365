// HLS C++ of Quantize layers (nnet_utils/nnet_quantize.h).
#include "backends/hls/HlsEmit.h"
#include "emulator/Cast.h"

#include <algorithm>

namespace tachyon::hls {

// Quantize: the config's value<data_T, res_T>(i, x) is element i's quantiser
// (nnet_quantize.h), generated here with the emulator's arithmetic (src/ops/quantize/Kernel.cpp).
void emitQuantize(const Layer& l, const LayerInputs& in, const LoweredGraph&, LayerCode& c, ParamsText& p) {
    const auto& a = l.as<QuantizeAttrs>();
    const FixedType& inT = in.types[0];
    const FixedType& outT = l.type("result");
    const int n = l.outSize();
    const int chan = l.shape.back();
    p.os << "// " << l.name << ": " << hlsClassName(l) << " quantiser over " << shapeText(l.shape) << "\n";
    p.typedefLine(outT.str(), "result_t");
    std::string value;   // the body of value(i, x)
    std::string tables;  // constant members the body reads
    if (a.mode == QuantizeMode::Fixed) {
        // One typedef per distinct quantiser type; `kind[i]` picks element i's (-1: a
        // pruned 0-bit element).
        std::vector<FixedType> types;
        std::vector<int> kind;
        for (size_t e = 0; e < a.width.size(); ++e) {
            if (a.width[e] == 0) {
                kind.push_back(-1);
                continue;
            }
            const FixedType t = a.elementType(e);
            auto it = std::find(types.begin(), types.end(), t);
            kind.push_back(int(it - types.begin()));
            if (it == types.end()) types.push_back(t);
        }
        for (size_t k = 0; k < types.size(); ++k) p.typedefLine(types[k].str(), "q" + std::to_string(k) + "_t");
        if (kind.size() == 1) {
            value = kind[0] < 0 ? "(void)i; (void)x; return R(0);" : "(void)i; return R(" + c.id + "_q0_t(x));";
        } else {
            for (size_t k = 0; k < types.size(); ++k)
                value += "case " + std::to_string(k) + ": return R(" + c.id + "_q" + std::to_string(k) + "_t(x)); ";
            value = "switch (kind[i]) { " + value + "default: return R(0); }";
            tables = "static const int kind[" + std::to_string(kind.size()) + "] = {";
            for (size_t e = 0; e < kind.size(); ++e) tables += (e ? ", " : "") + std::to_string(kind[e]);
            tables += "}; ";
        }
    } else {
        // Thresholds as bounds on the input (thresholdRaw), in a type one bit wider on each
        // side so that "always" (below the input's range) and "never" (above it) are exact.
        const int f = inT.frac();
        const FixedType thrT = FixedType::fixed(inT.width + 2, inT.width - f + 2, true);
        const Int128 lo = inT.isSigned ? -(Int128(1) << (inT.width - 1)) : Int128(0);
        const Int128 hi = (inT.isSigned ? (Int128(1) << (inT.width - 1)) : (Int128(1) << inT.width)) - 1;
        std::vector<int64_t> thr;
        for (size_t k = 0; k < a.thresholds.size(); ++k) {
            const Int128 r = thresholdRaw(a.thresholds[k], f, a.strict[k % size_t(a.nThresholds)] != 0);
            thr.push_back(int64_t(std::clamp(r, lo, hi + 1)));
        }
        const bool perChannel = a.thresholds.size() > size_t(a.nThresholds);
        p.typedefLine(thrT.str(), "threshold_t");
        std::string t = "static const " + c.id + "_threshold_t threshold[" + std::to_string(thr.size()) + "] = {";
        for (size_t k = 0; k < thr.size(); ++k) t += (k ? ", " : "") + literal(thrT, thr[k]);
        tables += t + "}; ";
        std::string lv = "static const " + c.id + "_result_t level[" + std::to_string(a.levels.size()) + "] = {";
        for (size_t k = 0; k < a.levels.size(); ++k) lv += (k ? ", " : "") + literal(outT, int64_t(outT.castDouble(a.levels[k])));
        tables += lv + "}; ";
        value = "const unsigned base = " + std::string(perChannel ? "(i % n_chan) * n_thresholds" : "0") +
                "; unsigned count = 0; for (unsigned k = 0; k < n_thresholds; k++) { count += (" + c.id +
                "_threshold_t(x) >= threshold[base + k]) ? 1 : 0; } return R(level[count]);";
    }
    p.beginConfig("quantize_config");
    p.constant("unsigned", "n_in", n);
    p.constant("unsigned", "n_chan", chan);
    p.constant("unsigned", "reuse_factor", l.schedule.reuseFactor);
    if (a.mode == QuantizeMode::Threshold) p.constant("unsigned", "n_thresholds", a.nThresholds);
    // Function-local constants: a static data member indexed at run time would need a
    // definition outside the struct before C++17.
    p.os << "    template <class D, class R> static R value(unsigned i, D x) {\n        " << tables << value << "\n    }\n";
    p.endConfig();
    c.calls.push_back(oneCall("quantize", c, in, l.name));
}

}  // namespace tachyon::hls
