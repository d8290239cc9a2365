// merge_bn_threshold (Compatibility: hls4ml only): hls4ml's MergeBatchNormAndQuantizedTanh
// and QuantizeDenseOutput (backends/vivado/passes/bn_quant.py, fpga_layers.py). A
// BatchNormalization followed by binary_tanh / ternary_tanh becomes one threshold on the
// BatchNorm's input, so no 16-bit BatchNorm result can wrap before the sign is taken:
//   t_c = -shift_c / scale_c (float32, as hls4ml's numpy), T = floor(t * 2^F) / 2^F with F
//   the input type's fraction bits; binary: +1 iff x >= T_c; ternary: +1 iff x > T_hi,
//   -1 iff x <= T_lo, with T_hi/lo = floor((t +- 0.5/scale) * 2^F) / 2^F.
// A binary/ternary Dense or Conv whose input is such a threshold adds +-1 terms: hls4ml
// gives its accum and result ap_int<ceil(log2 n) + 2> (the sum, exact) and drops its bias.
// Tachyon mode keeps the BatchNorm and its configured types (Tachyon's accurate path).
#include "passes/Pass.h"

#include <algorithm>
#include <cmath>
#include <iostream>

namespace tachyon {

namespace {

bool isLevels(const QuantizeAttrs& a, std::initializer_list<double> levels) {
    return a.mode == QuantizeMode::Threshold && a.levels == std::vector<double>(levels);
}

bool isSignLike(const Layer& l) {
    if (l.kind != LayerKind::Quantize) return false;
    const auto& a = l.as<QuantizeAttrs>();
    return (a.nThresholds == 1 && isLevels(a, {-1.0, 1.0})) || (a.nThresholds == 2 && isLevels(a, {-1.0, 0.0, 1.0}));
}

// Weights of +-1 (binary) or -1/0/+1 (ternary).
bool hasBinaryOrTernaryWeights(const Layer& l) {
    const auto& w = l.params.at("weight");
    return !w.empty() && std::all_of(w.begin(), w.end(), [](double v) { return v == 1.0 || v == -1.0 || v == 0.0; });
}

double floorToGrid(float t, int frac) {
    const float scaled = t * std::ldexp(1.0f, frac);   // float32 as hls4ml's numpy arrays
    return std::ldexp(std::floor(double(scaled)), -frac);
}

// hls4ml's QuantizeDenseOutput: the +-1 sum of a binary/ternary layer fed by a threshold.
void typeSignSum(Layer& mac) {
    const int n = macDims(mac).nIn;
    int bits = 0;
    while ((1LL << bits) < n) ++bits;
    const FixedType sum = FixedType::parse("ap_int<" + std::to_string(bits + 2) + ">");
    mac.precision["accum"] = sum;
    mac.precision["result"] = sum;
    std::fill(mac.param("bias").begin(), mac.param("bias").end(), 0.0);
}

}  // namespace

void mergeBatchNormThreshold(Graph& g, const Config& cfg) {
    if (cfg.compatibility != Compatibility::Hls4ml) return;
    // The sign layers whose BatchNorm merges into them (by name: the graph changes below).
    std::vector<std::string> merged;
    for (const Layer& q : g.layers) {
        if (!isSignLike(q)) continue;
        const Layer* bn = g.find(q.input());
        if (bn && bn->kind == LayerKind::BatchNorm && g.consumers(bn->name).size() == 1 && g.find(bn->input()))
            merged.push_back(q.name);
    }
    auto isMerged = [&](const std::string& name) { return std::count(merged.begin(), merged.end(), name) != 0; };
    // QuantizeDenseOutput first: the thresholds after such a layer are on its integer grid.
    for (Layer& l : g.layers)
        if (isMac(l) && hasBinaryOrTernaryWeights(l) && isMerged(l.input())) typeSignSum(l);
    for (const std::string& name : merged) {
        Layer& q = *g.find(name);
        const Layer& bn = *g.find(q.input());
        const int frac = g.find(bn.input())->type("result").frac();
        auto& a = q.as<QuantizeAttrs>();
        const auto& scale = bn.param("scale");
        const auto& shift = bn.param("shift");
        std::vector<double> thresholds;
        bool ascending = true;
        for (size_t c = 0; c < scale.size(); ++c) {
            const float s = float(scale[c]), t = -float(shift[c]) / s;
            if (a.nThresholds == 1) {
                thresholds.push_back(floorToGrid(t, frac));
            } else {
                const double lo = floorToGrid(-0.5f / s + t, frac), hi = floorToGrid(0.5f / s + t, frac);
                ascending = ascending && lo <= hi;
                thresholds.insert(thresholds.end(), {lo, hi});
            }
        }
        if (!ascending) {   // a negative scale: hls4ml's ternary comparison has no threshold form here
            std::cerr << "tachyon: warning: layer '" << bn.name
                      << "': BatchNorm with a negative scale before ternary_tanh is kept (not merged as hls4ml does)\n";
            continue;
        }
        a.thresholds = thresholds;
        a.strict = a.nThresholds == 1 ? std::vector<int>{0} : std::vector<int>{1, 1};
        const std::string bnName = bn.name;
        q.inputs = bn.inputs;
        std::string& folded = g.recorded["FoldedBatchNorm"];
        folded += (folded.empty() ? "" : ",") + bnName;
        g.layers.erase(std::find_if(g.layers.begin(), g.layers.end(), [&](const Layer& l) { return l.name == bnName; }));
    }
}

}  // namespace tachyon
