// hls4ml-compatible configuration: YAML with `Model` / `LayerType` / `LayerName` sections
// (optionally under `HLSConfig`, as hls4ml's own config files have them) plus project keys
// (`IOType`, `ClockPeriod`, `Part`, `ProjectName`, ...).
//
// Precision is either one type (applies to every variable of the layer) or a dict by
// variable name (`result`, `accum`, `weight`, `bias`, ...). `accum: auto` asks for an
// accumulator that provably never overflows. Later sections override earlier ones:
// Model < LayerType < LayerName.
#pragma once

#include "ir/Graph.h"
#include "ir/Target.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace YAML {
class Node;
}

namespace tachyon {

struct LayerConfig {
    std::map<std::string, std::string> precision;   // variable -> type text ("default" = all)
    std::optional<int> reuseFactor;
    std::optional<Strategy> strategy;
    std::optional<int> tableSize;                  // any size >= 2 (rounded up to a power of two)
    std::optional<int> invTableSize;
    std::optional<double> tableRange;
    bool trace = false;
    // Softmax: hls4ml `Implementation` (latency | stable | argmax | legacy) and `Skip`.
    std::optional<SoftmaxImpl> softmaxImplementation;
    std::optional<bool> softmaxSkip;
    std::optional<int> parallelizationFactor;      // hls4ml ParallelizationFactor (recorded)
    std::optional<int> delayConstraint;            // DelayConstraint (Verilog shift-add CSE), >= -1
    // Keys Tachyon records without acting on them (BramFactor, TargetCycles, Compression,
    // ConvImplementation, PipelineStyle, ...): key -> value as written.
    std::map<std::string, std::string> recorded;
};

// Whose defaults fill what a configuration leaves open (docs/config.md, "Compatibility").
//   Tachyon: the accurate ones (Tachyon's softmax, `auto` = the exact rule, constants
//            quantised from their float values);
//   Hls4ml : hls4ml's (softmax `stable`, `auto` = hls4ml's type inference, constants
//            rounded through the decimal text hls4ml writes).
enum class Compatibility { Tachyon, Hls4ml };

// `auto` spellings: `auto` (the rule of the configuration's Compatibility), `auto_exact`
// (Tachyon's exact rule in either mode) and `auto_hls4ml` (hls4ml's rule; what `auto`
// becomes in hls4ml mode once resolved).
bool isAutoText(const std::string& typeText);

struct Config {
    LayerConfig model;
    std::map<std::string, LayerConfig> byType;   // key: layer kind name ("Dense", ...)
    std::map<std::string, LayerConfig> byName;
    std::string ioType = "io_parallel";
    double clockPeriodNs = 5.0;
    std::string part = "xcvu13p-flga2577-2-e";
    std::string projectName = "myproject";
    std::string clockUncertainty;                  // as written ("12.5%" or ns); empty = tool default
    bool registerInputs = false;                   // Verilog: a register stage on the input bus (RegisterInputs)
    std::string backend = "Vivado";                // hls4ml Backend (Vivado / Vitis / VivadoAccelerator)
    // The settings above as the typed target the backends read (config/ConfigTarget.cpp).
    Target target() const;
    bool traceOutput = false;                      // hls4ml TraceOutput (recorded)
    std::string source = "<defaults>";             // file the config came from (for errors)
    Compatibility compatibility = Compatibility::Tachyon;
    std::string compatibilityReason = "default";   // why: the key, or the hls4ml key that shows who wrote the file
    // Constants (weights, biases, BatchNorm scale/shift) quantised from their values
    // ("tachyon") or as hls4ml does, through a decimal string ("hls4ml"); the default
    // follows `compatibility`.
    std::string weightQuantization = "tachyon";
    // Whether the file sets Model.Precision; without it, tree layers get kTreeDefaultPrecision.
    bool modelPrecisionGiven = false;
    // Tree-model keys (docs/trees.md, config/TreeKeys.cpp): Verilog register stages of a tree
    // ensemble (-1: auto) and the lookup-table backend's limit on the total input bits.
    int treePipeline = -1;
    int lutMaxInputBits = 20;
    // Keys accepted for compatibility that only hls4ml's own writer uses (WriterConfig,
    // Stamp, ...): one line each, "file: key: why". `load` also prints them to stderr.
    std::vector<std::string> warnings;

    static Config defaults();                      // Model: Precision ap_fixed<16,6>, RF 1, Latency
    static Config load(const std::string& path, bool printWarnings = true);   // throws Error naming file and key
    static Config parse(const std::string& yamlText, const std::string& sourceName);

    // Every variable of `layer` resolved through Model < LayerType < LayerName, with hls4ml's
    // variable names mapped onto Tachyon's (BatchNorm `bias` -> `shift`, hard_sigmoid
    // `slope` -> `param`) and every `auto` that needs no input type made concrete (see
    // docs/config.md); `result: auto` is left for `autoResultType`.
    LayerConfig resolve(const Layer& layer) const;

    // The LayerName entry names `layer`: its own name, or hls4ml's name for it (the
    // Sequential model's input `input1`, the PyTorch converter's `fc1` for ONNX `fc1_Gemm`).
    static bool namesLayer(const std::string& entry, const Layer& layer);

    // One line for `tachyon info -c`: which defaults are in force and why.
    std::string defaultsSummary() const;
};

// Tree-ensemble configurations (config/TreeKeys.cpp): InputPrecision, ThresholdPrecision,
// ScorePrecision (aliases of LayerType Input result, TreeEnsemble threshold and result),
// conifer's Precision, Pipeline, LutMaxInputBits, Unroll. Returns false for any other key;
// throws Error naming the file and key for a bad value.
bool parseTreeKey(Config& cfg, const std::string& key, const YAML::Node& value);
// The type of tree layers (a TreeEnsemble, an Input only trees read) that no Model
// Precision overrides: the tree writers' long-standing default.
inline constexpr const char* kTreeDefaultPrecision = "ap_fixed<18,8>";
// cfg.resolve(l), with kTreeDefaultPrecision as the Model default for tree layers when the
// configuration sets no Model Precision.
LayerConfig resolveWithTreeDefaults(const Config& cfg, const Graph& g, const Layer& l);
// Whether every layer of g is a tree layer (an ensemble read from a tree file): its
// configuration template is the tree keys' (treeConfigTemplate), with no granularity.
bool isTreeModel(const Graph& g);
std::string treeConfigTemplate(const Graph& g);

// hls4ml's `auto` (model/optimizer/passes/infer_precision.py) for variable `var`
// ("result" or "accum") of `layer` whose inputs have types `inputs` (none for the Input
// layer), with `lc` = cfg.resolve(layer) (its weight/bias types concrete) and
// `modelDefault` = Model.Precision.default (hls4ml's fallback for what it does not infer).
FixedType hls4mlAutoType(const Layer& layer, const std::string& var, const std::vector<FixedType>& inputs,
                         const LayerConfig& lc, const FixedType& modelDefault, const std::string& source);

// A constant as hls4ml's writer stores it in type `t`: printed with as many decimal digits
// as `t` has fraction bits, read back as a double (the C++ compiler or `>>`), which the
// ap_fixed cast then quantises.
double hls4mlDecimalText(double value, const FixedType& t);

enum class Granularity { Model, Type, Name };
// YAML template for `tachyon config`, with the layer names and types of `g`. Trained types
// are kept; every other accumulator is `auto` (Tachyon's exact rule: it cannot wrap) unless
// `exactAccumulators` is false, which gives Tachyon's defaults (ap_fixed<16,6> everywhere).
std::string configTemplate(const Graph& g, Granularity gran, bool exactAccumulators = true);

// Default types of the helper variables (tables, parameters) that Tachyon chooses itself.
FixedType defaultTableType();       // sigmoid/tanh entries
// Tachyon's softmax exp/inverse table entries for a softmax with result type `result`
// (docs/semantics.md, "Tables"): ap_ufixed<F+g+1, 1, AP_RND, AP_SAT> with F = the result's
// fraction bits and g = kSoftmaxGuardBits, so the entries (and the product e * r) carry
// just enough bits for the rounding to `result`, not a fixed 18.
constexpr int kSoftmaxGuardBits = 3;
FixedType defaultSoftmaxTableType(const FixedType& result);
FixedType defaultParamType();       // leaky alpha, hard_sigmoid slope/offset

// `result: auto` of `layer` whose input has type `input` (nullptr for the Input layer),
// with `lc` = cfg.resolve(layer). Tachyon's rule (docs/config.md): a type that holds the
// layer's exact result (Dense: its accumulator; BatchNorm: x*scale+shift; linear/ReLU:
// the input type), else the layer's default precision; capped by Model.Precision.maximum.
FixedType autoResultType(const Layer& layer, const FixedType* input, const LayerConfig& lc,
                         const std::string& source);

// `weight`/`bias`/`scale`/`shift: auto` of `layer` with parameter values `values`: the LSB
// of the layer's default precision, just enough integer bits for the largest value (so
// no parameter overflows), capped by Model.Precision.maximum.
FixedType autoParameterType(const Layer& layer, const std::string& var, const std::vector<double>& values,
                            const LayerConfig& lc, const std::string& source);

// Dense `accum: auto`: the exact accumulator (autoAccumulator), capped by
// Model.Precision.maximum as hls4ml caps its inferred types.
FixedType autoAccumType(const Layer& layer, const FixedType& input, const LayerConfig& lc, const std::string& source);

// hls4ml's spellings, case-insensitive, as the configuration's `Strategy` and softmax
// `Implementation` keys take them (Distributed_Arithmetic also DistributedArithmetic; the
// old `Stable` strategy is a softmax choice, handled by the parser). Throw on anything else.
Strategy strategyNamed(const std::string& name);
SoftmaxImpl softmaxImplNamed(const std::string& name);

// Settings beyond types/reuse/strategy, copied into the IR by assign_precision.
void recordProjectSettings(Graph& g, const Config& cfg);
void recordLayerSettings(Layer& layer, const LayerConfig& lc);

// Throws when `g` asks for arithmetic that is recorded but not emulated yet (a softmax
// Implementation other than stable, softmax Skip): called when an emulator is built.
void requireEmulatedArithmetic(const Graph& g);

}  // namespace tachyon
