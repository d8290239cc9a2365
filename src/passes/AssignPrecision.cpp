// assign_precision: gives every layer its fixed-point types and schedule from the
// configuration (Model < LayerType < LayerName), and fills in what is left to Tachyon:
//   - result, weight, bias, accum, scale, shift: the layer's (or model's) Precision;
//   - accum: auto -> the smallest type that holds every partial sum exactly;
//   - table types and sizes: Tachyon's defaults (see docs/semantics.md), unless set;
//   - layers that only move values (Reshape, Transpose, ZeroPadding, UpSampling) keep
//     their input's type.
#include "passes/Pass.h"

#include "ir/ReducePow.h"

#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <iostream>

namespace tachyon {

FixedType autoAccumulator(const Layer& l, const FixedType& in) {
    const FixedType& wT = l.type("weight");
    const FixedType& bT = l.type("bias");
    const int frac = std::max(in.frac() + wT.frac(), bT.frac());
    // Bound |partial sum| in units of 2^-frac. Doubles are exact enough here: we add a
    // safety margin of one unit per term and round the bit count up.
    const double maxX = double(std::max(-in.minRaw(), in.maxRaw()));
    const auto [nIn, nOut] = macDims(l);
    const auto& weight = l.param("weight");
    const auto& bias = l.param("bias");
    double worst = 0;
    for (int j = 0; j < nOut; ++j) {
        double b = std::fabs(double(bT.castDouble(bias[size_t(j)]))) * std::ldexp(1.0, frac - bT.frac());
        double s = b;
        for (int i = 0; i < nIn; ++i) {
            double w = std::fabs(double(wT.castDouble(weight[size_t(i) * nOut + j])));
            if (w != 0) s += maxX * w * std::ldexp(1.0, frac - in.frac() - wT.frac()) + 1;
        }
        worst = std::max(worst, s);
    }
    int magnitudeBits = worst < 1 ? 0 : int(std::ceil(std::log2(worst + 1)));
    FixedType t = FixedType::fixed(magnitudeBits + 1, magnitudeBits + 1 - frac, true);
    if (t.width > FixedType::kMaxWidth)
        throw Error("layer '" + l.name + "': accum: auto needs " + std::to_string(t.width) + " bits, more than " +
                    std::to_string(FixedType::kMaxWidth));
    return t;
}

FixedType garnetConstantType(const std::vector<double>& values) {
    // hls4ml's rule for its GarNet constants: just enough integer bits for the largest
    // magnitude (one more at an exact power of two, plus the sign when any is negative),
    // ten fractional bits, rounded and saturated.
    double maxAbs = 0, minValue = 0;
    for (double v : values) maxAbs = std::max(maxAbs, std::fabs(v)), minValue = std::min(minValue, v);
    const bool isSigned = minValue < 0;
    int integer = 1;
    if (maxAbs > 0) {
        const double l2 = std::log2(maxAbs);
        integer = std::max(0, int(std::ceil(l2)));
        if (integer == int(std::floor(l2))) ++integer;
        integer += isSigned;
    }
    FixedType t = FixedType::fixed(integer + 10, integer, isSigned);
    t.quant = Quant::RND;
    t.overflow = Overflow::SAT;
    return t;
}

std::vector<std::pair<std::string, FixedType>> garnetDefaultTypes(const GarNetAttrs& a, const FixedType& in) {
    int vBits = 0;   // ceil(log2 V): sums over V vertices grow by this many integer bits
    while ((1 << vBits) < a.nVertices) ++vBits;
    const int inInteger = in.integer + (in.isSigned ? 0 : 1);
    const int frac = std::max(10, in.frac());
    auto fixed = [](int w, int i, bool s, Quant q, Overflow o) {
        FixedType t = FixedType::fixed(w, i, s);
        t.quant = q, t.overflow = o;
        return t;
    };
    return {
        {"distance", fixed(12, 4, true, Quant::TRN, Overflow::SAT)},         // hls4ml's, 4096-entry table
        {"edge_weight", fixed(10, 0, false, Quant::TRN, Overflow::WRAP)},    // hls4ml's
        {"edge_weight_aggr", fixed(vBits + 10, vBits, false, Quant::TRN, Overflow::WRAP)},
        {"aggr", fixed(inInteger + vBits + frac, inInteger + vBits, true, Quant::TRN, Overflow::WRAP)},
        {"norm", fixed(1 + vBits + 10, 1, false, Quant::RND, Overflow::SAT)},  // 1/V exact, 1/n rounded
    };
}

namespace {

// Types that quantisation-aware training fixed (Layer::trained, set by the frontends from
// QKeras/HGQ/QONNX quantisers) replace the Model/LayerType defaults; an explicit LayerName
// entry for the variable (or a single LayerName Precision) still wins. A MAC layer with
// trained weights gets the exact accumulator, and its result keeps it, unless named: the
// quantiser that follows in the model decides the rounding, as in training. In hls4ml mode,
// as hls4ml: trained weight/bias types win even over LayerName, accum/result are configured.
void applyTrainedTypes(Layer& l, const FixedType* inT, const Layer* producer, const Config& cfg) {
    auto named = [&](const std::string& var) {
        auto it = cfg.byName.find(l.name);
        return it != cfg.byName.end() && (it->second.precision.count(var) || it->second.precision.count("default"));
    };
    // An exact layer (linear/ReLU/ReLU6, max pooling) between quantisers keeps its input's type.
    const bool exact = (l.kind == LayerKind::Activation &&
                        (l.activation() == ActKind::Linear || l.activation() == ActKind::ReLU ||
                         l.activation() == ActKind::ReLU6)) ||
                       (l.kind == LayerKind::Pooling && l.as<PoolAttrs>().op == PoolOp::Max);
    // hls4ml mode: hls4ml takes only weight/bias (and quantiser results) from the trained
    // quantisers; a MAC's accum/result and the layers between follow the configuration.
    const bool hls4ml = cfg.compatibility == Compatibility::Hls4ml;
    if (exact && producer && inT && !producer->trained.empty() && !named("result") && !hls4ml)
        l.precision["result"] = *inT;
    if (l.trained.empty()) return;
    // hls4ml takes a quantised weight's or bias's type from its quantiser whatever the
    // configuration says (Layer.add_weights_variable): its files write `weight: ap_int<5>`
    // for a quantized_po2 weight, meaning the exponent's width, not the values' type.
    auto fromQuantiser = [&](const std::string& var) { return hls4ml && (var == "weight" || var == "bias"); };
    for (const auto& [var, t] : l.trained)
        if (!named(var) || fromQuantiser(var)) l.precision[var] = t;
    if (isMac(l) && l.trained.count("weight") && inT && !hls4ml) {
        if (!named("accum")) l.precision["accum"] = autoAccumulator(l, *inT);
        if (!named("result") && !l.trained.count("result")) l.precision["result"] = l.precision["accum"];
    }
}

}  // namespace

// The result types of every input of `l`, in operand order.
std::vector<FixedType> inputTypes(const Graph& g, const Layer& l) {
    std::vector<FixedType> types;
    for (const std::string& in : l.inputs)
        if (const Layer* p = g.find(in)) types.push_back(p->type("result"));
    return types;
}

// WeightQuantization: hls4ml. hls4ml's writer stores each constant as decimal text with
// as many digits as its type has fraction bits; the C++ compiler (or `>>` from the
// weights .txt) reads that as a double, and only then does the ap_fixed cast round. Giving
// the layer those doubles makes every later cast (emulator, HLS, Verilog) round as hls4ml.
// A value below half a unit of the last digit becomes 0 (hls4ml: "-0.0000000000"), where
// the cast of the float would give -1 LSB under AP_TRN.
void roundConstantsAsHls4ml(Layer& l) {
    for (auto& [var, values] : l.params) {
        auto t = l.precision.find(var);
        if (t == l.precision.end()) continue;   // a constant without a type of its own
        for (double& v : values) v = hls4mlDecimalText(v, t->second);
    }
}

// A LayerName entry that names no layer: in hls4ml mode a warning, as hls4ml ignores it
// (its templates name layers its optimizers remove, such as `fc1_linear`); in Tachyon mode
// an error, since it is almost always a typo.
std::vector<std::string> unusedLayerNames(const Graph& g, const Config& cfg) {
    // A BatchNorm that fold_batchnorm folded is gone, as in hls4ml: its entry is expected.
    const std::string folded = "," + (g.recorded.count("FoldedBatchNorm") ? g.recorded.at("FoldedBatchNorm") : "") + ",";
    std::string layers;
    for (const Layer& l : g.layers) layers += (layers.empty() ? "" : ", ") + l.name;
    std::vector<std::string> warnings;
    for (const auto& entry : cfg.byName) {
        const std::string& name = entry.first;   // (clang 14 cannot capture a structured binding)
        if (folded.find("," + name + ",") != std::string::npos) continue;
        const bool used = std::any_of(g.layers.begin(), g.layers.end(),
                                      [&](const Layer& l) { return Config::namesLayer(name, l); });
        if (used) continue;
        if (cfg.compatibility == Compatibility::Tachyon)
            throw Error(cfg.source + ": LayerName." + name + ": no layer of that name in model '" + g.name +
                        "' (layers: " + layers + ")");
        warnings.push_back(cfg.source + ": LayerName." + name + ": no layer of that name in model '" + g.name +
                           "'; entry ignored, as hls4ml does (layers: " + layers + ")");
    }
    return warnings;
}

// Reduce and Pow (docs/semantics.md): accum is the exact sum or power unless configured
// (`auto` or absent); a mean over N that is not a power of two gets `reciprocal`.
template <class Typed, class Helper>
void assignReducePowTypes(const Graph& g, Layer& l, const FixedType& inT, const Typed* configuredAccum, Helper& helper) {
    if (l.kind == LayerKind::Reduce) {
        const auto& a = l.as<ReduceAttrs>();
        if (a.op == ReduceOp::Max) return;
        const int n = reduceDims(a, g.at(l.input()).shape).n;
        l.precision["accum"] = configuredAccum ? (*configuredAccum)("accum") : exactReduceSumType(inT, n);
        if (a.op == ReduceOp::Mean && !isPowerOfTwo(n)) helper("reciprocal", FixedType::parse("ap_ufixed<18,0,AP_RND,AP_SAT>"));
        return;
    }
    if (configuredAccum) {
        l.precision["accum"] = (*configuredAccum)("accum");
        return;
    }
    std::string why;
    l.precision["accum"] = exactPowerType(inT, l.as<PowAttrs>().exponent, &why);
    if (!why.empty()) throw Error("layer '" + l.name + "': " + why);
}

void assignPrecision(Graph& g, const Config& cfg) {
    const FixedType modelDefault = [&] {
        auto it = cfg.model.precision.find("default");
        try {
            return FixedType::parse(it != cfg.model.precision.end() ? it->second : "ap_fixed<16,6>");
        } catch (const std::exception& e) {
            throw Error(cfg.source + ": Model.Precision.default: " + e.what());
        }
    }();
    (void)cfg.target();   // an unsupported IOType is refused here, before any layer is typed
    recordProjectSettings(g, cfg);
    for (Layer& l : g.layers) {
        const LayerConfig lc = resolveWithTreeDefaults(cfg, g, l);
        const FixedType* inT = nullptr;  // the input's result type (none for the Input)
        auto text = [&](const std::string& var) -> std::string {
            auto it = lc.precision.find(var);
            if (it != lc.precision.end()) return it->second;
            it = lc.precision.find("default");
            if (it != lc.precision.end()) return it->second;
            return "ap_fixed<16,6>";
        };
        auto typed = [&](const std::string& var) {
            if (var == "result" && text(var) == "auto") return autoResultType(l, inT, lc, cfg.source);
            if (text(var) == "auto_hls4ml") return hls4mlAutoType(l, var, inputTypes(g, l), lc, modelDefault, cfg.source);
            try {
                return FixedType::parse(text(var));
            } catch (const std::exception& e) {
                throw Error(cfg.source + ": layer '" + l.name + "' " + var + ": " + e.what());
            }
        };
        auto helper = [&](const std::string& var, const FixedType& def) {
            auto it = lc.precision.find(var);
            l.precision[var] = it != lc.precision.end() ? FixedType::parse(it->second) : def;
        };
        l.precision.clear();
        if (l.kind != LayerKind::Input) {
            const Layer* in = g.find(l.input());
            if (!in) throw Error("layer '" + l.name + "': input '" + l.input() + "' not found");
            inT = &in->type("result");
        }
        const bool movesOnly = l.kind == LayerKind::Reshape || l.kind == LayerKind::Transpose ||
                               l.kind == LayerKind::Pad || l.kind == LayerKind::Resize;
        l.precision["result"] = movesOnly ? *inT : typed("result");
        if (l.kind == LayerKind::Input && !cfg.byName.count(l.name)) {
            // A GarNet vertex count is an integer in [0, V]: by default an unsigned integer
            // type that holds V (the model default would wrap it: ap_fixed<16,6> stops at 32).
            for (const Layer* c : g.consumers(l.name))
                if (c->kind == LayerKind::GarNet && c->inputs.size() > 1 && c->inputs[1] == l.name) {
                    int bits = 1;
                    while ((1 << bits) <= c->as<GarNetAttrs>().nVertices) ++bits;
                    l.precision["result"] = FixedType::parse("ap_uint<" + std::to_string(bits) + ">");
                }
        }
        switch (l.kind) {
        case LayerKind::Dense:
        case LayerKind::Conv:
            l.precision["weight"] = typed("weight");
            l.precision["bias"] = typed("bias");
            if (text("accum") == "auto") l.precision["accum"] = autoAccumType(l, *inT, lc, cfg.source);
            else l.precision["accum"] = typed("accum");   // explicit, or hls4ml's rule
            break;
        case LayerKind::Recurrent: {
            // hls4ml's recurrent variables; the state (h, and LSTM's c) defaults to the result type.
            l.precision["weight"] = typed("weight");
            l.precision["bias"] = typed("bias");
            l.precision["recurrent_weight"] = typed("recurrent_weight");
            l.precision["recurrent_bias"] = typed("recurrent_bias");
            l.precision["accum"] = text("accum") == "auto" ? typed("result") : typed("accum");
            l.precision["state"] = lc.precision.count("state") ? typed("state") : l.precision["result"];
            const auto& ra = l.as<RecurrentAttrs>();
            for (ActKind k : {ra.activation, ra.recurrentActivation}) {
                if (usesTable(k) && k != ActKind::HardSigmoid) helper("table", defaultTableType());
                if (k == ActKind::HardSigmoid) helper("param", defaultParamType());
            }
            break;
        }
        case LayerKind::GarNet: {
            // hls4ml's GarNet variables (docs/semantics.md, "GarNet"): constants typed from
            // their values as hls4ml does, intermediates from the input type and V.
            const auto weights = garnetSublayerWeights(l);
            l.as<GarNetAttrs>().hls4mlCount = cfg.compatibility == Compatibility::Hls4ml;
            auto constant = [&](const std::string& var, std::vector<double> GarNetSublayerWeights::*member) {
                std::vector<double> all;
                for (const auto& w : weights) all.insert(all.end(), (w.*member).begin(), (w.*member).end());
                helper(var, garnetConstantType(all));
            };
            constant("input_transform_weights", &GarNetSublayerWeights::inputTransformWeights);
            constant("input_transform_biases", &GarNetSublayerWeights::inputTransformBiases);
            constant("aggregator_distance_weights", &GarNetSublayerWeights::aggregatorDistanceWeights);
            constant("aggregator_distance_biases", &GarNetSublayerWeights::aggregatorDistanceBiases);
            constant("output_transform_biases", &GarNetSublayerWeights::outputTransformBiases);
            for (const auto& [var, t] : garnetDefaultTypes(l.as<GarNetAttrs>(), *inT)) helper(var, t);
            break;
        }
        case LayerKind::MatMul:
            // As the recurrent layers: no weights to size an exact accumulator from at
            // configuration time, so `auto` means the result type.
            l.precision["accum"] = text("accum") == "auto" ? typed("result") : typed("accum");
            break;
        case LayerKind::LayerNorm:
            // accum holds the mean, the differences and the variance; table the 1/sqrt
            // mantissas, in (0.70, 1] (docs/semantics.md, "LayerNormalization").
            l.precision["scale"] = typed("scale");
            l.precision["bias"] = typed("bias");
            l.precision["accum"] = text("accum") == "auto" ? typed("result") : typed("accum");
            helper("table", FixedType::parse("ap_ufixed<18,1,AP_RND,AP_SAT>"));
            break;
        case LayerKind::TreeEnsemble:
            // Thresholds are compared with the features: by default of the features' type.
            l.precision["threshold"] = lc.precision.count("threshold") ? typed("threshold") : *inT;
            break;
        case LayerKind::Reduce:
        case LayerKind::Pow:
            assignReducePowTypes(g, l, *inT, lc.precision.count("accum") && text("accum") != "auto" ? &typed : nullptr,
                                 helper);
            break;
        case LayerKind::BatchNorm:
            l.precision["scale"] = typed("scale");
            l.precision["shift"] = typed("shift");
            break;
        case LayerKind::Activation:
            // hls4ml's sigmoid/tanh tables (emulator/Tables.h) with hls4ml's defaults for what
            // the configuration leaves open: table_t ap_fixed<18,8>, table_size 1024.
            // An explicit TableRange asks for Tachyon's table.
            l.table.hls4ml = cfg.compatibility == Compatibility::Hls4ml && !lc.tableRange &&
                             (l.activation() == ActKind::Sigmoid || l.activation() == ActKind::Tanh);
            if (l.table.hls4ml) helper("table", FixedType::parse("ap_fixed<18,8>"));
            else if (usesTable(l.activation())) helper("table", defaultTableType());
            if (l.activation() == ActKind::LeakyReLU || l.activation() == ActKind::HardSigmoid ||
                l.activation() == ActKind::SELU)
                helper("param", defaultParamType());
            break;
        case LayerKind::Softmax:
            helper("exp_table", defaultSoftmaxTableType(l.type("result")));
            helper("inv_table", defaultSoftmaxTableType(l.type("result")));
            break;
        default: break;
        }
        applyTrainedTypes(l, inT, l.kind == LayerKind::Input ? nullptr : g.find(l.input()), cfg);
        if (lc.tableSize) l.table.size = *lc.tableSize;
        if (lc.invTableSize) l.invTable.size = *lc.invTableSize;
        else if (lc.tableSize) l.invTable.size = *lc.tableSize;
        if (lc.tableRange) l.table.range = *lc.tableRange;
        if (lc.reuseFactor) l.schedule.reuseFactor = *lc.reuseFactor;
        if (lc.strategy) l.schedule.strategy = *lc.strategy;
        if (lc.delayConstraint) l.schedule.delayConstraint = *lc.delayConstraint;
        recordLayerSettings(l, lc);
        if (cfg.weightQuantization == "hls4ml") roundConstantsAsHls4ml(l);
    }
    (void)unusedLayerNames(g, cfg);   // throws in Tachyon mode; warnings: runPipeline
}

}  // namespace tachyon
