// The arithmetic of quantisation-aware-training quantisers, re-derived from their sources
// (docs/semantics.md, "Quantisation-aware models", cites each file): QKeras quantisers on
// weights (applied once, at import, so the weights Tachyon stores ARE the trained model's
// quantised weights) and on activations (lowered onto LayerKind::Quantize), plus the
// helpers the HGQ and QONNX readers share.
#pragma once

#include "ir/Graph.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace tachyon {

// One QKeras quantiser, as a model's JSON serialises it: either {"class_name": ...,
// "config": {...}} or a string such as "quantized_relu(3,1)" or "binary(alpha=1)".
struct QKerasQuantizer {
    std::string cls;          // quantized_bits, quantized_relu, quantized_tanh, quantized_sigmoid,
                              // quantized_po2, quantized_relu_po2, binary, stochastic_binary,
                              // ternary, stochastic_ternary
    std::string text;         // for messages
    int bits = 8;
    double integer = 0;
    bool symmetric = false;
    bool keepNegative = true;
    std::string alpha;        // "", "auto", "auto_po2", or a number as text
    double alphaValue = 1.0;  // numeric alpha (1 when none)
    std::optional<double> maxValue;     // po2 quantisers
    bool quadraticApproximation = false;
    std::string log2Rounding = "rnd";
    std::optional<double> threshold;    // ternary
    bool use01 = false;                 // binary
    double negativeSlope = 0.0;         // quantized_relu / quantized_relu_po2
    bool useSigmoid = false;            // quantized_relu
    bool useRealTanh = false, useRealSigmoid = false;
    bool stochastic = false;
    double qnoiseFactor = 1.0;
    std::optional<double> reluUpperBound;
    bool isQuantizedClip = true;
};

// Throws tachyon::Error (with `where` in front) when the quantiser is unknown or malformed.
// Returns nullopt for null / "" / "linear" (no quantiser).
std::optional<QKerasQuantizer> parseQKerasQuantizer(const nlohmann::json& j, const std::string& where);

// A weight tensor quantised as QKeras does at inference (the `kernel_quantizer(kernel)`
// call), with `dims` its shape (the last axis is the output channel, over which the
// auto scales are computed). When the quantiser has a scale that is not a power of two
// (alpha "auto" or a non-dyadic number), `values` hold the unscaled integer-grid values
// and `channelScale` the per-output-channel scale (one entry, or one per channel):
// weight = values * channelScale.
struct QuantizedTensor {
    std::vector<double> values;
    std::vector<double> channelScale;   // empty: `values` already are the quantised weights
};
QuantizedTensor quantizeWeights(const QKerasQuantizer& q, const std::vector<double>& w,
                                const std::vector<size_t>& dims, const std::string& where);

// The smallest ap_fixed type holding every value exactly (signed when any is negative);
// throws when that needs more than 64 bits. All zeros give ap_fixed<2,1> (ap_ufixed<1,1>
// when unsigned).
FixedType exactTypeFor(const std::vector<double>& values, const std::string& where);

// The ap_fixed type of a quantized_bits quantiser with a unit scale: ap_fixed<bits,
// integer + keep_negative, AP_RND_CONV, AP_SAT (AP_SAT_SYM when symmetric)>.
FixedType quantizedBitsType(const QKerasQuantizer& q);

// A QKeras activation quantiser as a Quantize layer: its attributes and the type of its
// result. Throws (naming the quantiser) for the forms that are not emulated.
QuantizeAttrs activationQuantizer(const QKerasQuantizer& q, FixedType& result, const std::string& where);

// The exact type of a Threshold quantiser's levels.
FixedType levelsType(const std::vector<double>& levels, const std::string& where);

// The union type of a Fixed quantiser's element types (HGQ's result_t: the maximum
// sign, integer and fraction bits), with its quantisation and overflow modes.
FixedType unionType(const QuantizeAttrs& a);

// "RND" / "AP_RND" -> Quant, "SAT" / "AP_SAT" -> Overflow; throws on unknown names.
Quant parseQuantMode(const std::string& s, const std::string& where);
Overflow parseOverflowMode(const std::string& s, const std::string& where);

}  // namespace tachyon
