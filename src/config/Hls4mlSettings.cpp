// The parts of an hls4ml configuration beyond "which type does this variable have":
// Tachyon's rule for `auto` types, and the settings copied into the IR (softmax options,
// ParallelizationFactor, ClockUncertainty, recorded keys). See docs/config.md.
#include "config/Config.h"

#include "passes/Pass.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>

namespace tachyon {

namespace {

// The type a variable falls back to: the layer's (or model's) default precision.
FixedType fallbackType(const LayerConfig& lc, const std::string& source, const std::string& where) {
    auto it = lc.precision.find("default");
    const std::string text = it != lc.precision.end() ? it->second : "ap_fixed<16,6>";
    try {
        return FixedType::parse(text);
    } catch (const std::exception& e) {
        throw Error(source + ": " + where + ": " + e.what());
    }
}

FixedType parsedType(const LayerConfig& lc, const std::string& var, const std::string& source,
                     const std::string& where) {
    auto it = lc.precision.find(var);
    if (it == lc.precision.end()) return fallbackType(lc, source, where);
    try {
        return FixedType::parse(it->second);
    } catch (const std::exception& e) {
        throw Error(source + ": " + where + ": " + e.what());
    }
}

// Bits of a signed type whose raw range holds `raw`.
int signedBitsFor(Int128 raw) {
    Int128 m = raw < 0 ? -(raw + 1) : raw;
    int bits = 1;
    while (m > 0) {
        m >>= 1;
        ++bits;
    }
    return bits;
}

// hls4ml's cap on inferred types: width and integer bits each at most the maximum's.
FixedType capped(FixedType t, const LayerConfig& lc, const std::string& source, const std::string& where) {
    auto it = lc.precision.find("maximum");
    if (it != lc.precision.end()) {
        const FixedType m = parsedType(lc, "maximum", source, where);
        t.width = std::min(t.width, m.width);
        t.integer = std::min(t.integer, m.integer);
    }
    if (t.width > FixedType::kMaxWidth)
        throw Error(source + ": " + where + ": auto needs " + std::to_string(t.width) + " bits, more than " +
                    std::to_string(FixedType::kMaxWidth) + " (set Model.Precision.maximum or an explicit type)");
    return t;
}

std::string where(const Layer& l, const std::string& var) {
    return "layer '" + l.name + "' (" + toString(l.kind) + ") " + var + ": auto";
}

// Exact type of x * scale + shift over every input of type `in` (BatchNorm's result).
FixedType exactBatchNormType(const Layer& l, const FixedType& in, const FixedType& sT, const FixedType& shT) {
    const int frac = std::max(in.frac() + sT.frac(), shT.frac());
    const double maxX = double(std::max(-in.minRaw(), in.maxRaw()));
    double worst = 0;
    const auto& scale = l.param("scale");
    const auto& shift = l.param("shift");
    for (size_t j = 0; j < scale.size(); ++j) {
        const double s = std::fabs(double(sT.castDouble(scale[j]))) * std::ldexp(1.0, frac - in.frac() - sT.frac());
        const double b = std::fabs(double(shT.castDouble(shift[j]))) * std::ldexp(1.0, frac - shT.frac());
        worst = std::max(worst, maxX * s + b + 1);  // +1: one unit of margin for double rounding
    }
    const int magnitude = worst < 1 ? 0 : int(std::ceil(std::log2(worst + 1)));
    return FixedType::fixed(magnitude + 1, magnitude + 1 - frac, true);
}

}  // namespace

FixedType autoParameterType(const Layer& layer, const std::string& var, const std::vector<double>& values,
                            const LayerConfig& lc, const std::string& source) {
    const std::string at = where(layer, var);
    const FixedType base = fallbackType(lc, source, at);
    // Quantise at the default's LSB with its rounding mode, in a type wide enough to hold
    // any double we meet in a model, then keep just the integer bits the values need.
    FixedType probe = FixedType::fixed(FixedType::kMaxWidth, FixedType::kMaxWidth - base.frac(), true);
    probe.quant = base.quant;
    probe.overflow = Overflow::SAT;
    int bits = 1;
    for (double v : values) bits = std::max(bits, signedBitsFor(probe.castDouble(v)));
    FixedType t = FixedType::fixed(bits, bits - base.frac(), true);
    t.quant = base.quant;
    return capped(t, lc, source, at);
}

FixedType autoAccumType(const Layer& layer, const FixedType& input, const LayerConfig& lc, const std::string& source) {
    return capped(autoAccumulator(layer, input), lc, source, where(layer, "accum"));
}

FixedType autoResultType(const Layer& layer, const FixedType* input, const LayerConfig& lc,
                         const std::string& source) {
    const std::string at = where(layer, "result");
    switch (layer.kind) {
    case LayerKind::Dense:
    case LayerKind::Conv: {
        // The accumulator already holds the exact sum (or the configured accum type): the
        // result keeps it, so there is no second rounding.
        Layer typed = layer;
        typed.precision["weight"] = parsedType(lc, "weight", source, at);
        typed.precision["bias"] = parsedType(lc, "bias", source, at);
        auto acc = lc.precision.find("accum");
        const bool autoAcc = acc != lc.precision.end() && acc->second == "auto";
        return autoAcc ? autoAccumType(typed, *input, lc, source) : capped(parsedType(lc, "accum", source, at), lc, source, at);
    }
    case LayerKind::BatchNorm:
        return capped(exactBatchNormType(layer, *input, parsedType(lc, "scale", source, at),
                                         parsedType(lc, "shift", source, at)),
                      lc, source, at);
    case LayerKind::Reshape:
    case LayerKind::Transpose:
    case LayerKind::Pad:
    case LayerKind::Resize:
        return *input;
    case LayerKind::Pooling:
        // A maximum is exact in the input type; an average rounds anyway.
        if (layer.as<PoolAttrs>().op == PoolOp::Max) return *input;
        return fallbackType(lc, source, at);
    case LayerKind::Activation:
        // These are exact in the input type; the others round anyway (default precision).
        if (layer.activation() == ActKind::Linear || layer.activation() == ActKind::ReLU ||
            layer.activation() == ActKind::ReLU6)
            return *input;
        return fallbackType(lc, source, at);
    case LayerKind::Input:
    case LayerKind::Softmax:
    case LayerKind::Merge:
    case LayerKind::Concatenate:
    case LayerKind::Recurrent:
    case LayerKind::GarNet:
    case LayerKind::MatMul:
    case LayerKind::LayerNorm:
    case LayerKind::TreeEnsemble: return fallbackType(lc, source, at);
    case LayerKind::Quantize: return fallbackType(lc, source, at);
    case LayerKind::Reduce:
    case LayerKind::Pow: return fallbackType(lc, source, at);
    }
    return fallbackType(lc, source, at);
}

void recordProjectSettings(Graph& g, const Config& cfg) {
    // fold_batchnorm (which runs first) lists the BatchNorms it folded: keep that.
    auto folded = g.recorded.find("FoldedBatchNorm");
    const std::string foldedNames = folded != g.recorded.end() ? folded->second : "";
    g.recorded = cfg.model.recorded;
    if (!foldedNames.empty()) g.recorded["FoldedBatchNorm"] = foldedNames;
    if (cfg.traceOutput) g.recorded["TraceOutput"] = "true";
}

void recordLayerSettings(Layer& l, const LayerConfig& lc) {
    if (lc.parallelizationFactor) l.schedule.parallelizationFactor = *lc.parallelizationFactor;
    l.trace = lc.trace;
    if (l.kind != LayerKind::Softmax) return;
    if (lc.softmaxImplementation) l.softmax.implementation = *lc.softmaxImplementation;
    if (lc.softmaxSkip) l.softmax.skip = *lc.softmaxSkip;
    // hls4ml's stable/latency softmax types, kept in the precision map for the backends.
    for (const char* var : {"inv_inp", "accum"}) {
        auto it = lc.precision.find(var);
        if (it != lc.precision.end() && it->second != "auto") l.precision[var] = FixedType::parse(it->second);
    }
    if (l.softmax.implementation == SoftmaxImpl::Tachyon) return;
    // hls4ml's softmax (an Implementation given explicitly): hls4ml's defaults for every
    // helper type and table size the configuration leaves open (fpga_backend.py: exp_table,
    // inv_table, inv_inp ap_fixed<18,8,AP_RND,AP_SAT>; table ap_fixed<18,8>; accum the
    // layer's default precision, as hls4ml's get_precision(layer, 'accum'); table_size 1024).
    auto configured = [&](const char* var) { return lc.precision.count(var) != 0; };
    const FixedType tableDefault = FixedType::parse("ap_fixed<18,8,AP_RND,AP_SAT>");
    for (const char* var : {"exp_table", "inv_table", "inv_inp"})
        if (!configured(var)) l.precision[var] = tableDefault;
    if (!configured("table")) l.precision["table"] = FixedType::parse("ap_fixed<18,8>");
    else l.precision["table"] = FixedType::parse(lc.precision.at("table"));
    if (!configured("accum") || lc.precision.at("accum") == "auto") {
        auto def = lc.precision.find("default");
        l.precision["accum"] = FixedType::parse(def != lc.precision.end() ? def->second : "ap_fixed<16,6>");
    }
    // exp table: table_size; inverse table: inv_table_size, or 0 = table_size after hls4ml's
    // FixSoftmaxTableSize (emulator/Tables.cpp).
    l.table.size = lc.tableSize.value_or(1024);
    l.invTable.size = lc.invTableSize.value_or(0);
}

void requireEmulatedArithmetic(const Graph& g) {
    for (const Layer& l : g.layers) {
        if (l.kind != LayerKind::Softmax) continue;
        const std::string at = "model '" + g.name + "', layer '" + l.name + "' (Softmax): ";
        if (l.softmax.skip)
            throw Error(at + "Skip: true is recorded but not applied yet (hls4ml would drop this softmax); "
                             "set Skip: false or export the model without its softmax");
    }
}

}  // namespace tachyon
