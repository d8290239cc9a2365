// hls4ml's defaults for what a configuration leaves open, for `Compatibility: hls4ml`
// (docs/config.md): its type inference for `auto` (hls4ml model/optimizer/passes/
// infer_precision.py, InferPrecisionTypes) and the decimal text its writer stores
// constants as. Tachyon's own rule is in Hls4mlSettings.cpp (autoResultType, ...).
#include "config/Config.h"

#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace tachyon {

namespace {

int ceilLog2(int n) {
    int bits = 0;
    while ((1LL << bits) < n) ++bits;
    return bits;
}

FixedType parsedVar(const LayerConfig& lc, const std::string& var, const FixedType& fallback,
                    const std::string& source, const std::string& at) {
    auto it = lc.precision.find(var);
    if (it == lc.precision.end()) it = lc.precision.find("default");
    if (it == lc.precision.end()) return fallback;
    try {
        return FixedType::parse(it->second);
    } catch (const std::exception& e) {
        throw Error(source + ": " + at + ": " + e.what());
    }
}

// hls4ml's inferred types are FixedPrecisionType(width, integer, signed): AP_TRN, AP_WRAP,
// capped by Model.Precision.maximum (width and integer bits each).
FixedType inferred(int width, int integer, bool isSigned, const LayerConfig& lc, const std::string& source,
                   const std::string& at) {
    auto max = lc.precision.find("maximum");
    if (max != lc.precision.end()) {
        const FixedType m = parsedVar(lc, "maximum", FixedType{}, source, at);
        width = std::min(width, m.width);
        integer = std::min(integer, m.integer);
    }
    if (width < 1 || width > FixedType::kMaxWidth)
        throw Error(source + ": " + at + ": hls4ml's auto rule gives " + std::to_string(width) + " bits, more than " +
                    std::to_string(FixedType::kMaxWidth) + " (set Model.Precision.maximum or an explicit type)");
    return FixedType::fixed(width, integer, isSigned);
}

// _infer_common_precision: a product of input and weight summed over n terms, plus the bias.
FixedType macType(const FixedType& in, const FixedType& w, const FixedType& b, int n, const LayerConfig& lc,
                  const std::string& source, const std::string& at) {
    int width = w.width + in.width + ceilLog2(n);
    int integer = w.integer + in.integer + ceilLog2(n);
    bool isSigned = w.isSigned || in.isSigned;
    const int frac = width - integer;
    integer = std::max(integer + (b.isSigned && !isSigned), b.integer + (isSigned && !b.isSigned)) + 1;
    width = integer + std::max(frac, b.width - b.integer);
    isSigned = isSigned || b.isSigned;
    return inferred(width, integer, isSigned, lc, source, at);
}

// _infer_bn_precision: x * scale + bias.
FixedType batchNormType(const FixedType& in, const FixedType& s, const FixedType& b, const LayerConfig& lc,
                        const std::string& source, const std::string& at) {
    const bool scaledSigned = s.isSigned || in.isSigned;
    const int scaledWidth = in.width + s.width, scaledInteger = in.integer + s.integer;
    const int integer =
        std::max(scaledInteger + (b.isSigned && !scaledSigned), b.integer + (scaledSigned && !b.isSigned)) + 1;
    const int width = integer + std::max(scaledWidth - scaledInteger, b.frac());
    return inferred(width, integer, scaledSigned || b.isSigned, lc, source, at);
}

// _infer_merge_precision and _infer_cat_precision.
FixedType mergeType(const Layer& l, const FixedType& a, const FixedType& b, const FixedType& modelDefault,
                    const LayerConfig& lc, const std::string& source, const std::string& at) {
    const bool isSigned = a.isSigned || b.isSigned;
    auto widened = [&](const FixedType& t) { return t.integer + (isSigned && !t.isSigned); };
    if (l.kind == LayerKind::Concatenate || l.as<MergeAttrs>().op == MergeOp::Maximum ||
        l.as<MergeAttrs>().op == MergeOp::Minimum) {
        if (a == b) return a;
        const int integer = std::max(widened(a), widened(b));
        const int width = std::max(a.frac(), b.frac()) + integer;
        if (l.kind != LayerKind::Concatenate) return FixedType::fixed(width, integer, isSigned);  // no cap in hls4ml
        FixedType t = inferred(width, integer, isSigned, lc, source, at);
        t.quant = a.quant != Quant::TRN ? a.quant : b.quant;
        t.overflow = a.overflow != Overflow::WRAP ? a.overflow : b.overflow;
        return t;
    }
    switch (l.as<MergeAttrs>().op) {
    case MergeOp::Add:
    case MergeOp::Subtract:
    case MergeOp::Average: {
        const int integer = std::max(a.integer + (b.isSigned && !a.isSigned), b.integer + (a.isSigned && !b.isSigned)) + 1;
        return inferred(integer + std::max(a.frac(), b.frac()), integer,
                        isSigned || l.as<MergeAttrs>().op == MergeOp::Subtract, lc, source, at);
    }
    case MergeOp::Multiply: return inferred(a.width + b.width, a.integer + b.integer, isSigned, lc, source, at);
    default: return modelDefault;
    }
}

}  // namespace

FixedType hls4mlAutoType(const Layer& l, const std::string& var, const std::vector<FixedType>& inputs,
                         const LayerConfig& lc, const FixedType& modelDefault, const std::string& source) {
    const std::string at = "layer '" + l.name + "' (" + toString(l.kind) + ") " + var + ": auto (hls4ml's rule)";
    if (inputs.empty()) return modelDefault;   // the Input: nothing to infer from
    const FixedType& in = inputs.front();
    switch (l.kind) {
    case LayerKind::Dense:
    case LayerKind::Conv:   // result and accum alike
        return macType(in, parsedVar(lc, "weight", modelDefault, source, at), parsedVar(lc, "bias", modelDefault, source, at),
                       macDims(l).nIn, lc, source, at);
    case LayerKind::BatchNorm:
        if (var != "result") break;
        return batchNormType(in, parsedVar(lc, "scale", modelDefault, source, at),
                             parsedVar(lc, "shift", modelDefault, source, at), lc, source, at);
    case LayerKind::Pooling:
        if (var == "result") return in;   // _infer_output_matching_precision
        if (l.as<PoolAttrs>().op == PoolOp::Max) return in;
        {
            int window = 1;
            for (int k : l.as<PoolAttrs>().kernel) window *= k;
            const int extra = ceilLog2(window);
            return FixedType::fixed(in.width + 2 * extra, in.integer + extra, in.isSigned);  // hls4ml: no cap here
        }
    case LayerKind::Reshape:
    case LayerKind::Transpose:
    case LayerKind::Pad:
    case LayerKind::Resize: return in;
    case LayerKind::Merge:
    case LayerKind::Concatenate:
        if (inputs.size() == 2 && var == "result") return mergeType(l, inputs[0], inputs[1], modelDefault, lc, source, at);
        break;
    default: break;
    }
    // Everything hls4ml does not infer (activations, softmax, ...): the model's default.
    return modelDefault;
}

double hls4mlDecimalText(double value, const FixedType& t) {
    // hls4ml: '{:.Nf}'.format(value) with N = max(0, fractional bits) (WeightVariable.
    // update_precision); printf rounds the exact binary value to N digits as Python does.
    const int digits = std::max(0, t.frac());
    const int n = std::snprintf(nullptr, 0, "%.*f", digits, value);
    std::string text(size_t(n) + 1, '\0');
    std::snprintf(text.data(), text.size(), "%.*f", digits, value);
    return std::strtod(text.c_str(), nullptr);
}

}  // namespace tachyon
