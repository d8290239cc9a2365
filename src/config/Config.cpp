#include "config/Config.h"
#include "config/TrainedTypes.h"

#include "util/Error.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

namespace tachyon {

FixedType defaultTableType() { return FixedType::parse("ap_fixed<18,2,AP_RND,AP_SAT>"); }
FixedType defaultSoftmaxTableType(const FixedType& result) {
    // Entries lie in (0, 1]: one integer bit. At least 4 fraction bits; at most 30, so that
    // the product of two entries stays within the emulator's 62-bit words.
    const int frac = std::clamp(result.frac() + kSoftmaxGuardBits, 4, 30);
    FixedType t = FixedType::fixed(frac + 1, 1, false);
    t.quant = Quant::RND;
    t.overflow = Overflow::SAT;
    return t;
}
FixedType defaultParamType() { return FixedType::parse("ap_fixed<18,2,AP_RND,AP_SAT>"); }

namespace {

// Choice values (Strategy, Implementation, ...) and layer names are matched case-insensitively.
std::string lowerCase(std::string x) {
    for (char& ch : x) ch = char(std::tolower(static_cast<unsigned char>(ch)));
    return x;
}

// Precision variables: Tachyon's own, plus hls4ml's names for the same things (BatchNorm
// `bias`, hard_sigmoid `slope`/`shift`), softmax's `inv_inp` and `accum` (recorded), and
// Model-level `maximum` (caps inferred `auto` types, as in hls4ml).
const std::set<std::string> kPrecisionVars = {"default", "maximum", "result",    "accum",     "weight",
                                              "bias",    "scale",   "shift",     "table",     "exp_table",
                                              "inv_table", "inv_inp", "param",   "slope",
                                              "reciprocal",   // a Reduce mean's 1/N (docs/semantics.md)
                                              // recurrent layers (hls4ml names)
                                              "state", "recurrent_weight", "recurrent_bias",
                                              // GarNet (hls4ml names)
                                              "distance", "edge_weight", "edge_weight_aggr", "aggr", "norm",
                                              "input_transform_weights", "input_transform_biases",
                                              "aggregator_distance_weights", "aggregator_distance_biases",
                                              "output_transform_biases",
                                              // separable convolutions (hls4ml names; recorded)
                                              "depthwise", "pointwise", "depthwise_accum", "pointwise_accum",
                                              "depthwise_result",
                                              // tree ensembles: split thresholds
                                              "threshold"};
// `auto` is hls4ml's "infer it"; not allowed for the fallback types themselves.
bool autoAllowed(const std::string& var) { return var != "default" && var != "maximum"; }

struct Ctx {
    std::string source;
    std::vector<std::string>* warnings = nullptr;
    [[noreturn]] void fail(const std::string& where, const std::string& why) const {
        throw Error(source + ": " + where + ": " + why);
    }
    void warn(const std::string& where, const std::string& why) const {
        if (warnings) warnings->push_back(source + ": " + where + ": " + why);
    }
};

std::string scalar(const Ctx& c, const YAML::Node& n, const std::string& where) {
    if (!n.IsScalar()) c.fail(where, "expected a single value");
    return n.as<std::string>();
}

void checkType(const Ctx& c, const std::string& text, const std::string& where, bool allowAuto) {
    if (allowAuto && isAutoText(text)) return;
    try {
        FixedType::parse(text);
    } catch (const std::exception& e) {
        // YAML splits `{k: ap_fixed<8,3>}` at the comma: say so, it is the usual cause.
        const bool split = text.find('<') != std::string::npos && text.find('>') == std::string::npos;
        c.fail(where, std::string(e.what()) + (split ? " (inside {...} write types in quotes: 'ap_fixed<8,3>')" : ""));
    }
}

int toInt(const Ctx& c, const YAML::Node& n, const std::string& where) {
    std::string s = scalar(c, n, where);
    try {
        size_t pos;
        int v = std::stoi(s, &pos);
        if (pos == s.size()) return v;
    } catch (...) {
    }
    c.fail(where, "'" + s + "' is not an integer");
}

double toDouble(const Ctx& c, const YAML::Node& n, const std::string& where) {
    std::string s = scalar(c, n, where);
    try {
        size_t pos;
        double v = std::stod(s, &pos);
        if (pos == s.size()) return v;
    } catch (...) {
    }
    c.fail(where, "'" + s + "' is not a number");
}

bool toBool(const Ctx& c, const YAML::Node& n, const std::string& where) {
    const std::string s = scalar(c, n, where);
    for (const char* t : {"true", "True", "TRUE", "yes", "Yes", "1"})
        if (s == t) return true;
    for (const char* f : {"false", "False", "FALSE", "no", "No", "0"})
        if (s == f) return false;
    c.fail(where, "'" + s + "' is not true or false");
}

// A value that must be one of `choices` (compared case-insensitively, returned as listed).
std::string choice(const Ctx& c, const YAML::Node& n, const std::string& where,
                   const std::vector<std::string>& choices) {
    const std::string s = scalar(c, n, where);
    std::string all;
    for (const auto& ch : choices) {
        if (lowerCase(ch) == lowerCase(s)) return ch;
        all += (all.empty() ? "" : ", ") + ch;
    }
    c.fail(where, "unknown value '" + s + "' (expected one of " + all + ")");
}

int tableSize(const Ctx& c, const YAML::Node& n, const std::string& where) {
    // hls4ml allows any size; Tachyon's shift-indexed tables round it up to a power of two.
    const int v = toInt(c, n, where);
    if (v < 2) c.fail(where, "table size must be >= 2");
    return v;
}

void parsePrecision(const Ctx& c, const YAML::Node& v, const std::string& at, LayerConfig& lc) {
    if (v.IsScalar()) {
        const std::string t = v.as<std::string>();
        checkType(c, t, at, false);
        lc.precision["default"] = t;
        return;
    }
    if (!v.IsMap()) c.fail(at, "expected a type or a mapping of variable: type");
    for (const auto& pv : v) {
        const std::string var = pv.first.as<std::string>();
        const std::string where = at + "." + var;
        if (!kPrecisionVars.count(var))
            c.fail(where, "unknown precision variable (expected one of result, accum, weight, bias, scale, shift, "
                          "table, exp_table, inv_table, inv_inp, param, slope, state, recurrent_weight, "
                          "recurrent_bias, distance, edge_weight, edge_weight_aggr, aggr, norm, "
                          "input_transform_weights, input_transform_biases, aggregator_distance_weights, "
                          "aggregator_distance_biases, output_transform_biases, threshold, default, maximum)");
        const std::string t = scalar(c, pv.second, where);
        checkType(c, t, where, autoAllowed(var));
        lc.precision[var] = t;
    }
}

// hls4ml's Strategy, case-insensitive and snake_case or not. `Stable` is the old way
// hls4ml chose the stable softmax: it selects that implementation.
void parseStrategy(const Ctx& c, const YAML::Node& v, const std::string& at, LayerConfig& lc) {
    const std::string s = choice(c, v, at, {"Latency", "Resource", "Distributed_Arithmetic", "Stable", "DistributedArithmetic"});
    if (s == "Stable") {
        lc.strategy = Strategy::Latency;
        if (!lc.softmaxImplementation) lc.softmaxImplementation = SoftmaxImpl::Stable;
    } else {
        lc.strategy = strategyNamed(s);
    }
}

// Keys Tachyon records but does not act on, with the check each value gets.
bool parseRecorded(const Ctx& c, const std::string& key, const YAML::Node& v, const std::string& at,
                   LayerConfig& lc) {
    if (key == "BitExact" && v.IsNull()) {
        // hls4ml writes `BitExact: null` (decide from the model): nothing to record.
        return true;
    }
    if (key == "BramFactor") {
        toDouble(c, v, at);
    } else if (key == "TargetCycles" || key == "PipelineInterval" || key == "TableRangePower2" ||
               key == "RecurrentReuseFactor" || key == "DepthwiseReuseFactor" || key == "PointwiseReuseFactor" ||
               key == "ForwardReuseFactor" || key == "BackwardReuseFactor" || key == "ForwardRecurrentReuseFactor" ||
               key == "BackwardRecurrentReuseFactor") {
        toInt(c, v, at);
    } else if (key == "Compression" || key == "TransposeOutputs" || key == "BitExact" || key == "AllowDAFallback" ||
               key == "AllowV2Fallback" || key == "Static") {
        toBool(c, v, at);
    } else if (key == "ConvImplementation") {
        choice(c, v, at, {"LineBuffer", "Encoded", "Pointwise"});
    } else if (key == "TimeStepLoopParallelism") {
        choice(c, v, at, {"Off", "Unroll", "Pipeline"});
    } else if (key == "PipelineStyle") {
        choice(c, v, at, {"auto", "pipeline", "dataflow"});
    } else if (key == "ChannelsLastConversion") {
        choice(c, v, at, {"full", "internal", "off"});
    } else {
        return false;
    }
    lc.recorded[key] = scalar(c, v, at);
    return true;
}

// One Model / LayerType / LayerName entry.
LayerConfig parseLayer(const Ctx& c, const YAML::Node& node, const std::string& where) {
    LayerConfig lc;
    if (!node.IsMap()) c.fail(where, "expected a mapping of settings");
    for (const auto& kv : node) {
        const std::string key = kv.first.as<std::string>();
        const std::string at = where + "." + key;
        const YAML::Node& v = kv.second;
        if (key == "Precision") {
            parsePrecision(c, v, at, lc);
        } else if (key == "ReuseFactor") {
            lc.reuseFactor = toInt(c, v, at);
            if (*lc.reuseFactor < 1) c.fail(at, "must be >= 1");
        } else if (key == "ParallelizationFactor") {
            lc.parallelizationFactor = toInt(c, v, at);
            if (*lc.parallelizationFactor < 1) c.fail(at, "must be >= 1");
        } else if (key == "Strategy") {
            parseStrategy(c, v, at, lc);
        } else if (key == "DelayConstraint") {
            lc.delayConstraint = toInt(c, v, at);
            if (*lc.delayConstraint < -1) c.fail(at, "must be -1 (no limit) or >= 0 extra adder levels");
        } else if (key == "Implementation") {
            lc.softmaxImplementation = softmaxImplNamed(choice(c, v, at, {"latency", "stable", "argmax", "legacy", "tachyon"}));
        } else if (key == "Skip") {
            lc.softmaxSkip = toBool(c, v, at);
        } else if (key == "table_size" || key == "TableSize") {
            lc.tableSize = tableSize(c, v, at);
        } else if (key == "inv_table_size" || key == "InvTableSize") {
            lc.invTableSize = tableSize(c, v, at);
        } else if (key == "table_range" || key == "TableRange") {
            lc.tableRange = toDouble(c, v, at);
            if (*lc.tableRange <= 0) c.fail(at, "must be positive");
        } else if (key == "table_t" || key == "exp_table_t" || key == "inv_table_t" || key == "inv_inp_t" ||
                   key == "accum_t" || key == "result_t") {
            // hls4ml's attribute spelling of a precision variable.
            std::string t = scalar(c, v, at);
            checkType(c, t, at, true);
            lc.precision[key.substr(0, key.size() - 2)] = t;
        } else if (key == "Trace" || key == "TraceOutput") {
            lc.trace = toBool(c, v, at);
        } else if (key == "FoldBatchNorm") {
            // Tachyon's key (passes/FoldBatchNorm.cpp): when a BatchNorm is folded into the
            // Dense/Conv layer before it.
            lc.recorded[key] = choice(c, v, at, {"auto", "always", "never"});
        } else if (!parseRecorded(c, key, v, at, lc)) {
            c.fail(at, "unknown key (expected Precision, ReuseFactor, Strategy, DelayConstraint, Implementation, Skip, TableSize, "
                       "table_t, exp_table_t, inv_table_t, inv_inp_t, table_range, ParallelizationFactor, Trace, "
                       "BramFactor, TargetCycles, Compression, ConvImplementation, PipelineStyle, PipelineInterval, "
                       "FoldBatchNorm, BitExact, AllowDAFallback, AllowV2Fallback)");
        }
    }
    return lc;
}

void merge(LayerConfig& into, const LayerConfig& from) {
    if (from.precision.count("default")) {
        // A single type for the layer replaces its data types, not the table/param helpers.
        for (const char* v : {"result", "accum", "weight", "bias", "scale", "shift", "state", "recurrent_weight",
                              "recurrent_bias"})
            into.precision.erase(v);
    }
    for (const auto& [k, v] : from.precision) into.precision[k] = v;
    if (from.reuseFactor) into.reuseFactor = from.reuseFactor;
    if (from.strategy) into.strategy = from.strategy;
    if (from.tableSize) into.tableSize = from.tableSize;
    if (from.invTableSize) into.invTableSize = from.invTableSize;
    if (from.tableRange) into.tableRange = from.tableRange;
    if (from.softmaxImplementation) into.softmaxImplementation = from.softmaxImplementation;
    if (from.softmaxSkip) into.softmaxSkip = from.softmaxSkip;
    if (from.parallelizationFactor) into.parallelizationFactor = from.parallelizationFactor;
    if (from.delayConstraint) into.delayConstraint = from.delayConstraint;
    for (const auto& [k, v] : from.recorded) into.recorded[k] = v;
    into.trace = into.trace || from.trace;
}

// hls4ml layer class names -> Tachyon layer kinds (the kinds the frontends produce).
const std::map<std::string, std::string>& typeAliases() {
    static const std::map<std::string, std::string> m = {
        {"Input", "Input"}, {"InputLayer", "Input"},
        {"Dense", "Dense"}, {"QDense", "Dense"}, {"Linear", "Dense"},
        {"BatchNormalization", "BatchNormalization"}, {"QBatchNormalization", "BatchNormalization"},
        {"BatchNormOnnx", "BatchNormalization"},
        {"Activation", "Activation"}, {"QActivation", "Activation"}, {"ReLU", "Activation"},
        {"LeakyReLU", "Activation"}, {"ParametrizedActivation", "Activation"}, {"HardActivation", "Activation"},
        {"Softmax", "Softmax"},
        {"Reshape", "Reshape"}, {"Flatten", "Reshape"}, {"ELU", "Activation"},
        // Convolutional and merge layers: the kind name applies to all of its classes,
        // the class name (as hlsClassName gives it) to that class only.
        {"Conv", "Conv"}, {"Conv1D", "Conv1D"}, {"Conv2D", "Conv2D"}, {"QConv1D", "Conv1D"}, {"QConv2D", "Conv2D"},
        {"DepthwiseConv1D", "DepthwiseConv1D"}, {"DepthwiseConv2D", "DepthwiseConv2D"},
        {"QDepthwiseConv2D", "DepthwiseConv2D"}, {"PointwiseConv1D", "Conv1D"}, {"PointwiseConv2D", "Conv2D"},
        {"Pooling", "Pooling"}, {"MaxPooling1D", "MaxPooling1D"}, {"MaxPooling2D", "MaxPooling2D"},
        {"AveragePooling1D", "AveragePooling1D"}, {"AveragePooling2D", "AveragePooling2D"},
        {"GlobalMaxPooling1D", "GlobalMaxPooling1D"}, {"GlobalMaxPooling2D", "GlobalMaxPooling2D"},
        {"GlobalAveragePooling1D", "GlobalAveragePooling1D"}, {"GlobalAveragePooling2D", "GlobalAveragePooling2D"},
        {"Pooling1D", "Pooling"}, {"Pooling2D", "Pooling"}, {"GlobalPooling1D", "Pooling"}, {"GlobalPooling2D", "Pooling"},
        {"ZeroPadding1D", "ZeroPadding1D"}, {"ZeroPadding2D", "ZeroPadding2D"},
        {"UpSampling1D", "UpSampling1D"}, {"UpSampling2D", "UpSampling2D"}, {"Resize", "UpSampling"},
        {"Transpose", "Transpose"}, {"Permute", "Transpose"}, {"Concatenate", "Concatenate"},
        {"Merge", "Merge"}, {"Add", "Add"}, {"Subtract", "Subtract"}, {"Multiply", "Multiply"},
        {"Average", "Average"}, {"Maximum", "Maximum"}, {"Minimum", "Minimum"},
        {"GarNet", "GarNet"}, {"GarNetStack", "GarNetStack"}, {"TreeEnsemble", "TreeEnsemble"},
        // The kind names Tachyon's own `config -g type` templates write.
        {"ZeroPadding", "ZeroPadding"}, {"UpSampling", "UpSampling"}, {"Recurrent", "Recurrent"},
        {"Quantize", "Quantize"}, {"MatMul", "MatMul"}, {"LayerNormalization", "LayerNormalization"},
    };
    return m;
}

// hls4ml layer classes with no counterpart in Tachyon's IR: a LayerType entry for them can
// match no layer, so it is accepted with a warning (hls4ml also ignores unused entries).
bool isOtherHls4mlType(const std::string& t) {
    static const std::set<std::string> s = {
        "Conv2DBatchnorm", "QConv2DBatchnorm", "SeparableConv1D", "SeparableConv2D", "Dot", "Einsum", "EinsumDense", "Embedding", "SimpleRNN",
        "LSTM", "GRU", "QSimpleRNN", "QLSTM", "QGRU", "Bidirectional", "TimeDistributed",
        "Quant", "BipolarQuant", "ApplyAlpha", "Constant", "Dropout", "TernaryTanh",
        "PReLU", "ThresholdedReLU", "FixedPointQuantizer", "UnaryLUT", "BinaryDense", "TernaryDense",
        "Clone", "Repack", "BroadcastStream", "IFNeuron"};
    return s.count(t) != 0;
}

// Top-level keys of hls4ml's project files that the command line decides in Tachyon.
bool isCliDecidedKey(const std::string& k) {
    static const std::set<std::string> s = {"KerasJson", "KerasH5", "KerasModel", "OnnxModel", "PytorchModel",
                                            "InputShape", "OutputDir", "Version", "InputData",
                                            "OutputPredictions", "ProjectName"};
    return s.count(k) != 0;
}

// Keys that only a file hls4ml wrote (or one made for hls4ml) has: such a file gets
// hls4ml's defaults. `ProjectName` is not one: Tachyon's own templates have it too.
bool isHls4mlProjectKey(const std::string& k) {
    return k == "HLSConfig" || k == "OutputDir" || k == "Backend" || k == "KerasModel" || k == "OnnxModel" ||
           k == "PytorchModel" || k == "KerasJson" || k == "Stamp" || k == "WriterConfig";
}

// hls4ml's InputShapes / OutputShapes: variable name -> list of dimensions.
void checkShapes(const Ctx& c, const YAML::Node& v, const std::string& key) {
    if (v.IsNull()) return;
    if (!v.IsMap()) c.fail(key, "expected a mapping of variable name: [dimensions]");
    for (const auto& kv : v) {
        const std::string at = key + "." + kv.first.as<std::string>();
        if (!kv.second.IsSequence()) c.fail(at, "expected a list of dimensions");
        for (const auto& d : kv.second)
            if (toInt(c, d, at) < 1) c.fail(at, "dimensions must be >= 1");
    }
}

// hls4ml's WriterConfig (Vivado/Vitis create_initial_config): only its writer reads it,
// but a value of the wrong kind is still the file's error.
void checkWriterConfig(const Ctx& c, const YAML::Node& v) {
    if (!v.IsMap()) c.fail("WriterConfig", "expected a mapping");
    for (const auto& kv : v) {
        const std::string k = kv.first.as<std::string>();
        const std::string at = "WriterConfig." + k;
        if (k == "Namespace") {
            if (!v[k].IsNull()) scalar(c, kv.second, at);
        } else if (k == "WriteWeightsTxt" || k == "WriteTar" || k == "WriteEmulationConstants") {
            toBool(c, kv.second, at);
        } else if (k == "TBOutputStream") {
            choice(c, kv.second, at, {"stdout", "file", "both"});
        } else {
            c.fail(at, "unknown key (expected Namespace, WriteWeightsTxt, WriteTar, WriteEmulationConstants, "
                       "TBOutputStream)");
        }
    }
}

void parseBackend(const Ctx& c, const YAML::Node& v, Config& cfg) {
    const std::string b = choice(c, v, "Backend",
                                 {"Vivado", "Vitis", "VivadoAccelerator", "Quartus", "oneAPI", "Catapult", "Libero",
                                  "SymbolicExpression"});
    cfg.backend = b;
    if (b != "Vivado" && b != "Vitis" && b != "VivadoAccelerator")
        c.warn("Backend", "'" + b + "' is recorded, but Tachyon writes Vitis HLS C++ or Verilog (--backend)");
}

// hls4ml writes the uncertainty as "12.5%" (of the period) or a number of ns.
void parseClockUncertainty(const Ctx& c, const YAML::Node& v, Config& cfg) {
    std::string s = scalar(c, v, "ClockUncertainty");
    std::string number = !s.empty() && s.back() == '%' ? s.substr(0, s.size() - 1) : s;
    try {
        size_t pos;
        double x = std::stod(number, &pos);
        if (pos == number.size() && x >= 0) {
            cfg.clockUncertainty = s;
            return;
        }
    } catch (...) {
    }
    c.fail("ClockUncertainty", "'" + s + "' is not a duration in ns or a percentage such as 12.5%");
}

}  // namespace

Config Config::defaults() {
    Config c;
    c.model.precision["default"] = "ap_fixed<16,6>";
    c.model.reuseFactor = 1;
    c.model.strategy = Strategy::Latency;
    return c;
}

Config Config::parse(const std::string& text, const std::string& sourceName) {
    Config cfg = defaults();
    cfg.source = sourceName;
    Ctx c{sourceName, &cfg.warnings};
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        throw Error(sourceName + ": invalid YAML: " + e.what());
    }
    if (root.IsNull()) return cfg;
    if (!root.IsMap()) c.fail("top level", "expected a mapping");

    // One of the Model / LayerType / LayerName sections (at top level or under HLSConfig).
    auto parseSection = [&](const std::string& key, const YAML::Node& v, const std::string& at) {
        if (key == "Model") {
            LayerConfig model = parseLayer(c, v, at);
            cfg.modelPrecisionGiven = cfg.modelPrecisionGiven || !model.precision.empty();
            merge(cfg.model, model);
            if (cfg.model.trace) cfg.traceOutput = true;  // Model.TraceOutput, as hls4ml writes it
            return;
        }
        if (!v.IsMap()) c.fail(at, "expected a mapping of layer " + std::string(key == "LayerType" ? "types" : "names"));
        for (const auto& lv : v) {
            std::string name = lv.first.as<std::string>();
            if (key == "LayerName") {
                merge(cfg.byName[name], parseLayer(c, lv.second, at + "." + name));
                continue;
            }
            auto alias = typeAliases().find(name);
            if (alias != typeAliases().end()) {
                merge(cfg.byType[alias->second], parseLayer(c, lv.second, at + "." + name));
            } else if (isOtherHls4mlType(name)) {
                c.warn(at + "." + name, "no layer of this hls4ml type exists in Tachyon's IR; entry ignored");
            } else {
                c.fail(at + "." + name,
                       "unknown layer type (expected Input, Dense, BatchNormalization, Activation, Softmax, Reshape "
                       "or another hls4ml layer class)");
            }
        }
    };
    auto isSection = [](const std::string& k) { return k == "Model" || k == "LayerType" || k == "LayerName"; };
    std::optional<std::string> part, xilinxPart, compatibility, weightQuantization;
    std::string writtenByHls4ml;   // the first key that only hls4ml's project files have

    for (const auto& kv : root) {
        if (!kv.first.IsScalar()) c.fail("top level", "configuration keys must be names, not lists or mappings");
        const std::string key = kv.first.as<std::string>();
        const YAML::Node& v = kv.second;
        if (writtenByHls4ml.empty() && isHls4mlProjectKey(key)) writtenByHls4ml = key;
        if (key == "HLSConfig") {
            if (!v.IsMap()) c.fail(key, "expected a mapping");
            for (const auto& sub : v) {
                const std::string k = sub.first.as<std::string>();
                if (isSection(k)) parseSection(k, sub.second, "HLSConfig." + k);
                else if (k == "Flows" || k == "Optimizers" || k == "SkipOptimizers")
                    c.warn("HLSConfig." + k, "hls4ml optimizer-flow setting; ignored (Tachyon runs its own passes)");
                else c.fail("HLSConfig." + k, "unknown key (expected Model, LayerType, LayerName, Flows, Optimizers, SkipOptimizers)");
            }
        } else if (isSection(key)) {
            parseSection(key, v, key);
        } else if (key == "IOType") {
            cfg.ioType = choice(c, v, key, {"io_parallel", "io_stream"});
        } else if (key == "ClockPeriod") {
            cfg.clockPeriodNs = toDouble(c, v, key);
            if (cfg.clockPeriodNs <= 0) c.fail(key, "must be positive");
        } else if (key == "ClockUncertainty") {
            parseClockUncertainty(c, v, cfg);
        } else if (key == "RegisterInputs") {
            cfg.registerInputs = toBool(c, v, key);
        } else if (key == "Part") {
            part = scalar(c, v, key);
        } else if (key == "XilinxPart") {
            xilinxPart = scalar(c, v, key);  // hls4ml's legacy name of Part
        } else if (key == "Backend") {
            parseBackend(c, v, cfg);
        } else if (key == "TraceOutput") {
            cfg.traceOutput = toBool(c, v, key);
        } else if (key == "ProjectName") {
            cfg.projectName = scalar(c, v, key);
        } else if (key == "Compatibility") {
            compatibility = choice(c, v, key, {"tachyon", "hls4ml"});
        } else if (key == "WeightQuantization") {
            weightQuantization = choice(c, v, key, {"tachyon", "hls4ml"});
        } else if (key == "InputShapes" || key == "OutputShapes") {
            checkShapes(c, v, key);   // what hls4ml's model had; Tachyon reads shapes from the model
        } else if (parseTreeKey(cfg, key, v)) {
            // tree-ensemble keys (config/TreeKeys.cpp)
        } else if (isCliDecidedKey(key)) {
            // hls4ml project keys: accepted for compatibility; the CLI arguments decide.
        } else if (key == "Stamp" || key == "WriterConfig" || key == "AcceleratorConfig") {
            if (key == "WriterConfig") checkWriterConfig(c, v);
            c.warn(key, "used only by hls4ml's own project writer; ignored");
        } else {
            c.fail(key, "unknown key (expected Model, LayerType, LayerName, HLSConfig, IOType, ClockPeriod, "
                        "ClockUncertainty, RegisterInputs, Part, XilinxPart, Backend, ProjectName, TraceOutput, Compatibility, "
                        "WeightQuantization, Stamp, WriterConfig, InputShapes, OutputShapes; tree ensembles: "
                        "InputPrecision, ThresholdPrecision, ScorePrecision, Precision, Pipeline, LutMaxInputBits)");
        }
    }
    if (part && xilinxPart && *part != *xilinxPart)
        c.fail("XilinxPart", "'" + *xilinxPart + "' contradicts Part '" + *part + "' (XilinxPart is the old name of Part)");
    if (part) cfg.part = *part;
    else if (xilinxPart) cfg.part = *xilinxPart;
    if (compatibility) {
        cfg.compatibility = *compatibility == "hls4ml" ? Compatibility::Hls4ml : Compatibility::Tachyon;
        cfg.compatibilityReason = "Compatibility: " + *compatibility;
    } else if (!writtenByHls4ml.empty()) {
        cfg.compatibility = Compatibility::Hls4ml;
        cfg.compatibilityReason = "the file has hls4ml's '" + writtenByHls4ml + "' key";
    }
    cfg.weightQuantization = weightQuantization ? *weightQuantization
                                                : cfg.compatibility == Compatibility::Hls4ml ? "hls4ml" : "tachyon";
    return cfg;
}

Config Config::load(const std::string& path, bool printWarnings) {
    // A folder opens as an empty stream, which would read as an empty configuration.
    if (std::filesystem::is_directory(path)) throw Error(path + ": is a folder, not a configuration file");
    std::ifstream in(path);
    if (!in) throw Error(path + ": cannot open configuration file");
    std::stringstream ss;
    ss << in.rdbuf();
    Config cfg;
    try {
        cfg = parse(ss.str(), path);
    } catch (const YAML::Exception& e) {
        // A node of an unexpected kind (a mapping used as a key, ...) that parse() did
        // not anticipate: still the file's error, not a crash.
        throw Error(path + ": invalid configuration (" + std::string(e.what()) + ")");
    }
    if (printWarnings)
        for (const std::string& w : cfg.warnings) std::cerr << "tachyon: warning: " << w << "\n";
    return cfg;
}

namespace {

// hls4ml names some variables after its own layer classes; give them Tachyon's names for
// this layer (a Tachyon name given at the same level wins).
LayerConfig renamedFor(const Layer& layer, LayerConfig lc) {
    auto rename = [&](const char* from, const char* to) {
        auto it = lc.precision.find(from);
        if (it == lc.precision.end()) return;
        if (!lc.precision.count(to)) lc.precision[to] = it->second;
        lc.precision.erase(from);
    };
    if (layer.kind == LayerKind::BatchNorm) rename("bias", "shift");  // hls4ml: scale, bias
    if (layer.kind == LayerKind::Activation) rename("slope", "param");  // hard_sigmoid slope_t
    return lc;
}

// hls4ml's `auto` for what needs no input type (infer_precision.py): weights, biases,
// scales and shifts get the default precision (_infer_default_type); accum and result are
// marked `auto_hls4ml` for assign_precision; helper types are hls4ml's defaults already.
void hls4mlAutos(LayerConfig& lc) {
    for (auto& [var, text] : lc.precision) {
        if (text == "auto_exact") text = "auto";   // Tachyon's rule, asked for by name
        else if (text == "auto") text = var == "result" || var == "accum" ? "auto_hls4ml" : "default";
    }
    for (auto it = lc.precision.begin(); it != lc.precision.end();)
        it = it->second == "default" ? lc.precision.erase(it) : std::next(it);
}

// Makes concrete every `auto` that needs only the layer itself (docs/config.md).
void concretiseAutos(const Layer& layer, LayerConfig& lc, const std::string& source) {
    for (auto& [var, text] : lc.precision)
        if (text == "auto_exact") text = "auto";
    auto isAuto = [&](const char* var) {
        auto it = lc.precision.find(var);
        return it != lc.precision.end() && it->second == "auto";
    };
    // Helper types (tables, parameters): `auto` = Tachyon's default for them.
    for (const char* var : {"table", "exp_table", "inv_table", "inv_inp", "param", "slope", "distance", "edge_weight",
                            "edge_weight_aggr", "aggr", "norm", "input_transform_weights", "input_transform_biases",
                            "aggregator_distance_weights", "aggregator_distance_biases", "output_transform_biases",
                            "reciprocal"})
        if (isAuto(var)) lc.precision.erase(var);
    // hls4ml's Distributed_Arithmetic computes the dot products exactly: no accumulator cast.
    if (isMac(layer) && lc.strategy == Strategy::DistributedArithmetic) lc.precision["accum"] = "auto";
    if (!isMac(layer) && (isAuto("accum") || (lc.precision.count("accum") && lc.precision["accum"] == "auto_hls4ml")))
        lc.precision.erase("accum");

    for (const char* var : {"weight", "bias", "scale", "shift", "recurrent_weight", "recurrent_bias"}) {
        if (!isAuto(var)) continue;
        auto vals = layer.params.find(var);
        if (vals == layer.params.end()) {   // a variable this layer does not have
            lc.precision.erase(var);
            continue;
        }
        lc.precision[var] = autoParameterType(layer, var, vals->second, lc, source).str();
    }
}

}  // namespace

Strategy strategyNamed(const std::string& name) {
    const std::string s = lowerCase(name);
    if (s == "latency") return Strategy::Latency;
    if (s == "resource") return Strategy::Resource;
    if (s == "distributed_arithmetic" || s == "distributedarithmetic") return Strategy::DistributedArithmetic;
    throw Error("unknown Strategy '" + name + "' (Latency, Resource or Distributed_Arithmetic)");
}

SoftmaxImpl softmaxImplNamed(const std::string& name) {
    const std::string s = lowerCase(name);
    for (SoftmaxImpl i : {SoftmaxImpl::Tachyon, SoftmaxImpl::Latency, SoftmaxImpl::Stable, SoftmaxImpl::Argmax,
                          SoftmaxImpl::Legacy})
        if (s == toString(i)) return i;
    throw Error("unknown softmax Implementation '" + name + "' (tachyon, stable, latency, legacy or argmax)");
}

LayerConfig Config::resolve(const Layer& layer) const {
    LayerConfig out = renamedFor(layer, model);
    // The generic kind ("Conv") first, then hls4ml's more specific class ("Conv2D").
    auto t = byType.find(toString(layer.kind));
    if (t != byType.end()) merge(out, renamedFor(layer, t->second));
    if (hlsClassName(layer) != toString(layer.kind)) {
        t = byType.find(hlsClassName(layer));
        if (t != byType.end()) merge(out, renamedFor(layer, t->second));
    }
    // hls4ml's names for the layer first, so that an entry under its own name wins.
    for (const auto& [entry, lc] : byName)
        if (entry != layer.name && namesLayer(entry, layer)) merge(out, renamedFor(layer, lc));
    auto n = byName.find(layer.name);
    if (n != byName.end()) merge(out, renamedFor(layer, n->second));
    if (compatibility == Compatibility::Hls4ml) {
        hls4mlAutos(out);
        // hls4ml's softmax when none is named (hls4ml's default Implementation is stable).
        if (layer.kind == LayerKind::Softmax && !out.softmaxImplementation) out.softmaxImplementation = SoftmaxImpl::Stable;
    }
    concretiseAutos(layer, out, source);
    return out;
}

bool isAutoText(const std::string& t) { return t == "auto" || t == "auto_exact" || t == "auto_hls4ml"; }

bool Config::namesLayer(const std::string& entry, const Layer& layer) {
    if (entry == layer.name) return true;
    // hls4ml's Keras reader names a Sequential model's input `input1` (Keras: `<first>_input`).
    if (layer.kind == LayerKind::Input && entry == "input1") return true;
    // The PyTorch converter's FX names: `relu_1` for torch.onnx's `/Relu_1` ...
    if (lowerCase(entry) == lowerCase(layer.name)) return true;
    // ... and the module `fc1` for its ONNX node `/fc1/Gemm` (Tachyon: `fc1_Gemm`).
    const std::string prefix = entry + "_";
    if (layer.name.size() <= prefix.size() || layer.name.compare(0, prefix.size(), prefix) != 0) return false;
    const std::string op = layer.name.substr(prefix.size());
    if (!std::isupper(static_cast<unsigned char>(op[0]))) return false;
    return std::all_of(op.begin(), op.end(), [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)); });
}

std::string Config::defaultsSummary() const {
    if (compatibility == Compatibility::Hls4ml)
        return "hls4ml defaults (" + compatibilityReason +
               "): softmax Implementation stable, `auto` = hls4ml's type inference (auto_exact: Tachyon's), "
               "constants rounded " + (weightQuantization == "hls4ml" ? "through hls4ml's decimal text" : "from their values") +
               " (WeightQuantization: " + weightQuantization + ")";
    return "Tachyon defaults (" + compatibilityReason +
           "): Tachyon's softmax, `auto` = the exact rule, constants rounded " +
           (weightQuantization == "hls4ml" ? "through hls4ml's decimal text" : "from their values") +
           " (WeightQuantization: " + weightQuantization + ")";
}

bool isPrecisionVariable(const std::string& var) { return kPrecisionVars.count(var) != 0; }

// What training fixed (QKeras, HGQ, QONNX, binary quantisers), so that a template used
// unedited keeps the trained model's numbers. A layer with trained weights gets `auto`
// (Tachyon's exact accumulator, and a result that keeps it), a ReLU/linear/max-pooling after
// a trained layer `auto` (its input type), and a GarNet vertex count an unsigned integer
// that holds it.
std::optional<std::string> trainedType(const Graph& g, const Layer& l, const std::string& var) {
    auto trained = l.trained.find(var);
    if (trained != l.trained.end()) return trained->second.str();
    const bool trainedWeights = l.trained.count("weight") != 0;
    if (isMac(l) && trainedWeights && (var == "accum" || var == "result")) return "auto";
    if (var == "result" && !l.inputs.empty()) {
        const Layer* producer = g.find(l.input());
        const bool exact = (l.kind == LayerKind::Activation &&
                            (l.activation() == ActKind::Linear || l.activation() == ActKind::ReLU ||
                             l.activation() == ActKind::ReLU6)) ||
                           (l.kind == LayerKind::Pooling && l.as<PoolAttrs>().op == PoolOp::Max);
        if (exact && producer && !producer->trained.empty()) return "auto";
    }
    if (l.kind == LayerKind::Input && var == "result")
        for (const Layer* c : g.consumers(l.name))
            if (c->kind == LayerKind::GarNet && c->inputs.size() > 1 && c->inputs[1] == l.name) {
                int bits = 1;
                while ((1 << bits) <= c->as<GarNetAttrs>().nVertices) ++bits;
                return "ap_uint<" + std::to_string(bits) + ">";
            }
    return std::nullopt;
}

namespace {

// The type a `-g name` template writes for `var` of `l`: the trained one, else `auto` for an
// accumulator (exact, so it cannot wrap) and ap_fixed<16,6> for the rest.
std::string templateType(const Graph& g, const Layer& l, const std::string& var, bool exactAccumulators) {
    return trainedType(g, l, var).value_or(var == "accum" && exactAccumulators ? "auto" : "ap_fixed<16,6>");
}

}  // namespace

std::string configTemplate(const Graph& g, Granularity gran, bool exactAccumulators) {
    if (isTreeModel(g)) return treeConfigTemplate(g);
    const std::string accum = exactAccumulators ? "auto" : "ap_fixed<16,6>";
    std::ostringstream os;
    os << "# Tachyon configuration for " << g.name << " (hls4ml-compatible keys)\n"
       << "Compatibility: tachyon   # Tachyon's defaults; hls4ml: hls4ml's (docs/config.md)\n"
       << "IOType: io_parallel\nClockPeriod: 5\nPart: xcvu13p-flga2577-2-e\nProjectName: myproject\n";
    if (exactAccumulators)
        os << "Model:\n  Precision:\n    default: ap_fixed<16,6>\n"
           << "    accum: auto   # exact: wide enough for every sum, so no accumulator wraps\n";
    else
        os << "Model:\n  Precision: ap_fixed<16,6>\n";
    os << "  ReuseFactor: 1\n  Strategy: Latency\n";
    if (gran == Granularity::Type) {
        std::set<std::string> kinds;
        for (const Layer& l : g.layers) kinds.insert(toString(l.kind));
        os << "LayerType:\n";
        for (const auto& k : kinds) {
            os << "  " << k << ":\n    Precision:\n";
            if (k == "Dense" || k == "Conv")
                os << "      weight: ap_fixed<16,6>\n      bias: ap_fixed<16,6>\n      accum: " << accum << "\n";
            os << "      result: ap_fixed<16,6>\n";
        }
    } else if (gran == Granularity::Name) {
        os << "LayerName:\n";
        for (const Layer& l : g.layers) {
            os << "  " << l.name << ":\n    Precision:\n";
            const auto type = [&](const char* var) { return templateType(g, l, var, exactAccumulators); };
            if (isMac(l))
                os << "      weight: " << type("weight") << "\n      bias: " << type("bias") << "\n      accum: "
                   << type("accum") << "\n";
            if (l.kind == LayerKind::BatchNorm)
                os << "      scale: " << type("scale") << "\n      shift: " << type("shift") << "\n";
            // Reduce (sum, mean) and Pow: `auto` = the exact sum or power (docs/semantics.md).
            if (l.kind == LayerKind::Pow || (l.kind == LayerKind::Reduce && l.as<ReduceAttrs>().op != ReduceOp::Max))
                os << "      accum: auto\n";
            os << "      result: " << type("result") << "\n";
            if (isMac(l)) os << "    ReuseFactor: 1\n";
            if (l.kind == LayerKind::Softmax)
                os << "    exp_table_t: " << defaultSoftmaxTableType(FixedType::parse("ap_fixed<16,6>")).str()
                   << "\n    inv_table_t: " << defaultSoftmaxTableType(FixedType::parse("ap_fixed<16,6>")).str() << "\n";
            if (l.kind == LayerKind::Activation && !isPiecewiseLinear(l.activation()))
                os << "    table_t: " << defaultTableType().str() << "\n";
        }
    }
    return os.str();
}

}  // namespace tachyon
