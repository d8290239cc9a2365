// The Tachyon model IR (v2): a typed DAG of layers over named N-D tensors.
//
// Each layer produces one tensor, named after the layer, with a per-sample shape in
// channels-last order (as hls4ml and Keras: [width, channels] for 1-D, [height, width,
// channels] for 2-D images). Channels-first models (ONNX from PyTorch) are converted
// once, at import. A layer reads any number of earlier tensors (`inputs`), so residual
// additions and concatenations are ordinary layers. Layers are kept in topological order;
// layers[0] is the Input and the last layer is the model output.
//
// What is computed lives in the layer: its kind, op-specific attributes (`attrs`, one
// struct per op family), its trained constants (`params`) and its fixed-point types
// (`precision`). How it is scheduled in hardware (reuse factor, strategy) lives in
// `Schedule` and never changes the numbers a layer produces. docs/semantics.md defines
// the arithmetic of every kind.
#pragma once

#include "fixed/FixedType.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace tachyon {

namespace trees {
struct Ensemble;   // ir/TreeEnsemble.h
}

using Shape = std::vector<int>;   // per sample, channels-last

enum class LayerKind {
    Input,
    Dense,        // matrix product over the last axis (+ bias, + fused activation)
    Conv,         // 1-D/2-D convolution, plain or depthwise (+ bias, + fused activation)
    Pooling,      // max/average over windows, or over all spatial positions (global)
    BatchNorm,    // per-channel y = x * scale + shift
    Activation,   // elementwise function
    Softmax,      // over the last axis
    Reshape,      // new shape, same data order (Flatten too)
    Transpose,    // permutes the per-sample axes
    Pad,          // zero padding of spatial axes
    Resize,       // nearest-neighbour upsampling by integer factors
    Merge,        // elementwise over inputs of one shape: add, subtract, multiply, ...
    Concatenate,  // along one axis
    Recurrent,    // SimpleRNN / LSTM / GRU over a [steps, features] sequence
    GarNet,       // GarNet / GarNetStack graph layer over [vertices, features] + vertex count
    Quantize,     // elementwise quantiser of a quantisation-aware model (QKeras, HGQ, QONNX)
    MatMul,       // batched matrix product of two activations (attention's Q.K^T and A.V)
    LayerNorm,    // normalisation over the last axis, then per-feature scale and bias
    TreeEnsemble, // boosted decision trees / random forest: [features] -> [classes] scores
    Reduce,       // sum, mean or maximum over one axis (kept with size 1)
    Pow,          // elementwise integer power x^k
};

enum class ActKind {
    Linear, ReLU, LeakyReLU, ReLU6, Sigmoid, Tanh, HardSigmoid,
    ELU, SELU, Softplus, Softsign, Swish,
    GELU,   // exact: x * Phi(x), Phi the standard normal CDF (not the tanh approximation)
};

enum class PoolOp { Max, Average };
enum class MergeOp { Add, Subtract, Multiply, Average, Maximum, Minimum };
enum class ReduceOp { Sum, Mean, Max };
// How a layer is scheduled in hardware (hls4ml's Strategy; config/ maps hls4ml's spellings).
enum class Strategy { Latency, Resource, DistributedArithmetic };
// Which softmax a Softmax layer computes: Tachyon's accurate one, or one of hls4ml's
// (bit for bit, docs/semantics.md "Softmax variants").
enum class SoftmaxImpl { Tachyon, Latency, Stable, Argmax, Legacy };

std::string toString(LayerKind k);
std::string toString(ActKind a);
std::string toString(PoolOp p);
std::string toString(MergeOp m);
std::string toString(ReduceOp r);
std::string toString(Strategy s);      // "Latency", "Resource", "Distributed_Arithmetic"
std::string toString(SoftmaxImpl i);   // "tachyon", "latency", "stable", "argmax", "legacy"
// hls4ml / Keras activation name ("relu", "sigmoid", ...) -> ActKind; nullopt if unknown.
std::optional<ActKind> parseActivation(const std::string& name);
// True for activations computed exactly with comparisons and shifts (no lookup table).
bool isPiecewiseLinear(ActKind a);
// True for activations evaluated through a lookup table (see emulator/Tables.h).
bool usesTable(ActKind a);

// ---- per-op attributes ----

struct DenseAttrs {
    int nIn = 0, nOut = 0;                 // weight [nIn][nOut], bias [nOut]
    ActKind activation = ActKind::Linear;  // fused (Linear or ReLU only; see FuseActivation)
};

// Convolution over `rank` spatial axes (1 or 2) of a [spatial..., channels] tensor.
// weight: [k_0][..][k_rank-1][inChannels][outChannels] (Keras layout) for a plain
// convolution; [k_0][..][inChannels][depthMultiplier] for a depthwise one, whose output
// channel c*depthMultiplier + m reads input channel c. bias: [outChannels].
struct ConvAttrs {
    int rank = 2;
    std::vector<int> kernel, strides, dilation;  // rank entries each
    std::vector<int> padBegin, padEnd;           // zero padding per spatial axis
    int inChannels = 0, outChannels = 0;
    bool depthwise = false;
    int depthMultiplier = 1;
    ActKind activation = ActKind::Linear;        // fused, as for Dense
    // Window positions in the order the accumulator adds them (hls4ml's im2col order:
    // kernel positions row-major, then input channels).
    int windowSize() const;
};

struct PoolAttrs {
    PoolOp op = PoolOp::Max;
    int rank = 2;
    bool global = false;                          // over every spatial position -> [channels]
    std::vector<int> kernel, strides;             // rank entries each (unused when global)
    std::vector<int> padBegin, padEnd;
    bool countPadding = false;                    // average: divide by the full window (ONNX
                                                  // count_include_pad) instead of the valid part
};

struct ActAttrs {
    ActKind kind = ActKind::Linear;
    double alpha = 0.0;                           // leaky_relu slope; elu alpha
    double slope = 0.2, offset = 0.5;             // hard_sigmoid: clip(slope*x+offset, 0, 1)
};

struct SoftmaxAttrs {};
struct ReshapeAttrs {};
struct TransposeAttrs { std::vector<int> perm; };         // out axis i = in axis perm[i]
struct PadAttrs { std::vector<int> padBegin, padEnd; };   // one entry per per-sample axis
struct ResizeAttrs { std::vector<int> scale; };           // one integer factor per axis
struct MergeAttrs { MergeOp op = MergeOp::Add; };
struct ConcatAttrs { int axis = 0; };                     // per-sample axis, >= 0

// Recurrent layers (docs/semantics.md, "Recurrent layers"). Gates are stored in Keras'
// order whatever the source: LSTM i, f, c, o; GRU z, r, h. params: "weight"
// [nIn][G*units], "recurrent_weight" [units][G*units], "bias" and "recurrent_bias"
// [G*units] (G = 1, 4, 3 for SimpleRNN, LSTM, GRU).
enum class RnnCell { SimpleRNN, LSTM, GRU };
struct RecurrentAttrs {
    RnnCell cell = RnnCell::LSTM;
    int units = 0, nIn = 0, steps = 0;
    bool returnSequences = false;
    bool goBackwards = false;          // steps processed last to first
    bool outputInInputOrder = false;   // with goBackwards + returnSequences: output[t] is the state after
                                       // input step t (ONNX "reverse"); otherwise in processing order (Keras)
    bool resetAfter = true;            // GRU: r applied after the recurrent product (Keras 2 default, PyTorch)
    ActKind activation = ActKind::Tanh;
    ActKind recurrentActivation = ActKind::Sigmoid;
    int gates() const { return cell == RnnCell::LSTM ? 4 : cell == RnnCell::GRU ? 3 : 1; }
};
std::string toString(RnnCell c);

// GarNet / GarNetStack (hls4ml contrib/garnet.py, simplified form). Inputs: the vertex
// features [nVertices][nInFeatures] and the vertex count [1]. One entry per sublayer in
// the vectors; params per sublayer k: "FLR<k>_kernel", "FLR<k>_bias", "S<k>_kernel",
// "S<k>_bias", "Fout<k>_kernel", "Fout<k>_bias" (Keras layouts, [in][out]).
struct GarNetAttrs {
    int nVertices = 0, nInFeatures = 0;
    std::vector<int> nPropagate, nAggregators, nFilters;
    std::string collapse;          // "mean", "sum", "max" or "" (per-vertex output)
    bool meanByNvert = false;
    bool stack = false;            // GarNetStack (Keras class)
    // Compatibility: hls4ml: the mean collapse's output bias is scaled by the count exactly
    // as its type holds it (wrapped negative, or beyond V), as hls4ml's C++ does; Tachyon's
    // own rule scales it by the count limited to [0, V] (docs/semantics.md, "GarNet").
    bool hls4mlCount = false;
};

// One GarNet sublayer's constants in the form hls4ml's GarNet HLS computes with
// (docs/semantics.md, "GarNet"): the input transform (FLR) contracted with the output
// kernel (Fout), which linearity allows, and the distance (S) and output bias terms.
struct GarNetSublayerWeights {
    int nIn = 0, nAggregators = 0, nOut = 0;
    std::vector<double> inputTransformWeights;      // [o][a][x] = sum_p FLR_w[x][p] Fout_w[a*P+p][o]
    std::vector<double> inputTransformBiases;       // [o][a]    = sum_p FLR_b[p] Fout_w[a*P+p][o]
    std::vector<double> aggregatorDistanceWeights;  // [a][x]    = S_w[x][a]
    std::vector<double> aggregatorDistanceBiases;   // [a]       = S_b[a]
    std::vector<double> outputTransformBiases;      // [o]       = Fout_b[o]
};

// A quantiser that quantisation-aware training put into the model (QKeras activation
// quantisers, HGQ FixedPointQuantizer, QONNX Quant/BipolarQuant/MultiThreshold); see
// docs/semantics.md. Float mode applies the same quantiser to the double value.
enum class QuantizeMode {
    Fixed,      // y_e = cast<T_e>(x_e), one fixed-point type per element (or one for all)
    Threshold,  // y = levels[n], n = how many of the channel's thresholds x reaches
};
struct QuantizeAttrs {
    QuantizeMode mode = QuantizeMode::Fixed;
    // Fixed: T_e = (width[e], integer[e], isSigned[e], quant, overflow); the vectors have
    // one entry (every element) or one per element (flat, channels-last). width 0 makes the
    // element 0 (HGQ's pruned elements).
    Quant quant = Quant::TRN;
    Overflow overflow = Overflow::WRAP;
    std::vector<int> width, integer, isSigned;
    // Element e's quantiser type (e indexes the vectors above); a 0-bit element gets a
    // 1-bit type, the caller makes it 0.
    FixedType elementType(size_t e) const {
        FixedType t = FixedType::fixed(width[e] > 0 ? width[e] : 1, integer[e], isSigned[e] != 0);
        t.quant = quant;
        t.overflow = overflow;
        return t;
    }
    // Threshold: `thresholds` holds one ascending row of nThresholds values per channel
    // (last axis) or one row for all channels; threshold k counts when x >= t (x > t when
    // strict[k]). levels has nThresholds + 1 entries.
    int nThresholds = 0;
    std::vector<double> thresholds;
    std::vector<int> strict;
    std::vector<double> levels;
};

// MatMul of two activations A [batch..., M, K] and B [batch..., K, N] (or [batch..., N, K]
// with transposeB) -> [batch..., M, N]; both inputs have the same leading (batch) axes.
// Fixed point: Dense's accumulation (docs/semantics.md, "MatMul"): acc = 0, then
// acc = cast<accum>(acc + cast<accum>(a_mk * b_kn)) for k in order, y = cast<result>(acc).
struct MatMulAttrs {
    bool transposeB = false;
};

// LayerNormalization over the last axis (docs/semantics.md, "LayerNormalization"):
// y = (x - mean) / sqrt(var + epsilon) * gamma + beta. params "scale" (gamma) and "bias"
// (beta), one per feature (1 and 0 when the source model has none). The fixed-point
// 1/sqrt comes from a table indexed by the variance's leading bits (`table.size` entries).
struct LayerNormAttrs {
    double epsilon = 1e-3;
};

// A tree ensemble (ir/TreeEnsemble.h: trees, thresholds, leaves, base scores) over a 1-D
// input of nFeatures values, giving nClasses scores (docs/trees.md). The ensemble is
// immutable and shared: a graph is copied for every configuration. Precision variables:
// "threshold" (split thresholds; default: the input's type) and "result" (leaves, base
// scores, every adder of the sum and the output: conifer's ScorePrecision).
struct TreeEnsembleAttrs {
    std::shared_ptr<const trees::Ensemble> ensemble;
};

// Reduce over one per-sample axis, kept with size 1 (docs/semantics.md, "Reduce"). Sum and
// Mean: acc = 0, then acc = cast<accum>(acc + x_i) in order; Sum y = cast<result>(acc), Mean
// y = cast<result>(acc * r) with r = 2^-k exactly when N = 2^k, else r = cast<reciprocal>(1/N).
// Max: y = cast<result>(max_i x_i).
struct ReduceAttrs {
    ReduceOp op = ReduceOp::Sum;
    int axis = 0;   // per-sample axis, >= 0
};

// y = x^exponent, exponent an integer >= 2 (docs/semantics.md, "Pow"): p = x, then
// p = cast<accum>(p * x) exponent - 1 times, y = cast<result>(p).
struct PowAttrs {
    int exponent = 2;
};

struct NoAttrs {};

using Attrs = std::variant<NoAttrs, DenseAttrs, ConvAttrs, PoolAttrs, ActAttrs, SoftmaxAttrs, ReshapeAttrs,
                           TransposeAttrs, PadAttrs, ResizeAttrs, MergeAttrs, ConcatAttrs, RecurrentAttrs, GarNetAttrs,
                           QuantizeAttrs, MatMulAttrs, LayerNormAttrs, TreeEnsembleAttrs, ReduceAttrs, PowAttrs>;

// A lookup table for sigmoid/tanh/softmax. See emulator/Tables.h for the exact indexing.
struct TableSpec {
    int size = 0;          // entries; 0 = chosen by the precision pass
    double range = 0.0;    // input half-range (sigmoid/tanh) or exp range (softmax); 0 = auto
    bool hls4ml = false;   // sigmoid/tanh built as hls4ml's templates build theirs (Compatibility: hls4ml)
};

// Scheduling only: never read by layer math or by the emulator.
struct Schedule {
    int reuseFactor = 1;
    Strategy strategy = Strategy::Latency;
    int parallelizationFactor = 1;     // hls4ml ParallelizationFactor (recorded)
    // Verilog shift-add CSE, depth vs area: -1 no depth limit (fewest adders); d >= 0 at
    // most d adder levels above each output's CSD-only minimum (docs/config.md).
    int delayConstraint = -1;
};

// hls4ml's softmax options. `tachyon` (the default, no Implementation configured) is
// Tachyon's accurate softmax; the others are hls4ml's, bit for bit (docs/semantics.md).
struct SoftmaxOptions {
    SoftmaxImpl implementation = SoftmaxImpl::Tachyon;
    bool skip = false;                      // hls4ml drops a skipped softmax
};

struct Layer {
    std::string name;
    LayerKind kind = LayerKind::Input;
    std::vector<std::string> inputs;   // producer layer names, in operand order
    Shape shape;                       // output shape per sample
    Attrs attrs;

    // Trained constants by hls4ml variable name: "weight", "bias" (Dense, Conv),
    // "scale", "shift" (BatchNorm, one value per channel), in double precision.
    std::map<std::string, std::vector<double>> params;

    // Fixed-point types by hls4ml variable name: "result", "accum", "weight", "bias",
    // "scale", "shift", "table", "exp_table", "inv_table", "param".
    std::map<std::string, FixedType> precision;
    // Types fixed by quantisation-aware training (QKeras/HGQ/QONNX quantisers), set by the
    // frontends: assign_precision uses them instead of the Model/LayerType defaults;
    // only an explicit LayerName entry overrides them.
    std::map<std::string, FixedType> trained;
    TableSpec table;      // sigmoid/tanh table, or softmax exp table
    TableSpec invTable;   // softmax inverse table
    Schedule schedule;
    SoftmaxOptions softmax;  // Softmax layers only
    bool trace = false;      // hls4ml Trace (recorded)

    int outSize() const;
    const std::string& input() const;     // the first (usually only) input
    const FixedType& type(const std::string& var) const;  // throws if unset
    bool hasType(const std::string& var) const { return precision.count(var) != 0; }
    const std::vector<double>& param(const std::string& var) const;   // throws if absent
    std::vector<double>& param(const std::string& var) { return params[var]; }

    template <class A> A& as() { return std::get<A>(attrs); }
    template <class A> const A& as() const { return std::get<A>(attrs); }
    // The activation applied by this layer (Activation), or fused into it (Dense, Conv);
    // Linear otherwise.
    ActKind activation() const;
};

struct Graph {
    std::string name;
    std::string sourceFile;
    std::vector<Layer> layers;          // topological order, layers[0] is the Input
    // What the firmware is built for (io type, part, clock) is not here: it is a Target
    // (ir/Target.h), from the configuration, handed to the backends beside the graph.
    std::map<std::string, std::string> recorded;  // other hls4ml Model keys (BramFactor, ...)

    Layer* find(const std::string& name);
    const Layer* find(const std::string& name) const;
    const Layer& at(const std::string& name) const;     // throws if absent
    size_t indexOf(const std::string& name) const;      // throws if absent
    const Layer& input() const { return layers.front(); }
    const Layer& output() const { return layers.back(); }
    // Several Input layers may lead the list (a multi-input model); the model's input row
    // is then their values concatenated in layer order. inputSize() counts them all.
    std::vector<const Layer*> inputs() const;
    int inputSize() const;
    int outputSize() const { return output().outSize(); }
    // Layers that read `name`.
    std::vector<const Layer*> consumers(const std::string& name) const;
    // True when every layer reads exactly the one before it (what the Verilog backend
    // and the dense-chain HLS templates pipeline directly).
    bool isChain() const;
};

// Dense and Conv layers both compute y_j = b_j + sum_i x_i * w_ij over a window of nIn
// inputs (the whole last axis for Dense, the kernel window for Conv), with the weight
// stored [nIn][nOut]; this gives (nIn, nOut) for either.
struct MacDims { int nIn = 0, nOut = 0; };
MacDims macDims(const Layer& l);
bool isMac(const Layer& l);

// GarNet's constants per sublayer in hls4ml's form (GarNetSublayerWeights above).
std::vector<GarNetSublayerWeights> garnetSublayerWeights(const Layer& garnet);

// The hls4ml class name of a layer ("Dense", "Conv2D", "MaxPooling1D", "Add", ...), used
// for LayerType configuration and in generated code comments.
std::string hlsClassName(const Layer& l);

// For every output position of a convolution from `in` to `out`, the flat input index of
// each window entry in the MAC's order (kernel positions row-major, then input channels),
// or -1 where the window covers padding. perChannel (depthwise): one entry per kernel
// position, the index of channel 0. The emulator's im2col and the profiler share it.
std::vector<int> convWindowIndex(const ConvAttrs& a, const Shape& in, const Shape& out, bool perChannel);

// The output shape a layer of this kind and attributes produces from inputs of these
// shapes; throws tachyon::Error (without a layer name: callers add it) when the inputs do
// not fit the op.
Shape inferShape(LayerKind kind, const Attrs& attrs, const std::vector<Shape>& inputs);

// Throws tachyon::Error naming the offending layer when the graph is inconsistent:
// duplicate names, dangling or later inputs, shapes that do not follow from the inputs,
// parameter sizes, missing types (when requireTypes), bad tables or reuse factors.
void verify(const Graph& g, bool requireTypes = false);

// "a x b x c" for messages.
std::string shapeString(const Shape& shape);

// Reduce layers: the input's size along the reduced axis (N), and the count of values
// before (outer) and after (inner) it, from the input shape.
struct ReduceDims { int outer = 1, n = 1, inner = 1; };
ReduceDims reduceDims(const ReduceAttrs& a, const Shape& in);
// Whether a Reduce's mean divides by a power of two (an exact shift, no reciprocal type).
bool isPowerOfTwo(int n);

// Readable dump used by `tachyon info`.
std::string dump(const Graph& g);

}  // namespace tachyon
