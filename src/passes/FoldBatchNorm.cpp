// fold_batchnorm: a BatchNormalization that directly follows a Dense or Conv layer (with
// no activation in between, and nothing else reading that layer's output) can be folded
// into its weights: w'_ij = w_ij * scale_j, b'_j = b_j * scale_j + shift_j. In real
// arithmetic this is the same function, but in fixed point it is not: the folded weights
// are quantised once (instead of weights, scale and shift separately) and the BatchNorm's
// own cast disappears, so the numbers change. When to fold is the configuration key
// `FoldBatchNorm` (Model, LayerType BatchNormalization or LayerName of the BatchNorm):
//   auto (default): hls4ml's rule (FuseBatchNormalization, model/optimizer/passes/bn_fuse.py):
//          fold only when the Dense/Conv layer's result type is `auto` (hls4ml: unspecified),
//          or when folding is exact (scale 1 and shift 0 everywhere, and the BatchNorm's
//          result type equals the layer's);
//   always: Tachyon's accurate fold, wherever the graph allows it (the folded weights are
//          quantised from the exact products);
//   never : keep every BatchNormalization.
// Folded BatchNorms are listed in Graph::recorded["FoldedBatchNorm"], so that their
// LayerName entries (hls4ml writes one for every layer) are not reported as unknown.
#include "passes/Pass.h"

#include "util/Error.h"

#include <algorithm>

namespace tachyon {

namespace {

std::string foldMode(const LayerConfig& lc) {
    auto it = lc.recorded.find("FoldBatchNorm");
    return it == lc.recorded.end() ? "auto" : it->second;
}

std::string resultText(const LayerConfig& lc) {
    auto it = lc.precision.find("result");
    if (it != lc.precision.end()) return it->second;
    it = lc.precision.find("default");
    return it != lc.precision.end() ? it->second : "ap_fixed<16,6>";
}

// Folding changes nothing at all: the BatchNorm is the identity and its cast is too.
bool exactFold(const Layer& bn, const LayerConfig& macCfg, const LayerConfig& bnCfg) {
    const auto& scale = bn.param("scale");
    const auto& shift = bn.param("shift");
    if (!std::all_of(scale.begin(), scale.end(), [](double s) { return s == 1.0; })) return false;
    if (!std::all_of(shift.begin(), shift.end(), [](double s) { return s == 0.0; })) return false;
    const std::string a = resultText(macCfg), b = resultText(bnCfg);
    if (isAutoText(a) || isAutoText(b)) return false;
    try {
        return FixedType::parse(a) == FixedType::parse(b);
    } catch (const std::exception&) {
        return false;   // assign_precision reports bad types
    }
}

bool shouldFoldBatchNorm(const Layer& bn, const Layer& mac, const Config& cfg) {
    const LayerConfig bnCfg = cfg.resolve(bn);
    const std::string mode = foldMode(bnCfg);
    if (mode == "never") return false;
    if (mode == "always") return true;
    const LayerConfig macCfg = cfg.resolve(mac);
    return isAutoText(resultText(macCfg)) || exactFold(bn, macCfg, bnCfg);
}

}  // namespace

void foldBatchNorm(Graph& g, const Config& cfg) {
    for (size_t k = 1; k < g.layers.size(); ++k) {
        Layer& bn = g.layers[k];
        if (bn.kind != LayerKind::BatchNorm) continue;
        Layer* mac = g.find(bn.input());
        if (!mac || !isMac(*mac) || mac->activation() != ActKind::Linear) continue;
        if (mac->trained.count("weight")) continue;   // quantisation-aware weights stay as trained
        if (g.consumers(mac->name).size() != 1) continue;
        if (!shouldFoldBatchNorm(bn, *mac, cfg)) continue;
        const auto [nIn, nOut] = macDims(*mac);
        const auto& scale = bn.param("scale");
        const auto& shift = bn.param("shift");
        auto& w = mac->param("weight");
        auto& b = mac->param("bias");
        for (int i = 0; i < nIn; ++i)
            for (int j = 0; j < nOut; ++j) w[size_t(i) * nOut + j] *= scale[size_t(j)];
        for (int j = 0; j < nOut; ++j) b[size_t(j)] = b[size_t(j)] * scale[size_t(j)] + shift[size_t(j)];
        // Readers of the BatchNorm now read the Dense/Conv layer.
        const std::string bnName = bn.name, macName = mac->name;
        for (Layer& l : g.layers)
            for (auto& in : l.inputs)
                if (in == bnName) in = macName;
        std::string& folded = g.recorded["FoldedBatchNorm"];
        folded += (folded.empty() ? "" : ",") + bnName;
        g.layers.erase(g.layers.begin() + long(k));
        --k;
    }
}

}  // namespace tachyon
