#include "ir/Graph.h"

#include "ir/TreeEnsemble.h"
#include "util/Error.h"

#include <cctype>
#include <cmath>
#include <set>
#include <sstream>

namespace tachyon {

std::string toString(LayerKind k) {
    switch (k) {
    case LayerKind::Input: return "Input";
    case LayerKind::Dense: return "Dense";
    case LayerKind::Conv: return "Conv";
    case LayerKind::Pooling: return "Pooling";
    case LayerKind::BatchNorm: return "BatchNormalization";
    case LayerKind::Activation: return "Activation";
    case LayerKind::Softmax: return "Softmax";
    case LayerKind::Reshape: return "Reshape";
    case LayerKind::Transpose: return "Transpose";
    case LayerKind::Pad: return "ZeroPadding";
    case LayerKind::Resize: return "UpSampling";
    case LayerKind::Merge: return "Merge";
    case LayerKind::Concatenate: return "Concatenate";
    case LayerKind::Recurrent: return "Recurrent";
    case LayerKind::GarNet: return "GarNet";
    case LayerKind::Quantize: return "Quantize";
    case LayerKind::MatMul: return "MatMul";
    case LayerKind::LayerNorm: return "LayerNormalization";
    case LayerKind::TreeEnsemble: return "TreeEnsemble";
    case LayerKind::Reduce: return "Reduce";
    case LayerKind::Pow: return "Pow";
    }
    return "?";
}

std::string toString(ActKind a) {
    switch (a) {
    case ActKind::Linear: return "linear";
    case ActKind::ReLU: return "relu";
    case ActKind::LeakyReLU: return "leaky_relu";
    case ActKind::ReLU6: return "relu6";
    case ActKind::Sigmoid: return "sigmoid";
    case ActKind::Tanh: return "tanh";
    case ActKind::HardSigmoid: return "hard_sigmoid";
    case ActKind::ELU: return "elu";
    case ActKind::SELU: return "selu";
    case ActKind::Softplus: return "softplus";
    case ActKind::Softsign: return "softsign";
    case ActKind::Swish: return "swish";
    case ActKind::GELU: return "gelu";
    }
    return "?";
}

std::string toString(RnnCell c) {
    return c == RnnCell::LSTM ? "LSTM" : c == RnnCell::GRU ? "GRU" : "SimpleRNN";
}

std::string toString(PoolOp p) { return p == PoolOp::Max ? "max" : "average"; }

std::string toString(MergeOp m) {
    switch (m) {
    case MergeOp::Add: return "add";
    case MergeOp::Subtract: return "subtract";
    case MergeOp::Multiply: return "multiply";
    case MergeOp::Average: return "average";
    case MergeOp::Maximum: return "maximum";
    case MergeOp::Minimum: return "minimum";
    }
    return "?";
}

std::string toString(ReduceOp r) {
    switch (r) {
    case ReduceOp::Sum: return "sum";
    case ReduceOp::Mean: return "mean";
    case ReduceOp::Max: return "max";
    }
    return "?";
}

std::string toString(Strategy s) {
    switch (s) {
    case Strategy::Latency: return "Latency";
    case Strategy::Resource: return "Resource";
    case Strategy::DistributedArithmetic: return "Distributed_Arithmetic";
    }
    return "?";
}

std::string toString(SoftmaxImpl i) {
    switch (i) {
    case SoftmaxImpl::Tachyon: return "tachyon";
    case SoftmaxImpl::Latency: return "latency";
    case SoftmaxImpl::Stable: return "stable";
    case SoftmaxImpl::Argmax: return "argmax";
    case SoftmaxImpl::Legacy: return "legacy";
    }
    return "?";
}

std::optional<ActKind> parseActivation(const std::string& name) {
    for (ActKind a : {ActKind::Linear, ActKind::ReLU, ActKind::LeakyReLU, ActKind::ReLU6, ActKind::Sigmoid,
                      ActKind::Tanh, ActKind::HardSigmoid, ActKind::ELU, ActKind::SELU, ActKind::Softplus,
                      ActKind::Softsign, ActKind::Swish, ActKind::GELU})
        if (toString(a) == name) return a;
    if (name == "leakyrelu" || name == "LeakyReLU") return ActKind::LeakyReLU;
    if (name == "ReLU") return ActKind::ReLU;
    if (name == "silu") return ActKind::Swish;   // Keras 3 / PyTorch name of x * sigmoid(x)
    return std::nullopt;
}

bool isPiecewiseLinear(ActKind a) {
    return a == ActKind::Linear || a == ActKind::ReLU || a == ActKind::ReLU6 || a == ActKind::LeakyReLU ||
           a == ActKind::HardSigmoid;
}

bool usesTable(ActKind a) { return !isPiecewiseLinear(a); }

int ConvAttrs::windowSize() const {
    int n = depthwise ? 1 : inChannels;
    for (int k : kernel) n *= k;
    return n;
}

bool isMac(const Layer& l) { return l.kind == LayerKind::Dense || l.kind == LayerKind::Conv; }

MacDims macDims(const Layer& l) {
    if (l.kind == LayerKind::Dense) return {l.as<DenseAttrs>().nIn, l.as<DenseAttrs>().nOut};
    if (l.kind == LayerKind::Conv) return {l.as<ConvAttrs>().windowSize(), l.as<ConvAttrs>().outChannels};
    throw Error("layer '" + l.name + "' is not a Dense or Conv layer");
}

ReduceDims reduceDims(const ReduceAttrs& a, const Shape& in) {
    ReduceDims d;
    for (int k = 0; k < int(in.size()); ++k) {
        if (k < a.axis) d.outer *= in[size_t(k)];
        else if (k == a.axis) d.n = in[size_t(k)];
        else d.inner *= in[size_t(k)];
    }
    return d;
}

bool isPowerOfTwo(int n) { return n > 0 && (n & (n - 1)) == 0; }

std::string hlsClassName(const Layer& l) {
    switch (l.kind) {
    case LayerKind::Conv: {
        const auto& a = l.as<ConvAttrs>();
        return std::string(a.depthwise ? "DepthwiseConv" : "Conv") + std::to_string(a.rank) + "D";
    }
    case LayerKind::Pooling: {
        const auto& a = l.as<PoolAttrs>();
        return std::string(a.global ? "Global" : "") + (a.op == PoolOp::Max ? "MaxPooling" : "AveragePooling") +
               std::to_string(a.rank) + "D";
    }
    case LayerKind::Pad: return "ZeroPadding" + std::to_string(std::max<int>(1, int(l.shape.size()) - 1)) + "D";
    case LayerKind::Resize: return "UpSampling" + std::to_string(std::max<int>(1, int(l.shape.size()) - 1)) + "D";
    case LayerKind::Recurrent: return toString(l.as<RecurrentAttrs>().cell);
    case LayerKind::GarNet: return l.as<GarNetAttrs>().stack ? "GarNetStack" : "GarNet";
    case LayerKind::Merge: {
        std::string op = toString(l.as<MergeAttrs>().op);
        op[0] = char(std::toupper(static_cast<unsigned char>(op[0])));
        return op;
    }
    case LayerKind::Reduce: {   // ONNX's names: ReduceSum, ReduceMean, ReduceMax
        std::string op = toString(l.as<ReduceAttrs>().op);
        op[0] = char(std::toupper(static_cast<unsigned char>(op[0])));
        return "Reduce" + op;
    }
    default: return toString(l.kind);
    }
}

int Layer::outSize() const {
    long long n = 1;
    for (int d : shape) n *= d;
    return int(n);
}

const std::string& Layer::input() const {
    if (inputs.empty()) throw Error("layer '" + name + "' has no input");
    return inputs.front();
}

const FixedType& Layer::type(const std::string& var) const {
    auto it = precision.find(var);
    if (it == precision.end())
        throw Error("layer '" + name + "': no '" + var + "' precision assigned");
    return it->second;
}

const std::vector<double>& Layer::param(const std::string& var) const {
    auto it = params.find(var);
    if (it == params.end()) throw Error("layer '" + name + "': no '" + var + "' values");
    return it->second;
}

ActKind Layer::activation() const {
    switch (kind) {
    case LayerKind::Activation: return as<ActAttrs>().kind;
    case LayerKind::Dense: return as<DenseAttrs>().activation;
    case LayerKind::Conv: return as<ConvAttrs>().activation;
    default: return ActKind::Linear;
    }
}

Layer* Graph::find(const std::string& n) {
    for (auto& l : layers)
        if (l.name == n) return &l;
    return nullptr;
}
const Layer* Graph::find(const std::string& n) const {
    for (auto& l : layers)
        if (l.name == n) return &l;
    return nullptr;
}
const Layer& Graph::at(const std::string& n) const {
    const Layer* l = find(n);
    if (!l) throw Error("model '" + name + "': no layer named '" + n + "'");
    return *l;
}
size_t Graph::indexOf(const std::string& n) const {
    for (size_t k = 0; k < layers.size(); ++k)
        if (layers[k].name == n) return k;
    throw Error("model '" + name + "': no layer named '" + n + "'");
}

std::vector<const Layer*> Graph::inputs() const {
    std::vector<const Layer*> out;
    for (const Layer& l : layers) {
        if (l.kind != LayerKind::Input) break;
        out.push_back(&l);
    }
    return out;
}

int Graph::inputSize() const {
    int n = 0;
    for (const Layer* l : inputs()) n += l->outSize();
    return n;
}

std::vector<const Layer*> Graph::consumers(const std::string& n) const {
    std::vector<const Layer*> out;
    for (auto& l : layers)
        for (const auto& i : l.inputs)
            if (i == n) {
                out.push_back(&l);
                break;
            }
    return out;
}

bool Graph::isChain() const {
    for (size_t k = 1; k < layers.size(); ++k)
        if (layers[k].inputs.size() != 1 || layers[k].inputs[0] != layers[k - 1].name) return false;
    return true;
}

std::string shapeString(const Shape& shape) {
    std::string s;
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? " x " : "") + std::to_string(shape[i]);
    return s.empty() ? "scalar" : s;
}

std::vector<GarNetSublayerWeights> garnetSublayerWeights(const Layer& l) {
    const auto& a = l.as<GarNetAttrs>();
    std::vector<GarNetSublayerWeights> out;
    int nIn = a.nInFeatures;
    for (size_t k = 0; k < a.nFilters.size(); ++k) {
        const std::string s = std::to_string(k);
        const int P = a.nPropagate[k], A = a.nAggregators[k], F = a.nFilters[k];
        const auto& flrW = l.param("FLR" + s + "_kernel");
        const auto& flrB = l.param("FLR" + s + "_bias");
        const auto& sW = l.param("S" + s + "_kernel");
        const auto& oW = l.param("Fout" + s + "_kernel");
        GarNetSublayerWeights w;
        w.nIn = nIn, w.nAggregators = A, w.nOut = F;
        w.inputTransformWeights.assign(size_t(F) * A * nIn, 0.0);
        w.inputTransformBiases.assign(size_t(F) * A, 0.0);
        for (int o = 0; o < F; ++o)
            for (int q = 0; q < A; ++q) {
                double bias = 0;
                for (int p = 0; p < P; ++p) bias += flrB[size_t(p)] * oW[size_t((q * P + p) * F + o)];
                w.inputTransformBiases[size_t(o * A + q)] = bias;
                for (int x = 0; x < nIn; ++x) {
                    double acc = 0;
                    for (int p = 0; p < P; ++p) acc += flrW[size_t(x * P + p)] * oW[size_t((q * P + p) * F + o)];
                    w.inputTransformWeights[(size_t(o) * A + q) * nIn + x] = acc;
                }
            }
        w.aggregatorDistanceWeights.assign(size_t(A) * nIn, 0.0);
        for (int q = 0; q < A; ++q)
            for (int x = 0; x < nIn; ++x) w.aggregatorDistanceWeights[size_t(q * nIn + x)] = sW[size_t(x * A + q)];
        w.aggregatorDistanceBiases = l.param("S" + s + "_bias");
        w.outputTransformBiases = l.param("Fout" + s + "_bias");
        out.push_back(std::move(w));
        nIn = F;
    }
    return out;
}

namespace {

// Expected number of values of each trained constant of a layer.
std::map<std::string, size_t> expectedParams(const Layer& l) {
    switch (l.kind) {
    case LayerKind::Dense: {
        const auto& a = l.as<DenseAttrs>();
        return {{"weight", size_t(a.nIn) * size_t(a.nOut)}, {"bias", size_t(a.nOut)}};
    }
    case LayerKind::Conv: {
        const auto& a = l.as<ConvAttrs>();
        return {{"weight", size_t(a.windowSize()) * size_t(a.outChannels)},
                {"bias", size_t(a.outChannels)}};
    }
    case LayerKind::BatchNorm: return {{"scale", size_t(l.shape.back())}, {"shift", size_t(l.shape.back())}};
    case LayerKind::LayerNorm: return {{"scale", size_t(l.shape.back())}, {"bias", size_t(l.shape.back())}};
    case LayerKind::Recurrent: {
        const auto& a = l.as<RecurrentAttrs>();
        const size_t g = size_t(a.gates()) * size_t(a.units);
        return {{"weight", size_t(a.nIn) * g}, {"recurrent_weight", size_t(a.units) * g}, {"bias", g},
                {"recurrent_bias", g}};
    }
    case LayerKind::GarNet: {
        const auto& a = l.as<GarNetAttrs>();
        std::map<std::string, size_t> m;
        int nIn = a.nInFeatures;
        for (size_t k = 0; k < a.nFilters.size(); ++k) {
            const std::string s = std::to_string(k);
            const size_t p = size_t(a.nPropagate[k]), ag = size_t(a.nAggregators[k]), f = size_t(a.nFilters[k]);
            m["FLR" + s + "_kernel"] = size_t(nIn) * p;
            m["FLR" + s + "_bias"] = p;
            m["S" + s + "_kernel"] = size_t(nIn) * ag;
            m["S" + s + "_bias"] = ag;
            m["Fout" + s + "_kernel"] = p * ag * f;
            m["Fout" + s + "_bias"] = f;
            nIn = a.nFilters[k];
        }
        return m;
    }
    default: return {};
    }
}

// The types a Reduce or Pow layer computes with (docs/semantics.md): an accumulator for
// sums and products, a reciprocal for a mean whose N is not a power of two, and products
// that the emulator's 128-bit integers hold exactly.
template <class Fail>
void verifyReducePowTypes(const Graph& g, const Layer& l, Fail&& fail) {
    if (l.kind == LayerKind::Reduce) {
        const auto& a = l.as<ReduceAttrs>();
        if (a.op == ReduceOp::Max) return;
        if (!l.hasType("accum")) fail(l, "no accum precision");
        const int n = reduceDims(a, g.at(l.input()).shape).n;
        if (a.op == ReduceOp::Mean && !isPowerOfTwo(n)) {
            if (!l.hasType("reciprocal")) fail(l, "no reciprocal precision (the mean's 1/" + std::to_string(n) + ")");
            if (l.type("reciprocal").castDouble(1.0 / n) <= 0)
                fail(l, "reciprocal type " + l.type("reciprocal").str() + " rounds 1/" + std::to_string(n) + " to zero or below");
        }
    } else if (l.kind == LayerKind::Pow) {
        if (!l.hasType("accum")) fail(l, "no accum precision");
        const Layer* in = g.find(l.input());
        if (in && in->hasType("result") && l.type("accum").width + in->type("result").width > 120)
            fail(l, "accum " + l.type("accum").str() + " times the input " + in->type("result").str() +
                        " is wider than 120 bits");
    }
}

}  // namespace

void verify(const Graph& g, bool requireTypes) {
    auto fail = [&](const Layer& l, const std::string& why) {
        throw Error("model '" + g.name + "', layer '" + l.name + "' (" + toString(l.kind) + "): " + why);
    };
    if (g.layers.empty()) throw Error("model '" + g.name + "': no layers");
    if (g.layers.front().kind != LayerKind::Input)
        throw Error("model '" + g.name + "': first layer must be the Input");
    std::set<std::string> seen;
    for (size_t i = 0; i < g.layers.size(); ++i) {
        const Layer& l = g.layers[i];
        if (l.name.empty()) throw Error("model '" + g.name + "': layer " + std::to_string(i) + " has no name");
        if (!seen.insert(l.name).second) fail(l, "duplicate layer name");
        if (l.shape.empty() || l.outSize() <= 0) fail(l, "empty or invalid output shape");
        if (l.kind == LayerKind::Input) {
            if (i != 0 && g.layers[i - 1].kind != LayerKind::Input)
                fail(l, "Input layers must come before every other layer");
            if (!l.inputs.empty()) fail(l, "an Input reads nothing");
            continue;
        }
        if (l.inputs.empty()) fail(l, "reads no input");
        std::vector<Shape> inShapes;
        for (const auto& in : l.inputs) {
            const Layer* src = g.find(in);
            if (!src || !seen.count(in) || in == l.name) fail(l, "input '" + in + "' is not an earlier layer");
            inShapes.push_back(src->shape);
        }
        if (l.kind == LayerKind::Reshape) {
            if (inShapes.size() != 1) fail(l, "a Reshape reads one input");
            long long a = 1;
            for (int d : inShapes[0]) a *= d;
            if (a != l.outSize()) fail(l, "cannot reshape " + shapeString(inShapes[0]) + " to " + shapeString(l.shape));
        } else {
            Shape expect;
            try {
                expect = inferShape(l.kind, l.attrs, inShapes);
            } catch (const std::bad_variant_access&) {
                fail(l, "attributes of the wrong kind");
            } catch (const Error& e) {
                fail(l, e.what());
            }
            if (expect != l.shape) fail(l, "output shape " + shapeString(l.shape) + " does not follow from its inputs (" + shapeString(expect) + ")");
        }
        if (l.kind == LayerKind::TreeEnsemble) {
            try {
                trees::verify(*l.as<TreeEnsembleAttrs>().ensemble);
            } catch (const Error& e) {
                fail(l, e.what());
            }
        }
        if (l.kind == LayerKind::Pow && (l.as<PowAttrs>().exponent < 2 || l.as<PowAttrs>().exponent > 8))
            fail(l, "exponent " + std::to_string(l.as<PowAttrs>().exponent) + " is outside 2..8");
        if (isMac(l) && l.activation() != ActKind::Linear && l.activation() != ActKind::ReLU)
            fail(l, "fused activation " + toString(l.activation()) + " (only linear and relu can be fused)");
        for (const auto& [var, n] : expectedParams(l)) {
            auto it = l.params.find(var);
            if (it == l.params.end()) fail(l, "no " + var + " values");
            if (it->second.size() != n) fail(l, var + " has " + std::to_string(it->second.size()) + " values, expected " + std::to_string(n));
        }
        for (const auto& [var, v] : l.params)
            for (double x : v)
                if (!std::isfinite(x)) fail(l, "non-finite " + var + " value");
        // Any table size >= 2: the tables are indexed by a shift, so emulator/Tables.cpp rounds
        // a size that is not a power of two up to the next one (docs/config.md).
        for (const TableSpec* t : {&l.table, &l.invTable})
            if (t->size != 0 && t->size < 2) fail(l, "table size " + std::to_string(t->size) + " is below 2");
        if (l.schedule.reuseFactor < 1) fail(l, "ReuseFactor must be >= 1");
        if (l.schedule.parallelizationFactor < 1) fail(l, "ParallelizationFactor must be >= 1");
    }
    if (requireTypes) {
        for (const Layer& l : g.layers) {
            if (!l.hasType("result")) fail(l, "no result precision");
            if (l.kind == LayerKind::Dense || l.kind == LayerKind::Conv)
                for (auto v : {"weight", "bias", "accum"})
                    if (!l.hasType(v)) fail(l, std::string("no ") + v + " precision");
            if (l.kind == LayerKind::TreeEnsemble && !l.hasType("threshold")) fail(l, "no threshold precision");
            verifyReducePowTypes(g, l, fail);
        }
    }
}

namespace {

std::string list(const std::vector<int>& v) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
    return s;
}

std::string describe(const Layer& l) {
    std::ostringstream os;
    switch (l.kind) {
    case LayerKind::Dense: {
        const auto& a = l.as<DenseAttrs>();
        os << " " << a.nIn << "->" << a.nOut;
        break;
    }
    case LayerKind::Conv: {
        const auto& a = l.as<ConvAttrs>();
        os << " " << a.rank << "D" << (a.depthwise ? " depthwise" : "") << " kernel=" << list(a.kernel)
           << " strides=" << list(a.strides) << " " << a.inChannels << "->" << a.outChannels;
        if (a.dilation != std::vector<int>(size_t(a.rank), 1)) os << " dilation=" << list(a.dilation);
        if (a.padBegin != std::vector<int>(size_t(a.rank), 0) || a.padEnd != a.padBegin)
            os << " pad=" << list(a.padBegin) << "/" << list(a.padEnd);
        break;
    }
    case LayerKind::Pooling: {
        const auto& a = l.as<PoolAttrs>();
        os << " " << toString(a.op) << (a.global ? " global" : " pool=" + list(a.kernel) + " strides=" + list(a.strides));
        break;
    }
    case LayerKind::Transpose: os << " perm=" << list(l.as<TransposeAttrs>().perm); break;
    case LayerKind::Pad: os << " pad=" << list(l.as<PadAttrs>().padBegin) << "/" << list(l.as<PadAttrs>().padEnd); break;
    case LayerKind::Resize: os << " scale=" << list(l.as<ResizeAttrs>().scale); break;
    case LayerKind::Merge: os << " " << toString(l.as<MergeAttrs>().op); break;
    case LayerKind::Concatenate: os << " axis=" << l.as<ConcatAttrs>().axis; break;
    case LayerKind::LayerNorm: os << " epsilon=" << l.as<LayerNormAttrs>().epsilon; break;
    case LayerKind::MatMul: if (l.as<MatMulAttrs>().transposeB) os << " transpose_b"; break;
    case LayerKind::TreeEnsemble: {
        const trees::Ensemble& e = *l.as<TreeEnsembleAttrs>().ensemble;
        os << " " << e.source << " " << e.trees.size() << " trees, max depth " << e.maxDepth() << ", "
           << e.nFeatures << " features -> " << e.nClasses << (e.nClasses == 1 ? " score" : " class scores")
           << ", go left when x " << (e.comparison == trees::Comparison::Less ? "<" : "<=") << " threshold";
        break;
    }
    case LayerKind::Reduce: os << " " << toString(l.as<ReduceAttrs>().op) << " axis=" << l.as<ReduceAttrs>().axis; break;
    case LayerKind::Pow: os << " exponent=" << l.as<PowAttrs>().exponent; break;
    case LayerKind::Recurrent: {
        const auto& a = l.as<RecurrentAttrs>();
        os << " " << toString(a.cell) << " " << a.steps << "x" << a.nIn << "->" << a.units
           << " activation=" << toString(a.activation);
        if (a.cell != RnnCell::SimpleRNN) os << " recurrent_activation=" << toString(a.recurrentActivation);
        if (a.returnSequences) os << " return_sequences";
        if (a.goBackwards) os << (a.outputInInputOrder ? " reverse" : " go_backwards");
        if (a.cell == RnnCell::GRU) os << (a.resetAfter ? " reset_after" : " reset_before");
        return os.str();
    }
    case LayerKind::GarNet: {
        const auto& a = l.as<GarNetAttrs>();
        os << " " << a.nVertices << "x" << a.nInFeatures << " sublayers=" << a.nFilters.size()
           << " collapse=" << (a.collapse.empty() ? "none" : a.collapse);
        break;
    }
    case LayerKind::Quantize: {
        const auto& a = l.as<QuantizeAttrs>();
        if (a.mode == QuantizeMode::Threshold) os << " thresholds=" << a.nThresholds;
        else os << (a.width.size() > 1 ? " per-element" : " ") << (a.width.size() > 1 ? "" : FixedType::fixed(std::max(a.width[0], 1), a.integer[0], a.isSigned[0]).str());
        break;
    }
    default: break;
    }
    const ActKind act = l.activation();
    if (l.kind == LayerKind::Activation || act != ActKind::Linear) os << " activation=" << toString(act);
    if (l.kind == LayerKind::Activation && (act == ActKind::LeakyReLU || act == ActKind::ELU))
        os << "(alpha=" << l.as<ActAttrs>().alpha << ")";
    return os.str();
}

}  // namespace

std::string dump(const Graph& g) {
    std::ostringstream os;
    os << "model " << g.name;
    if (!g.sourceFile.empty()) os << "  (" << g.sourceFile << ")";
    os << "\n";
    size_t params = 0;
    for (const Layer& l : g.layers) {
        os << "  " << l.name << ": " << toString(l.kind) << describe(l) << "  shape=[" << list(l.shape) << "]";
        if (!l.inputs.empty()) {
            os << "  <-";
            for (size_t i = 0; i < l.inputs.size(); ++i) os << (i ? ", " : " ") << l.inputs[i];
        }
        os << "\n";
        if (l.params.count("weight")) {
            size_t zeros = 0;
            for (double w : l.param("weight")) zeros += (w == 0.0);
            os << "      weights " << l.param("weight").size() << " (" << zeros << " zero)\n";
        }
        for (const auto& [var, v] : l.params) params += v.size();
        for (const auto& [var, t] : l.precision) os << "      " << var << ": " << t.str() << "\n";
        if (l.table.size) os << "      table_size: " << l.table.size << "\n";
        if (l.schedule.reuseFactor != 1 || l.schedule.strategy != Strategy::Latency)
            os << "      ReuseFactor: " << l.schedule.reuseFactor << "  Strategy: " << toString(l.schedule.strategy) << "\n";
    }
    os << "parameters: " << params << "\n";
    return os.str();
}

}  // namespace tachyon
