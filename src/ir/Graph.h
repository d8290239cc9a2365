// The Tachyon model IR: a small typed graph of layers.
//
// What is computed (layer kind, weights, activation function, fixed-point types) lives
// in `Layer`; how it is scheduled in hardware (reuse factor, strategy, io type, clock)
// lives in `Schedule` and never changes the numbers a layer produces.
//
// Layers are kept in topological order; each non-input layer reads exactly one
// producer (`input`), which is what the dense-family models need. Tensors are per
// sample: a Dense layer maps a vector of n_in values to n_out values.
#pragma once

#include "fixed/FixedType.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tachyon {

enum class LayerKind { Input, Dense, BatchNorm, Activation, Softmax, Reshape };

enum class ActKind { Linear, ReLU, LeakyReLU, ReLU6, Sigmoid, Tanh, HardSigmoid };

std::string toString(LayerKind k);
std::string toString(ActKind a);
// hls4ml / Keras activation name ("relu", "sigmoid", ...) -> ActKind; nullopt if unknown.
std::optional<ActKind> parseActivation(const std::string& name);
// True for activations computed exactly with comparisons and shifts (no lookup table).
bool isPiecewiseLinear(ActKind a);

// A lookup table for sigmoid/tanh/softmax. See emulator/Tables.h for the exact indexing.
struct TableSpec {
    int size = 0;          // entries; 0 = chosen by the precision pass
    double range = 0.0;    // input half-range (sigmoid/tanh) or exp range (softmax); 0 = auto
};

// Scheduling only: never read by layer math or by the emulator.
struct Schedule {
    int reuseFactor = 1;
    std::string strategy = "Latency";  // Latency | Resource | Distributed_Arithmetic
    int parallelizationFactor = 1;     // hls4ml ParallelizationFactor (recorded)
};

// hls4ml's softmax options. Tachyon emulates `stable` (maximum subtracted first).
struct SoftmaxOptions {
    std::string implementation = "stable";  // latency | stable | argmax | legacy
    bool skip = false;                      // hls4ml drops a skipped softmax
};

struct Layer {
    std::string name;
    LayerKind kind = LayerKind::Input;
    std::string input;                 // producer layer name (empty for Input)
    std::vector<int> shape;            // output shape per sample (e.g. {64})

    // Dense: weight is row-major [nIn][nOut], bias [nOut] (zeros when absent).
    // BatchNorm (inference form): y = x * scale + shift, both [n].
    std::vector<double> weight, bias;
    std::vector<double> scale, shift;
    int nIn = 0, nOut = 0;

    // Activation kind: for Activation layers, and for Dense layers after fusion
    // (Linear when nothing is fused).
    ActKind activation = ActKind::Linear;
    double alpha = 0.0;        // leaky_relu slope
    double hardSlope = 0.2, hardOffset = 0.5;  // hard_sigmoid: clip(slope*x+offset, 0, 1)

    // Fixed-point types by hls4ml variable name: "result", "accum", "weight", "bias",
    // "scale", "shift" (BatchNorm), "table" (sigmoid/tanh), "exp_table", "inv_table" (softmax).
    std::map<std::string, FixedType> precision;
    TableSpec table;      // sigmoid/tanh table, or softmax exp table
    TableSpec invTable;   // softmax inverse table
    Schedule schedule;
    SoftmaxOptions softmax;  // Softmax layers only
    bool trace = false;      // hls4ml Trace (recorded)

    int outSize() const;
    const FixedType& type(const std::string& var) const;  // throws if unset
    bool hasType(const std::string& var) const { return precision.count(var) != 0; }
};

struct Graph {
    std::string name;
    std::string sourceFile;
    std::vector<Layer> layers;          // topological order, layers[0] is the Input

    // Project-level settings that hls4ml keeps under `Model` / top level.
    std::string ioType = "io_parallel";
    double clockPeriodNs = 5.0;
    std::string part = "xcvu13p-flga2577-2-e";
    std::string clockUncertainty;       // "12.5%" or ns, for build_prj.tcl; empty = tool default
    std::string backend = "Vivado";     // hls4ml Backend (recorded)
    std::map<std::string, std::string> recorded;  // other hls4ml Model keys (BramFactor, ...)

    Layer* find(const std::string& name);
    const Layer* find(const std::string& name) const;
    const Layer& input() const { return layers.front(); }
    const Layer& output() const { return layers.back(); }
    int inputSize() const { return input().outSize(); }
    int outputSize() const { return output().outSize(); }
    // Layers that read `name`.
    std::vector<const Layer*> consumers(const std::string& name) const;
};

// Throws tachyon::Error naming the offending layer when the graph is inconsistent:
// duplicate names, dangling inputs, shape mismatches, weight sizes, missing types
// (when requireTypes), table sizes below 2, bad reuse factors.
void verify(const Graph& g, bool requireTypes = false);

// Readable dump used by `tachyon info`.
std::string dump(const Graph& g);

}  // namespace tachyon
