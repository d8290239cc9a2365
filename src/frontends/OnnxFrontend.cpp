// ONNX frontend: walks the (topologically sorted) node list of a dense-family model and
// maps each node onto the layer chain. Weights come from initializers and Constant nodes.
// Shape-only nodes (Flatten/Reshape/Squeeze/Unsqueeze) and no-ops (Identity/Dropout)
// become aliases of their input tensor unless they really reorder dimensions.
#include "frontends/GraphBuilder.h"
#include "frontends/OnnxChannelsLast.h"
#include "frontends/Frontend.h"
#include "frontends/QuantizerMath.h"
#include "util/Error.h"

#include <onnx/onnx-ml.pb.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>

namespace tachyon {

namespace {

// A constant tensor (initializer or Constant output), values widened to double.
struct ConstTensor {
    std::vector<int64_t> dims;
    std::vector<double> values;
    bool numeric = true;   // false for types no layer reads (bool, strings, ...)
};


template <typename T>
std::vector<double> fromRaw(const std::string& raw) {
    std::vector<double> out(raw.size() / sizeof(T));
    for (size_t i = 0; i < out.size(); ++i) {
        T v;
        std::memcpy(&v, raw.data() + i * sizeof(T), sizeof(T));   // ONNX raw data is little-endian
        out[i] = static_cast<double>(v);
    }
    return out;
}

// ONNX stores float attributes (alpha, epsilon, clip bounds) as float32, so torch's
// LeakyReLU(0.1) arrives as 0.100000001490116 and HardSigmoid's 1/6 as 0.1666666716.
// Recover the value the user wrote: the simplest fraction p/q (q <= 100), else the
// shortest decimal, that rounds to the same float32.
double intendedValue(float f) {
    if (!std::isfinite(f)) return f;
    for (int q = 1; q <= 100; ++q) {
        const double p = std::round(double(f) * q);
        if (std::abs(p) < 1e9 && float(p / q) == f) return p / q;
    }
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, f);   // shortest round-trip form
    double d = f;
    std::from_chars(buf, res.ptr, d);
    return d;
}

// An ONNX tensor as Tachyon holds it: the layer whose output it is, its ONNX per-sample
// shape, and the order of its axes in Tachyon's storage: storage axis j holds ONNX axis
// src[j]. Channels-first tensors feeding convolutions are stored channels-last
// (src = [1, .., r-1, 0]); ONNX Transpose nodes only change `src`, so the transpose
// pairs tf2onnx writes around channels-first ops cost nothing.
struct Value {
    std::string layer;
    Shape onnx;
    std::vector<int> src;
};

std::vector<int> identityOrder(size_t r) {
    std::vector<int> v(r);
    for (size_t i = 0; i < r; ++i) v[i] = int(i);
    return v;
}
std::vector<int> channelsLastOrder(size_t r) {
    std::vector<int> v;
    for (size_t i = 1; i < r; ++i) v.push_back(int(i));
    if (r) v.push_back(0);
    return v;
}

// True when storing `onnx` in axis order `src` puts the values in the same memory order
// as `want` does (axes of length 1 do not matter).
bool sameOrder(const Shape& onnx, const std::vector<int>& src, const std::vector<int>& want) {
    auto significant = [&](const std::vector<int>& order) {
        std::vector<int> out;
        for (int a : order)
            if (onnx[size_t(a)] != 1) out.push_back(a);
        return out;
    };
    return significant(src) == significant(want);
}

class OnnxReader {
public:
    OnnxReader(const onnx::ModelProto& model, const std::string& path)
        : model_(model), graph_(model.graph()), path_(path), b_(std::filesystem::path(path).stem().string(), path) {}

    Graph read();

private:
    [[noreturn]] void fail(const onnx::NodeProto& n, const std::string& why) const {
        b_.fail("node '" + nodeName(n) + "' (" + n.op_type() + "): " + why);
    }
    static std::string nodeName(const onnx::NodeProto& n) {
        return !n.name().empty() ? n.name() : (n.output_size() ? n.output(0) : n.op_type());
    }

    void checkOperators() const;
    void checkArity() const;
    void readOpset();
    void readConstants();
    ConstTensor toConst(const onnx::TensorProto& t, const std::string& what) const;
    void readInput();

    const ConstTensor* constant(const std::string& name) const {
        auto it = consts_.find(name);
        return it == consts_.end() ? nullptr : &it->second;
    }
    const ConstTensor& requireConst(const onnx::NodeProto& n, int i, const std::string& role) const;
    // The non-constant input tensors of a node, in order.
    std::vector<std::string> dataInputs(const onnx::NodeProto& n) const;
    const Value& value(const onnx::NodeProto& n, const std::string& tensor) const;
    // The node's single data input.
    const Value& dataInput(const onnx::NodeProto& n) const;
    void produced(const onnx::NodeProto& n, Value v) {
        if (n.output_size() == 0) fail(n, "has no output");
        values_[n.output(0)] = std::move(v);
    }
    // The layer holding `v` in the wanted storage order (a Transpose layer when needed).
    std::string inOrder(const onnx::NodeProto& n, const Value& v, const std::vector<int>& want);
    std::string plain(const onnx::NodeProto& n, const Value& v) { return inOrder(n, v, identityOrder(v.onnx.size())); }
    std::string channelsLast(const onnx::NodeProto& n, const Value& v) {
        return inOrder(n, v, channelsLastOrder(v.onnx.size()));
    }
    // The storage axis that holds ONNX per-sample axis `axis`.
    int storageAxis(const Value& v, int axis) const;

    int64_t intAttr(const onnx::NodeProto& n, const std::string& name, int64_t dflt) const;
    double floatAttr(const onnx::NodeProto& n, const std::string& name, double dflt) const;
    std::string stringAttr(const onnx::NodeProto& n, const std::string& name, const std::string& dflt) const;
    std::optional<std::vector<int64_t>> intsAttr(const onnx::NodeProto& n, const std::string& name) const;
    // Axes from the attribute (older opsets) or the second input (opset 13+).
    std::optional<std::vector<int64_t>> axes(const onnx::NodeProto& n) const;
    // A per-sample axis from an ONNX axis that counts the batch (negative from the end).
    int sampleAxis(const onnx::NodeProto& n, int64_t axis, size_t sampleRank) const;

    void gemm(const onnx::NodeProto& n);
    void matMul(const onnx::NodeProto& n);
    void elementwise(const onnx::NodeProto& n);
    void constantAffine(const onnx::NodeProto& n);
    void activation(const onnx::NodeProto& n);
    void batchNorm(const onnx::NodeProto& n);
    void clip(const onnx::NodeProto& n);
    void softmax(const onnx::NodeProto& n);
    void layerNorm(const onnx::NodeProto& n);
    void conv(const onnx::NodeProto& n);
    void pooling(const onnx::NodeProto& n);
    void concat(const onnx::NodeProto& n);
    void pad(const onnx::NodeProto& n);
    void resize(const onnx::NodeProto& n);
    void transpose(const onnx::NodeProto& n);
    void activationMatMul(const onnx::NodeProto& n);
    void square(const onnx::NodeProto& n);
    void reduceLastAxis(const onnx::NodeProto& n);
    void shapeOnly(const onnx::NodeProto& n);
    void slice(const onnx::NodeProto& n);
    void dispatch(const onnx::NodeProto& n);
    // Attention as PyTorch exports it (nn.MultiheadAttention, OnnxReader::unbatchedNode):
    // the batch (exported as 1) moves into the middle of tensors and is then merged with the
    // heads ([tokens, batch * heads, head_dim]). Such tensors are "unbatched": their Value
    // holds the whole ONNX shape, batch included, as if it were one sample's. A node reading
    // one runs through the ordinary handlers with its axes shifted by one; its output
    // becomes an ordinary tensor again once its first axis has size 1.
    void unbatchedNode(const onnx::NodeProto& n);
    bool readsUnbatched(const onnx::NodeProto& n) const;
    // Shape arithmetic (Shape, Gather, Add, Div, ... on shapes) evaluated with a batch of one,
    // so that Slice bounds computed from a tensor's size become constants.
    void foldShapeArithmetic(const onnx::NodeProto& n);
    std::optional<Shape> fullShape(const std::string& tensor) const;
    std::set<std::string> unbatched_;
    // The exact GELU as PyTorch exports it: x / sqrt(2) -> Erf -> + 1 -> x * . -> * 0.5. The
    // first four nodes are skipped; the last one is a GELU activation of x.
    void findGelu();
    std::set<std::string> geluInner_;                 // outputs of the skipped nodes
    std::map<std::string, std::string> geluOutput_;   // last node's output -> x
    bool unbatchedMode_ = false;   // the node being read has unbatched operands
    // QONNX quantisers (Quant, BipolarQuant): folded into a constant input, or a Quantize
    // layer on a computed tensor (OnnxReader::qonnxQuant).
    void qonnxQuant(const onnx::NodeProto& n);
    void perElementQuant(const onnx::NodeProto& n, const Value& x, const ConstTensor& scale,
                         const ConstTensor& bitwidths, const std::function<FixedType(double, int)>& typeAt);
    void qonnxTrunc(const onnx::NodeProto& n);
    void multiThreshold(const onnx::NodeProto& n);
    // A Gemm/MatMul/Conv whose weight (input 1) a QONNX quantiser produced keeps the exact
    // type of its weights (and of its bias, input 2, when quantised too), as QKeras
    // kernels do; the precision pass sizes the rest.
    void quantizedWeightTypes(const onnx::NodeProto& n, const std::string& layer);
    std::set<std::string> quantizedConsts_;   // constants produced by folding a QONNX quantiser
    // Recurrent networks as PyTorch exports them (OnnxReader::recurrentNode): LSTM/GRU/RNN
    // nodes, the sequence-major tensors around them, the last-step Gather, and the shape
    // arithmetic that builds their zero initial states. True when the node was handled.
    bool recurrentNode(const onnx::NodeProto& n);
    void recurrent(const onnx::NodeProto& n);
    void batchTranspose(const onnx::NodeProto& n, const Value& x, int batch);
    bool zeroState(const onnx::NodeProto& n, int i) const;
    // Spatial padding of a Conv/Pool node: `pads` or `auto_pad`.
    void windowPads(const onnx::NodeProto& n, const Shape& spatial, const std::vector<int>& k,
                    const std::vector<int>& s, const std::vector<int>& d, std::vector<int>& pb, std::vector<int>& pe) const;

    const onnx::ModelProto& model_;
    const onnx::GraphProto& graph_;
    std::string path_;
    GraphBuilder b_;
    int64_t opset_ = 1;
    std::map<std::string, ConstTensor> consts_;
    std::map<std::string, Value> values_;
    std::map<std::string, int> uses_;                  // how many nodes read each tensor
    std::map<std::string, std::string> reordered_;     // (layer, orders) -> transposed layer
    // Recurrent support: tensors computed from Shape (batch and sequence sizes), tensors
    // filled with one constant value, and tensors whose batch axis is not axis 0 (ONNX
    // recurrent ops are sequence-major: X [T, B, F], Y [T, dirs, B, H]). For those, the
    // Value describes the axes without the batch; `batch` is the batch's ONNX axis.
    struct SeqValue {
        Value v;
        int batch = 0;
    };
    std::set<std::string> shapeDerived_;
    std::map<std::string, double> filled_;
    std::map<std::string, SeqValue> seq_;
};

const std::set<std::string> kRecurrentOps = {"LSTM", "GRU", "RNN", "Shape", "Gather", "Expand", "ConstantOfShape"};

const std::set<std::string> kSupportedOps = {
    "Constant", "Identity", "Dropout", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Max", "Min", "Sum", "Mean",
    "Relu", "LeakyRelu", "Sigmoid", "Tanh", "HardSigmoid", "Clip", "Elu", "Selu", "Softplus", "Softsign",
    "Softmax", "BatchNormalization", "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Transpose", "Conv",
    "MaxPool", "AveragePool", "GlobalMaxPool", "GlobalAveragePool", "Concat", "Pad", "Resize", "Upsample",
    "LayerNormalization", "Slice", "Erf", "Pow", "ReduceSum", "ReduceMean", "ReduceMax"};

// QONNX (fastmachinelearning/qonnx) custom ops, as exported by Brevitas and QONNX.
const std::set<std::string> kQonnxDomains = {"qonnx.custom_op.general", "onnx.brevitas", "finn.custom_op.general"};
const std::set<std::string> kQonnxOps = {"Quant", "BipolarQuant", "Trunc", "MultiThreshold"};
bool isQonnxQuantizer(const onnx::NodeProto& n) {
    return kQonnxDomains.count(n.domain()) && kQonnxOps.count(n.op_type());
}

void OnnxReader::checkOperators() const {
    // List every unsupported operator at once.
    std::vector<std::string> bad;
    std::set<std::string> seen;
    for (const auto& n : graph_.node()) {
        const bool standardDomain = n.domain().empty() || n.domain() == "ai.onnx";
        if ((standardDomain && (kSupportedOps.count(n.op_type()) || kRecurrentOps.count(n.op_type()))) ||
            isQonnxQuantizer(n) || !seen.insert(n.op_type()).second)
            continue;
        bad.push_back("node '" + nodeName(n) + "' has op_type '" + n.op_type() + "'" +
                      (standardDomain ? "" : " (domain '" + n.domain() + "')"));
    }
    if (bad.empty()) {
        checkArity();
        return;
    }
    std::string msg = "unsupported operator" + std::string(bad.size() > 1 ? "s" : "") + ": ";
    for (size_t i = 0; i < bad.size(); ++i) msg += (i ? "; " : "") + bad[i];
    b_.fail(msg + ". Tachyon reads ONNX Gemm/MatMul, Conv, pooling, BatchNormalization, elementwise "
                  "activations, Softmax, LayerNormalization, Add/Sub/Mul/Max/Min, Concat, Pad, Resize, reshapes, "
                  "Slice (of a packed projection), Pow(x, integer 1..8), ReduceSum/ReduceMean/ReduceMax over one axis, the QONNX "
                  "quantisers Quant, BipolarQuant, Trunc and MultiThreshold");
}

// The readers index a node's inputs and outputs by position; a malformed model may have
// fewer than its operator needs, which must be an error rather than an out-of-range read.
void OnnxReader::checkArity() const {
    static const std::map<std::string, int> kMinInputs = {
        {"Constant", 0}, {"Gemm", 2},   {"MatMul", 2}, {"Conv", 2},    {"Add", 2},     {"Sub", 2},
        {"Mul", 2},      {"Div", 2},    {"Gather", 2}, {"Expand", 2},  {"Reshape", 2}, {"Upsample", 2},
        {"LSTM", 3},     {"GRU", 3},    {"RNN", 3},    {"BatchNormalization", 5}, {"Quant", 4},
        {"BipolarQuant", 2}, {"Trunc", 5}, {"MultiThreshold", 2}, {"Pow", 2}};
    for (const auto& n : graph_.node()) {
        const auto it = kMinInputs.find(n.op_type());
        const int need = it != kMinInputs.end() ? it->second : 1;
        if (n.input_size() < need)
            fail(n, "has " + std::to_string(n.input_size()) + " input(s); " + n.op_type() + " needs at least " +
                        std::to_string(need));
        for (int i = 0; i < need; ++i)
            if (n.input(i).empty() && !(n.op_type() == "Resize" && i > 0))
                fail(n, "input " + std::to_string(i) + " is required but empty");
        if (n.output_size() < 1 || n.output(0).empty()) fail(n, "has no output");
    }
}

void OnnxReader::readOpset() {
    for (const auto& o : model_.opset_import())
        if (o.domain().empty() || o.domain() == "ai.onnx") opset_ = o.version();
}

ConstTensor OnnxReader::toConst(const onnx::TensorProto& t, const std::string& what) const {
    ConstTensor c;
    int64_t count = 1;
    for (int64_t d : t.dims()) {
        if (d < 0 || d > (1LL << 31)) b_.fail(what + " has an invalid dimension");
        c.dims.push_back(d);
        count *= d;
        if (count > (1LL << 31)) b_.fail(what + " is too large");
    }
    if (t.data_location() == onnx::TensorProto::EXTERNAL)
        b_.fail(what + " keeps its data in an external file, which is not supported");
    const bool raw = t.has_raw_data();
    switch (t.data_type()) {
    case onnx::TensorProto::FLOAT:
        if (raw) c.values = fromRaw<float>(t.raw_data());
        else c.values.assign(t.float_data().begin(), t.float_data().end());
        break;
    case onnx::TensorProto::DOUBLE:
        if (raw) c.values = fromRaw<double>(t.raw_data());
        else c.values.assign(t.double_data().begin(), t.double_data().end());
        break;
    case onnx::TensorProto::INT64:
        if (raw) c.values = fromRaw<int64_t>(t.raw_data());
        else c.values.assign(t.int64_data().begin(), t.int64_data().end());
        break;
    case onnx::TensorProto::INT32:
        if (raw) c.values = fromRaw<int32_t>(t.raw_data());
        else c.values.assign(t.int32_data().begin(), t.int32_data().end());
        break;
    default:
        // Other types (e.g. bool masks) are only an error if a layer needs them.
        c.values.clear();
        c.numeric = false;
        return c;
    }
    if ((int64_t)c.values.size() != count)
        b_.fail(what + " has " + std::to_string(c.values.size()) + " values but its dimensions say " +
                std::to_string(count));
    return c;
}

void OnnxReader::readConstants() {
    for (const auto& t : graph_.initializer()) consts_[t.name()] = toConst(t, "initializer '" + t.name() + "'");
    for (const auto& n : graph_.node()) {
        for (const auto& in : n.input()) ++uses_[in];
        // PyTorch names shared parameters through Identity nodes (norm2.bias = out_proj.bias).
        if (n.op_type() == "Identity" && n.input_size() == 1 && n.output_size() >= 1 && consts_.count(n.input(0))) {
            const ConstTensor c = consts_.at(n.input(0));
            consts_[n.output(0)] = c;
            continue;
        }
        if (n.op_type() != "Constant") continue;
        if (n.output_size() != 1) fail(n, "expected one output");
        ConstTensor c;
        for (const auto& a : n.attribute()) {
            if (a.name() == "value") c = toConst(a.t(), "constant '" + nodeName(n) + "'");
            else if (a.name() == "value_float") c.values = {a.f()};
            else if (a.name() == "value_int") c.values = {(double)a.i()};
            else if (a.name() == "value_floats") c.values.assign(a.floats().begin(), a.floats().end()), c.dims = {(int64_t)a.floats_size()};
            else if (a.name() == "value_ints") c.values.assign(a.ints().begin(), a.ints().end()), c.dims = {(int64_t)a.ints_size()};
            else fail(n, "unsupported constant attribute '" + a.name() + "'");
        }
        consts_[n.output(0)] = std::move(c);
    }
}

void OnnxReader::readInput() {
    const onnx::ValueInfoProto* input = nullptr;
    for (const auto& in : graph_.input()) {
        if (consts_.count(in.name())) continue;   // old exporters list initializers as inputs
        if (input)
            b_.fail("the model has several inputs ('" + input->name() + "', '" + in.name() +
                    "'); only single-input models are supported");
        input = &in;
    }
    if (!input) b_.fail("the model has no input");
    const auto& type = input->type();
    if (!type.has_tensor_type() || !type.tensor_type().has_shape())
        b_.fail("input '" + input->name() + "' has no tensor shape");
    Shape dims;
    for (const auto& d : type.tensor_type().shape().dim())
        dims.push_back(d.has_dim_value() ? (int)std::clamp<int64_t>(d.dim_value(), -1, 1 << 30) : -1);
    // The first dimension is the batch; a rank-1 input is taken as one sample.
    Shape perSample = dims.size() >= 2 ? Shape(dims.begin() + 1, dims.end()) : dims;
    // The model input keeps ONNX's order: rows are fed exactly as the training framework
    // lays them out, and a channels-first input gets a (free) transpose layer.
    const std::string layer = b_.input(input->name(), perSample);
    values_[input->name()] = Value{layer, perSample, identityOrder(perSample.size())};
}

const ConstTensor& OnnxReader::requireConst(const onnx::NodeProto& n, int i, const std::string& role) const {
    if (i >= n.input_size() || n.input(i).empty()) fail(n, "missing " + role + " input");
    const ConstTensor* c = constant(n.input(i));
    if (!c) fail(n, role + " '" + n.input(i) + "' must be a constant (initializer)");
    if (!c->numeric) fail(n, role + " '" + n.input(i) + "' has an unsupported data type");
    return *c;
}

std::vector<std::string> OnnxReader::dataInputs(const onnx::NodeProto& n) const {
    std::vector<std::string> out;
    for (const auto& in : n.input())
        if (!in.empty() && !constant(in)) out.push_back(in);
    return out;
}

const Value& OnnxReader::value(const onnx::NodeProto& n, const std::string& tensor) const {
    auto it = values_.find(tensor);
    if (it == values_.end()) fail(n, "reads '" + tensor + "', which no earlier node produces");
    return it->second;
}

const Value& OnnxReader::dataInput(const onnx::NodeProto& n) const {
    const auto ins = dataInputs(n);
    if (ins.size() != 1) fail(n, "expected one non-constant input, got " + std::to_string(ins.size()));
    return value(n, ins[0]);
}

std::string OnnxReader::inOrder(const onnx::NodeProto& n, const Value& v, const std::vector<int>& want) {
    if (sameOrder(v.onnx, v.src, want)) return v.layer;
    // One transposed copy per tensor and order, however many nodes read it.
    std::string key = v.layer;
    for (int a : want) key += "," + std::to_string(a);
    for (int a : v.src) key += ";" + std::to_string(a);
    if (auto it = reordered_.find(key); it != reordered_.end()) return it->second;
    // View the storage with its exact axes (it may be stored with size-1 axes dropped),
    // then permute to the wanted order.
    Shape stored;
    for (int a : v.src) stored.push_back(v.onnx[size_t(a)]);
    const std::string from = b_.view(nodeName(n) + "_view", v.layer, stored);
    std::vector<int> perm;
    for (int a : want)
        for (size_t j = 0; j < v.src.size(); ++j)
            if (v.src[j] == a) perm.push_back(int(j));
    return reordered_[key] = b_.transpose(nodeName(n) + "_transpose", from, perm);
}

int OnnxReader::storageAxis(const Value& v, int axis) const {
    for (size_t j = 0; j < v.src.size(); ++j)
        if (v.src[j] == axis) return int(j);
    return -1;
}

int64_t OnnxReader::intAttr(const onnx::NodeProto& n, const std::string& name, int64_t dflt) const {
    for (const auto& a : n.attribute())
        if (a.name() == name) return a.i();
    return dflt;
}

double OnnxReader::floatAttr(const onnx::NodeProto& n, const std::string& name, double dflt) const {
    for (const auto& a : n.attribute())
        if (a.name() == name) return intendedValue(a.f());
    return dflt;
}

std::string OnnxReader::stringAttr(const onnx::NodeProto& n, const std::string& name, const std::string& dflt) const {
    for (const auto& a : n.attribute())
        if (a.name() == name) return a.s();
    return dflt;
}

std::optional<std::vector<int64_t>> OnnxReader::intsAttr(const onnx::NodeProto& n, const std::string& name) const {
    for (const auto& a : n.attribute())
        if (a.name() == name) return std::vector<int64_t>(a.ints().begin(), a.ints().end());
    return std::nullopt;
}

std::optional<std::vector<int64_t>> OnnxReader::axes(const onnx::NodeProto& n) const {
    if (auto a = intsAttr(n, "axes")) return a;
    if (n.input_size() > 1 && !n.input(1).empty()) {
        const ConstTensor& c = requireConst(n, 1, "axes");
        return std::vector<int64_t>(c.values.begin(), c.values.end());
    }
    return std::nullopt;
}

int OnnxReader::sampleAxis(const onnx::NodeProto& n, int64_t axis, size_t sampleRank) const {
    const int64_t rank = int64_t(sampleRank) + 1;
    if (axis < 0) axis += rank;
    if (axis <= 0 || axis >= rank) fail(n, "axis " + std::to_string(axis) + " is the batch axis or out of range");
    return int(axis - 1);
}

void OnnxReader::gemm(const onnx::NodeProto& n) {
    const Value& x = dataInput(n);
    if (intAttr(n, "transA", 0) != 0) fail(n, "transA=1 is not supported");
    const bool transB = intAttr(n, "transB", 0) != 0;
    const double alpha = floatAttr(n, "alpha", 1.0), beta = floatAttr(n, "beta", 1.0);
    const ConstTensor& b = requireConst(n, 1, "weight (B)");
    if (b.dims.size() != 2) fail(n, "weight (B) must be 2-D");
    const int nIn = int(transB ? b.dims[1] : b.dims[0]);
    const int nOut = int(transB ? b.dims[0] : b.dims[1]);
    const std::string in = plain(n, x);
    // An unbatched [rows, features] operand (attention's [tokens * batch, embed]): one
    // Dense over the last axis for every row.
    const bool rows = unbatchedMode_ && x.onnx.size() >= 2;
    if (rows ? x.onnx.back() != nIn : (nIn != b_.size(in) || nOut <= 0))
        fail(n, "weight (B) expects " + std::to_string(nIn) + " inputs but the input has " + std::to_string(b_.size(in)) + " values");
    std::vector<double> w(size_t(nIn) * size_t(nOut));
    for (int i = 0; i < nIn; ++i)
        for (int o = 0; o < nOut; ++o)
            w[size_t(i) * nOut + o] = alpha * b.values[transB ? size_t(o) * nIn + i : size_t(i) * nOut + o];
    std::vector<double> bias(size_t(nOut), 0.0);
    if (n.input_size() > 2 && !n.input(2).empty()) {
        const ConstTensor& c = requireConst(n, 2, "bias (C)");
        if (c.values.size() != 1 && (int)c.values.size() != nOut)
            fail(n, "bias (C) has " + std::to_string(c.values.size()) + " values, expected " + std::to_string(nOut));
        for (int o = 0; o < nOut; ++o) bias[size_t(o)] = beta * c.values[c.values.size() == 1 ? 0 : size_t(o)];
    }
    const std::string flat = b_.reshape(nodeName(n) + "_flatten", in, rows ? x.onnx : Shape{nIn});
    const std::string out = b_.dense(nodeName(n), flat, nOut, std::move(w), std::move(bias));
    quantizedWeightTypes(n, out);
    Shape shape = rows ? x.onnx : Shape{nOut};
    shape.back() = nOut;
    produced(n, Value{out, shape, identityOrder(shape.size())});
}

void OnnxReader::matMul(const onnx::NodeProto& n) {
    if (n.input_size() != 2) fail(n, "expected two inputs");
    if (!constant(n.input(0)) && !constant(n.input(1))) {
        activationMatMul(n);
        return;
    }
    if (constant(n.input(0))) fail(n, "a constant first operand (constant x data) is not supported");
    const Value& x = value(n, n.input(0));
    const ConstTensor& b = requireConst(n, 1, "weight");
    if (b.dims.size() != 2) fail(n, "weight must be 2-D");
    const std::string in = plain(n, x);
    // MatMul multiplies over the last axis; leading axes are kept (e.g. [T, F] x [F, O]).
    Shape shape = x.onnx;
    if (shape.empty() || shape.back() != b.dims[0])
        fail(n, "weight expects " + std::to_string(b.dims[0]) + " inputs on the last axis, the input is " + shapeString(shape));
    Shape exact = shape;
    const std::string view = b_.reshape(nodeName(n) + "_view", in, isVectorLike(shape) ? Shape{b_.size(in)} : exact);
    const std::string out = b_.dense(nodeName(n), view, int(b.dims[1]), b.values, {});
    quantizedWeightTypes(n, out);
    shape.back() = int(b.dims[1]);
    produced(n, Value{out, shape, identityOrder(shape.size())});
}

// MatMul of two activations (attention's Q.K^T, A.V): a MatMul layer over the operands in
// plain order. numpy-style broadcasting of batch axes is refused.
void OnnxReader::activationMatMul(const onnx::NodeProto& n) {
    const Value& x = value(n, n.input(0));
    const Value& y = value(n, n.input(1));
    if (x.onnx.size() < 2 || x.onnx.size() != y.onnx.size())
        fail(n, "a MatMul of two activations needs operands of the same rank >= 2 per sample (got " +
                    shapeString(x.onnx) + " and " + shapeString(y.onnx) + "); broadcasting is not supported");
    const std::string a = plain(n, x), b = plain(n, y);
    const std::string va = b_.reshape(nodeName(n) + "_a", a, x.onnx);
    const std::string vb = b_.reshape(nodeName(n) + "_b", b, y.onnx);
    const std::string out = b_.add(nodeName(n), LayerKind::MatMul, {va, vb}, MatMulAttrs{}, {});
    const Shape shape = b_.layer(out).shape;
    produced(n, Value{out, shape, identityOrder(shape.size())});
}

// Pow(x, k) for a constant integer k in 1..8: a Pow layer (x^2 is an autoencoder's squared
// error); k = 1 is x itself. The power's bits grow k-fold, hence the bound.
void OnnxReader::square(const onnx::NodeProto& n) {
    constexpr int kMaxExponent = 8;
    if (!constant(n.input(1))) fail(n, "only a constant exponent is supported");
    const ConstTensor& e = requireConst(n, 1, "exponent");
    if (e.values.size() != 1 || e.values[0] != std::floor(e.values[0]) || e.values[0] < 1 || e.values[0] > kMaxExponent)
        fail(n, "only an integer exponent 1.." + std::to_string(kMaxExponent) + " is supported");
    const int k = int(e.values[0]);
    const Value& x = value(n, n.input(0));
    if (k == 1) {
        produced(n, x);
        return;
    }
    const std::string out = b_.add(nodeName(n), LayerKind::Pow, {x.layer}, PowAttrs{k});
    produced(n, Value{out, x.onnx, x.src});
}

// ReduceSum / ReduceMean / ReduceMax over one axis: a Reduce layer on the tensor in ONNX
// order (docs/semantics.md, "Reduce").
void OnnxReader::reduceLastAxis(const onnx::NodeProto& n) {
    static const std::map<std::string, ReduceOp> kOps = {
        {"ReduceSum", ReduceOp::Sum}, {"ReduceMean", ReduceOp::Mean}, {"ReduceMax", ReduceOp::Max}};
    const Value& x = value(n, n.input(0));
    const size_t rank = x.onnx.size();
    const auto ax = axes(n);
    if (rank == 0 || (ax && ax->size() != 1) || (!ax && rank != 1))
        fail(n, "only a reduction over one axis is supported");
    const int axis = ax ? sampleAxis(n, (*ax)[0], rank) : 0;
    const std::string in = plain(n, x);
    Shape shape = x.onnx;
    const bool flat = isVectorLike(shape) && axis == int(rank) - 1;
    const std::string view = b_.reshape(nodeName(n) + "_view", in, flat ? Shape{b_.size(in)} : shape);
    const std::string out =
        b_.add(nodeName(n), LayerKind::Reduce, {view}, ReduceAttrs{kOps.at(n.op_type()), flat ? 0 : axis});
    shape[size_t(axis)] = 1;
    if (intAttr(n, "keepdims", 1) == 0 && rank > 1) shape.erase(shape.begin() + axis);
    produced(n, Value{out, shape, identityOrder(shape.size())});
}

void OnnxReader::elementwise(const onnx::NodeProto& n) {
    const std::string& op = n.op_type();
    const auto ins = dataInputs(n);
    if (ins.size() == 1 && n.input_size() == 2 && op == "Add") {
        // A constant added to a MatMul (or bias-free Gemm/Conv) output is that layer's bias.
        const Value& x = value(n, ins[0]);
        Layer& prod = b_.layer(x.layer);
        const ConstTensor& c = requireConst(n, n.input(0) == ins[0] ? 1 : 0, "bias");
        const bool biasable = (prod.kind == LayerKind::Dense || prod.kind == LayerKind::Conv) &&
                              uses_.at(ins[0]) == 1 && prod.activation() == ActKind::Linear;
        std::vector<double>& bias = prod.param("bias");
        if (biasable && (c.values.size() == 1 || c.values.size() == bias.size())) {
            for (size_t o = 0; o < bias.size(); ++o) bias[o] += c.values[c.values.size() == 1 ? 0 : o];
            produced(n, x);
            return;
        }
    }
    if (ins.size() == 1 && n.input_size() == 2 && (op == "Add" || op == "Sub" || op == "Mul" || op == "Div")) {
        constantAffine(n);
        return;
    }
    if (ins.size() != size_t(n.input_size()) || ins.size() < 2)
        fail(n, "only element-wise operations between computed tensors of one shape, or with one scalar or "
                "per-channel constant, are supported");
    if (op == "Div") fail(n, "dividing one computed tensor by another is not supported");
    static const std::map<std::string, MergeOp> ops = {
        {"Add", MergeOp::Add}, {"Sum", MergeOp::Add}, {"Sub", MergeOp::Subtract}, {"Mul", MergeOp::Multiply},
        {"Max", MergeOp::Maximum}, {"Min", MergeOp::Minimum}, {"Mean", MergeOp::Average}};
    const Value& first = value(n, ins[0]);
    std::vector<std::string> layers;
    for (const auto& t : ins) {
        const Value& v = value(n, t);
        if (v.onnx != first.onnx) fail(n, "inputs of different shapes (broadcasting is not supported)");
        layers.push_back(inOrder(n, v, first.src));
    }
    const std::string out = b_.add(nodeName(n), LayerKind::Merge, layers, MergeAttrs{ops.at(op)});
    produced(n, Value{out, first.onnx, first.src});
}

void OnnxReader::constantAffine(const onnx::NodeProto& n) {
    // x + c, x - c, c - x, x * c, x / c with a scalar or per-channel constant c: a
    // BatchNormalization layer y = x * scale + shift over the channel axis.
    const std::string& op = n.op_type();
    const bool constFirst = constant(n.input(0)) != nullptr;
    const Value& x = value(n, n.input(constFirst ? 1 : 0));
    const ConstTensor& c = requireConst(n, constFirst ? 0 : 1, "constant operand");
    if (op == "Div" && constFirst) fail(n, "dividing a constant by a tensor is not supported");
    // Which ONNX axis the constant varies along (it must broadcast over all others).
    size_t significant = 0;
    int axis = -1;
    const int rank = int(x.onnx.size());
    for (size_t d = 0; d < c.dims.size(); ++d)
        if (c.dims[d] != 1) {
            ++significant;
            axis = int(d) - int(c.dims.size()) + rank;   // numpy broadcasting aligns the last axes
        }
    if (significant > 1 || (significant == 1 && (axis < 0 || c.values.size() != size_t(x.onnx[size_t(axis)]))))
        fail(n, "only a scalar or a per-channel constant operand is supported");
    // The varying axis must be Tachyon's last storage axis; a scalar fits any order.
    std::vector<int> want = x.src;
    if (axis >= 0) {
        want.clear();
        for (int a = 0; a < rank; ++a)
            if (a != axis) want.push_back(a);
        want.push_back(axis);
    }
    Shape stored;
    for (int a : want) stored.push_back(x.onnx[size_t(a)]);
    const std::string in = b_.view(nodeName(n) + "_view", inOrder(n, x, want), isVectorLike(stored) ? Shape{b_.size(x.layer)} : stored);
    const size_t channels = size_t(b_.shape(in).back());
    std::vector<double> scale(channels, 1.0), shift(channels, 0.0);
    for (size_t k = 0; k < channels; ++k) {
        const double v = c.values[c.values.size() == 1 ? 0 : k];
        if (op == "Add") shift[k] = v;
        else if (op == "Sub" && constFirst) scale[k] = -1.0, shift[k] = v;
        else if (op == "Sub") shift[k] = -v;
        else if (op == "Mul") scale[k] = v;
        else {
            if (v == 0) fail(n, "division by zero");
            scale[k] = 1.0 / v;
        }
    }
    const std::string out = b_.add(nodeName(n), LayerKind::BatchNorm, {in}, NoAttrs{},
                                   {{"scale", std::move(scale)}, {"shift", std::move(shift)}});
    produced(n, Value{out, x.onnx, want});
}

void OnnxReader::activation(const onnx::NodeProto& n) {
    const Value& x = dataInput(n);
    const std::string& op = n.op_type();
    ActAttrs a;
    if (op == "Relu") a.kind = ActKind::ReLU;
    else if (op == "Sigmoid") a.kind = ActKind::Sigmoid;
    else if (op == "Tanh") a.kind = ActKind::Tanh;
    else if (op == "Softplus") a.kind = ActKind::Softplus;
    else if (op == "Softsign") a.kind = ActKind::Softsign;
    else if (op == "LeakyRelu") a.kind = ActKind::LeakyReLU, a.alpha = floatAttr(n, "alpha", 0.01);
    else if (op == "Elu") a.kind = ActKind::ELU, a.alpha = floatAttr(n, "alpha", 1.0);
    else if (op == "Selu") {
        a.kind = ActKind::SELU;
        if (std::abs(floatAttr(n, "alpha", 1.67326319217681884765625) - 1.6732632423543772) > 1e-6 ||
            std::abs(floatAttr(n, "gamma", 1.05070102214813232421875) - 1.0507009873554805) > 1e-6)
            fail(n, "only the standard SELU constants are supported");
    } else if (op == "HardSigmoid") {
        a.kind = ActKind::HardSigmoid;
        a.slope = floatAttr(n, "alpha", 0.2);
        a.offset = floatAttr(n, "beta", 0.5);
    }
    produced(n, Value{b_.activation(nodeName(n), x.layer, a), x.onnx, x.src});
}

void OnnxReader::batchNorm(const onnx::NodeProto& n) {
    const Value& x = dataInput(n);
    if (x.onnx.empty()) fail(n, "input has no channel dimension");
    // ONNX normalises over axis 1 (the first per-sample axis); Tachyon over its last
    // storage axis, so the tensor is stored channels-last.
    const int channels = x.onnx[0];
    std::vector<std::vector<double>> p;
    const char* roles[] = {"scale", "B", "mean", "var"};
    for (int i = 0; i < 4; ++i) {
        const ConstTensor& c = requireConst(n, i + 1, roles[i]);
        if ((int)c.values.size() != channels)
            fail(n, std::string(roles[i]) + " has " + std::to_string(c.values.size()) + " values, expected " +
                        std::to_string(channels));
        p.push_back(c.values);
    }
    Shape stored;
    for (int a : channelsLastOrder(x.onnx.size())) stored.push_back(x.onnx[size_t(a)]);
    const std::string in = b_.view(nodeName(n) + "_view", channelsLast(n, x), isVectorLike(stored) ? Shape{b_.size(x.layer)} : stored);
    const std::string out = b_.batchNorm(nodeName(n), in, p[0], p[1], p[2], p[3], floatAttr(n, "epsilon", 1e-5));
    produced(n, Value{out, x.onnx, channelsLastOrder(x.onnx.size())});
}

void OnnxReader::clip(const onnx::NodeProto& n) {
    const Value& x = dataInput(n);
    double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
    if (opset_ < 11) {
        lo = floatAttr(n, "min", lo);
        hi = floatAttr(n, "max", hi);
    } else {
        auto bound = [&](int i, const char* role, double dflt) {
            if (n.input_size() <= i || n.input(i).empty()) return dflt;
            const ConstTensor& c = requireConst(n, i, role);
            if (c.values.size() != 1) fail(n, std::string(role) + " must be a scalar");
            return c.values[0];
        };
        lo = bound(1, "min", lo);
        hi = bound(2, "max", hi);
    }
    ActKind kind;
    if (lo == 0 && hi == 6) kind = ActKind::ReLU6;
    else if (lo == 0 && std::isinf(hi)) kind = ActKind::ReLU;
    else {
        std::ostringstream os;
        os << "only Clip(0, 6) (relu6) and Clip(0, inf) (relu) are supported, got Clip(" << lo << ", " << hi << ")";
        fail(n, os.str());
    }
    produced(n, Value{b_.activation(nodeName(n), x.layer, kind), x.onnx, x.src});
}

void OnnxReader::softmax(const onnx::NodeProto& n) {
    const Value& x = dataInput(n);
    const Shape& shape = x.onnx;
    const int rank = int(shape.size()) + 1;   // with the batch axis
    int64_t axis = intAttr(n, "axis", opset_ >= 13 ? -1 : 1);
    if (axis < 0) axis += rank;
    // Before opset 13, Softmax flattens everything from `axis` on, so axis 1 means "the
    // whole sample"; from 13 on it is one axis. Tachyon's softmax runs over the last
    // storage axis, for every position of the others.
    const bool wholeSample = (opset_ < 13 && axis == 1) || isVectorLike(shape);
    if (wholeSample) {
        if (!isVectorLike(shape)) fail(n, "softmax over a whole multi-dimensional sample is not supported");
        produced(n, Value{b_.softmax(nodeName(n), x.layer), x.onnx, x.src});
        return;
    }
    if (axis <= 0 || axis >= rank) fail(n, "softmax over the batch axis");
    std::vector<int> want;
    for (int a = 0; a < rank - 1; ++a)
        if (a != axis - 1) want.push_back(a);
    want.push_back(int(axis - 1));
    Shape stored;
    for (int a : want) stored.push_back(shape[size_t(a)]);
    const std::string in = b_.view(nodeName(n) + "_view", inOrder(n, x, want), stored);
    produced(n, Value{b_.softmax(nodeName(n), in), shape, want});
}

// LayerNormalization (opset 17) over the last ONNX axis only (ONNX normalises over every
// axis from `axis` on); that axis is put last in storage, as for Softmax.
void OnnxReader::layerNorm(const onnx::NodeProto& n) {
    const Value& x = dataInput(n);
    const Shape& shape = x.onnx;
    const int rank = int(shape.size()) + 1;   // with the batch axis
    int64_t axis = intAttr(n, "axis", -1);
    if (axis < 0) axis += rank;
    if (axis != rank - 1)
        fail(n, "LayerNormalization over several axes (axis " + std::to_string(axis) + " of " + std::to_string(rank) +
                    ") is not supported; only the last axis");
    if (n.output_size() > 1)
        for (int k = 1; k < n.output_size(); ++k)
            if (!n.output(k).empty() && uses_.count(n.output(k)) && uses_.at(n.output(k)) > 0)
                fail(n, "the Mean / InvStdDev outputs are not supported");
    const int features = shape.back();
    const ConstTensor& gamma = requireConst(n, 1, "scale");
    if ((int)gamma.values.size() != features)
        fail(n, "scale has " + std::to_string(gamma.values.size()) + " values, expected " + std::to_string(features));
    std::vector<double> beta(size_t(features), 0.0);
    if (n.input_size() > 2 && !n.input(2).empty()) {
        const ConstTensor& b = requireConst(n, 2, "bias (B)");
        if ((int)b.values.size() != features)
            fail(n, "bias has " + std::to_string(b.values.size()) + " values, expected " + std::to_string(features));
        beta = b.values;
    }
    std::vector<int> want;
    for (int a = 0; a < rank - 1; ++a) want.push_back(a);
    const std::string in = b_.view(nodeName(n) + "_view", inOrder(n, x, want), shape);
    LayerNormAttrs attrs;
    attrs.epsilon = floatAttr(n, "epsilon", 1e-5);
    const std::string out =
        b_.add(nodeName(n), LayerKind::LayerNorm, {in}, attrs, {{"scale", gamma.values}, {"bias", std::move(beta)}});
    produced(n, Value{out, shape, want});
}

void OnnxReader::windowPads(const onnx::NodeProto& n, const Shape& spatial, const std::vector<int>& k,
                            const std::vector<int>& s, const std::vector<int>& d, std::vector<int>& pb,
                            std::vector<int>& pe) const {
    const size_t r = k.size();
    pb.assign(r, 0);
    pe.assign(r, 0);
    const std::string autoPad = stringAttr(n, "auto_pad", "NOTSET");
    if (autoPad == "NOTSET") {
        if (auto pads = intsAttr(n, "pads")) {
            if (pads->size() != 2 * r) fail(n, "pads must have " + std::to_string(2 * r) + " entries");
            for (size_t a = 0; a < r; ++a) {
                if ((*pads)[a] < 0 || (*pads)[a + r] < 0 || (*pads)[a] > (1 << 20) || (*pads)[a + r] > (1 << 20))
                    fail(n, "invalid pads");
                pb[a] = int((*pads)[a]);
                pe[a] = int((*pads)[a + r]);
            }
        }
    } else if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
        for (size_t a = 0; a < r; ++a) {
            const int outLen = (spatial[a] + s[a] - 1) / s[a];
            const int total = std::max((outLen - 1) * s[a] + (k[a] - 1) * d[a] + 1 - spatial[a], 0);
            const int small = total / 2, big = total - small;
            pb[a] = autoPad == "SAME_UPPER" ? small : big;
            pe[a] = autoPad == "SAME_UPPER" ? big : small;
        }
    } else if (autoPad != "VALID") {
        fail(n, "unknown auto_pad '" + autoPad + "'");
    }
}

void OnnxReader::conv(const onnx::NodeProto& n) {
    const Value& x = dataInput(n);
    if (n.input(0) != dataInputs(n)[0]) fail(n, "the weight must be a constant");
    const ConstTensor& w = requireConst(n, 1, "weight");
    const size_t rank = x.onnx.size() - 1;   // spatial axes
    if (x.onnx.size() < 2 || rank > 2) fail(n, "only 1-D and 2-D convolutions are supported (input " + shapeString(x.onnx) + ")");
    if (w.dims.size() != rank + 2) fail(n, "weight has rank " + std::to_string(w.dims.size()) + ", expected " + std::to_string(rank + 2));
    const int cin = x.onnx[0], m = int(w.dims[0]);
    const int group = int(intAttr(n, "group", 1));
    ConvAttrs a;
    a.rank = int(rank);
    a.inChannels = cin;
    a.outChannels = m;
    for (size_t i = 0; i < rank; ++i) a.kernel.push_back(int(w.dims[i + 2]));
    if (auto ks = intsAttr(n, "kernel_shape"))
        for (size_t i = 0; i < rank && i < ks->size(); ++i)
            if ((*ks)[i] != a.kernel[i]) fail(n, "kernel_shape does not match the weight");
    auto list = [&](const char* key) {
        std::vector<int> v(rank, 1);
        if (auto s = intsAttr(n, key)) {
            if (s->size() != rank) fail(n, std::string(key) + " must have " + std::to_string(rank) + " entries");
            for (size_t i = 0; i < rank; ++i) {
                if ((*s)[i] < 1 || (*s)[i] > (1 << 20)) fail(n, std::string("invalid ") + key);
                v[i] = int((*s)[i]);
            }
        }
        return v;
    };
    a.strides = list("strides");
    a.dilation = list("dilations");
    windowPads(n, Shape(x.onnx.begin() + 1, x.onnx.end()), a.kernel, a.strides, a.dilation, a.padBegin, a.padEnd);
    long long window = 1;
    for (int k : a.kernel) window *= k;
    // ONNX weight [M][C/group][k...] -> Tachyon [k...][C][M], or depthwise [k...][C][M/C].
    std::vector<double> weight;
    if (group == 1) {
        if (w.dims[1] != cin) fail(n, "weight expects " + std::to_string(w.dims[1]) + " input channels, the input has " + std::to_string(cin));
        weight.resize(size_t(window) * cin * m);
        for (int o = 0; o < m; ++o)
            for (int c = 0; c < cin; ++c)
                for (long long p = 0; p < window; ++p)
                    weight[(size_t(p) * cin + c) * m + o] = w.values[(size_t(o) * cin + c) * window + p];
    } else if (group == cin && w.dims[1] == 1 && m % cin == 0) {
        a.depthwise = true;
        a.depthMultiplier = m / cin;
        weight.resize(size_t(window) * m);
        for (int o = 0; o < m; ++o)   // output channel o = c * multiplier + j reads input channel c
            for (long long p = 0; p < window; ++p) weight[size_t(p) * m + o] = w.values[size_t(o) * window + p];
    } else {
        fail(n, "grouped convolution with group " + std::to_string(group) + " is not supported (only 1 or depthwise)");
    }
    std::vector<double> bias(size_t(m), 0.0);
    if (n.input_size() > 2 && !n.input(2).empty()) {
        const ConstTensor& c = requireConst(n, 2, "bias");
        if ((int)c.values.size() != m) fail(n, "bias has " + std::to_string(c.values.size()) + " values, expected " + std::to_string(m));
        bias = c.values;
    }
    const std::string in = channelsLast(n, x);
    Shape stored;
    for (int ax : channelsLastOrder(x.onnx.size())) stored.push_back(x.onnx[size_t(ax)]);
    const std::string view = b_.view(nodeName(n) + "_view", in, stored);
    const std::string out = b_.add(nodeName(n), LayerKind::Conv, {view}, a, {{"weight", std::move(weight)}, {"bias", std::move(bias)}});
    quantizedWeightTypes(n, out);
    Shape outOnnx = {m};
    const Shape& os = b_.shape(out);
    outOnnx.insert(outOnnx.end(), os.begin(), os.end() - 1);
    produced(n, Value{out, outOnnx, channelsLastOrder(outOnnx.size())});
}

void OnnxReader::pooling(const onnx::NodeProto& n) {
    const Value& x = dataInput(n);
    const std::string& op = n.op_type();
    const size_t rank = x.onnx.size() - 1;
    if (x.onnx.size() < 2 || rank > 2) fail(n, "only 1-D and 2-D pooling is supported (input " + shapeString(x.onnx) + ")");
    PoolAttrs a;
    a.rank = int(rank);
    a.op = op.find("Max") != std::string::npos ? PoolOp::Max : PoolOp::Average;
    a.global = op.rfind("Global", 0) == 0;
    if (!a.global) {
        auto ks = intsAttr(n, "kernel_shape");
        if (!ks || ks->size() != rank) fail(n, "kernel_shape must have " + std::to_string(rank) + " entries");
        for (int64_t k : *ks) {
            if (k < 1 || k > (1 << 20)) fail(n, "invalid kernel_shape");
            a.kernel.push_back(int(k));
        }
        a.strides.assign(rank, 1);
        if (auto s = intsAttr(n, "strides")) {
            if (s->size() != rank) fail(n, "strides must have " + std::to_string(rank) + " entries");
            for (size_t i = 0; i < rank; ++i) {
                if ((*s)[i] < 1 || (*s)[i] > (1 << 20)) fail(n, "invalid strides");
                a.strides[i] = int((*s)[i]);
            }
        }
        if (auto d = intsAttr(n, "dilations"))
            for (int64_t v : *d)
                if (v != 1) fail(n, "dilated pooling is not supported");
        windowPads(n, Shape(x.onnx.begin() + 1, x.onnx.end()), a.kernel, a.strides, std::vector<int>(rank, 1), a.padBegin, a.padEnd);
        a.countPadding = intAttr(n, "count_include_pad", 0) != 0;
        if (intAttr(n, "ceil_mode", 0) != 0) {
            for (size_t i = 0; i < rank; ++i) {
                const int len = x.onnx[i + 1] + a.padBegin[i] + a.padEnd[i] - a.kernel[i];
                if (len % a.strides[i] != 0) fail(n, "ceil_mode=1 with a partial last window is not supported");
            }
        }
    }
    const std::string in = channelsLast(n, x);
    const std::string out = b_.add(nodeName(n), LayerKind::Pooling, {in}, a);
    Shape outOnnx = {x.onnx[0]};
    if (a.global) outOnnx.insert(outOnnx.end(), rank, 1);
    else {
        const Shape& os = b_.shape(out);
        outOnnx.insert(outOnnx.end(), os.begin(), os.end() - 1);
    }
    produced(n, Value{out, outOnnx, channelsLastOrder(outOnnx.size())});
}

void OnnxReader::concat(const onnx::NodeProto& n) {
    const auto ins = dataInputs(n);
    if (ins.size() != size_t(n.input_size()) || ins.size() < 2) fail(n, "only concatenation of two or more computed tensors is supported");
    const Value& first = value(n, ins[0]);
    const int axis = sampleAxis(n, intAttr(n, "axis", 1), first.onnx.size());
    std::vector<std::string> layers;
    Shape outOnnx = first.onnx;
    outOnnx[size_t(axis)] = 0;
    // Every input in the first one's storage order, with its exact axes.
    Shape stored;
    for (int ax : first.src) stored.push_back(first.onnx[size_t(ax)]);
    for (const auto& t : ins) {
        const Value& v = value(n, t);
        if (v.onnx.size() != first.onnx.size()) fail(n, "inputs of different ranks");
        outOnnx[size_t(axis)] += v.onnx[size_t(axis)];
        Shape exact;
        for (int ax : first.src) exact.push_back(v.onnx[size_t(ax)]);
        layers.push_back(b_.view(nodeName(n) + "_view", inOrder(n, v, first.src), exact));
    }
    const std::string out = b_.add(nodeName(n), LayerKind::Concatenate, layers, ConcatAttrs{storageAxis(first, axis)});
    produced(n, Value{out, outOnnx, first.src});
}

void OnnxReader::pad(const onnx::NodeProto& n) {
    const Value& x = value(n, n.input(0));
    if (stringAttr(n, "mode", "constant") != "constant") fail(n, "only constant (zero) padding is supported");
    std::vector<int64_t> pads;
    if (opset_ < 11) pads = intsAttr(n, "pads").value_or(std::vector<int64_t>{});
    else pads = std::vector<int64_t>(requireConst(n, 1, "pads").values.begin(), requireConst(n, 1, "pads").values.end());
    if (n.input_size() > 2 && !n.input(2).empty()) {
        const ConstTensor& v = requireConst(n, 2, "constant_value");
        if (!v.values.empty() && v.values[0] != 0) fail(n, "only zero padding is supported");
    }
    if (floatAttr(n, "value", 0.0) != 0) fail(n, "only zero padding is supported");
    if (n.input_size() > 3 && !n.input(3).empty()) fail(n, "the axes input is not supported");
    const size_t r = x.onnx.size() + 1;
    if (pads.size() != 2 * r) fail(n, "pads must have " + std::to_string(2 * r) + " entries");
    if (pads[0] != 0 || pads[r] != 0) fail(n, "padding the batch axis");
    if (std::all_of(pads.begin(), pads.end(), [](int64_t v) { return v == 0; })) {
        produced(n, x);   // PyTorch writes such a Pad before average pooling
        return;
    }
    PadAttrs a;
    a.padBegin.assign(x.onnx.size(), 0);
    a.padEnd.assign(x.onnx.size(), 0);
    Shape outOnnx = x.onnx;
    for (size_t i = 0; i + 1 < r; ++i) {
        const int64_t pb = pads[i + 1], pe = pads[r + i + 1];
        if (pb < 0 || pe < 0 || pb > (1 << 20) || pe > (1 << 20)) fail(n, "negative (cropping) or invalid pads");
        outOnnx[i] += int(pb + pe);
    }
    Shape stored;
    for (int ax : x.src) stored.push_back(x.onnx[size_t(ax)]);
    const std::string in = b_.view(nodeName(n) + "_view", x.layer, stored);
    for (size_t j = 0; j < x.src.size(); ++j) {
        a.padBegin[j] = int(pads[size_t(x.src[j]) + 1]);
        a.padEnd[j] = int(pads[r + size_t(x.src[j]) + 1]);
    }
    produced(n, Value{b_.add(nodeName(n), LayerKind::Pad, {in}, a), outOnnx, x.src});
}

void OnnxReader::resize(const onnx::NodeProto& n) {
    const Value& x = value(n, n.input(0));
    if (stringAttr(n, "mode", "nearest") != "nearest") fail(n, "only nearest-neighbour resizing is supported");
    const std::string ctm = stringAttr(n, "coordinate_transformation_mode", "half_pixel");
    if (ctm == "align_corners" || ctm == "tf_crop_and_resize") fail(n, "coordinate_transformation_mode '" + ctm + "' is not supported");
    const size_t r = x.onnx.size() + 1;
    std::vector<double> scales;
    if (n.op_type() == "Upsample") {
        scales = opset_ >= 9 ? requireConst(n, 1, "scales").values : std::vector<double>{};
        if (opset_ < 9)
            for (const auto& at : n.attribute())
                if (at.name() == "scales") scales.assign(at.floats().begin(), at.floats().end());
    } else {
        // Resize(X, roi, scales, sizes): scales or sizes, whichever is given.
        if (n.input_size() > 2 && !n.input(2).empty() && !requireConst(n, 2, "scales").values.empty())
            scales = requireConst(n, 2, "scales").values;
        else if (n.input_size() > 3 && !n.input(3).empty()) {
            const ConstTensor& sizes = requireConst(n, 3, "sizes");
            if (sizes.values.size() != r) fail(n, "sizes must have " + std::to_string(r) + " entries");
            scales.push_back(1.0);
            for (size_t i = 1; i < r; ++i) scales.push_back(sizes.values[i] / x.onnx[i - 1]);
        }
    }
    if (scales.size() != r) fail(n, "scales must have " + std::to_string(r) + " entries");
    if (scales[0] != 1) fail(n, "resizing the batch axis");
    ResizeAttrs a;
    Shape outOnnx = x.onnx;
    std::vector<int> perOnnx;
    for (size_t i = 1; i < r; ++i) {
        const double s = scales[i];
        if (s < 1 || s > 1024 || s != std::floor(s)) fail(n, "only integer upsampling factors are supported");
        perOnnx.push_back(int(s));
        outOnnx[i - 1] *= int(s);
    }
    for (int ax : x.src) a.scale.push_back(perOnnx[size_t(ax)]);
    Shape stored;
    for (int ax : x.src) stored.push_back(x.onnx[size_t(ax)]);
    const std::string in = b_.view(nodeName(n) + "_view", x.layer, stored);
    produced(n, Value{b_.add(nodeName(n), LayerKind::Resize, {in}, a), outOnnx, x.src});
}

void OnnxReader::transpose(const onnx::NodeProto& n) {
    const Value& x = dataInput(n);
    const size_t r = x.onnx.size() + 1;
    std::vector<int64_t> perm = intsAttr(n, "perm").value_or(std::vector<int64_t>{});
    if (perm.empty())
        for (size_t i = r; i-- > 0;) perm.push_back(int64_t(i));
    if (perm.size() != r || perm[0] != 0) fail(n, "only transposes that keep the batch axis first are supported");
    std::vector<int> p;   // per-sample: out axis i = in axis p[i]
    std::vector<bool> seen(r, false);
    for (size_t i = 1; i < r; ++i) {
        if (perm[i] < 1 || perm[i] >= int64_t(r) || seen[size_t(perm[i])]) fail(n, "perm is not a permutation");
        seen[size_t(perm[i])] = true;
        p.push_back(int(perm[i] - 1));
    }
    // No data moves: the storage stays, only which ONNX axis each storage axis holds.
    Value v{x.layer, {}, {}};
    for (int a : p) v.onnx.push_back(x.onnx[size_t(a)]);
    for (int s : x.src)
        for (size_t i = 0; i < p.size(); ++i)
            if (p[i] == s) v.src.push_back(int(i));
    produced(n, v);
}

void OnnxReader::shapeOnly(const onnx::NodeProto& n) {
    const Value& x = value(n, n.input(0));
    Shape shape = x.onnx;
    const std::string& op = n.op_type();
    long long size = 1;
    for (int d : shape) size *= d;
    if (op == "Flatten") {
        const int64_t axis = intAttr(n, "axis", 1);
        // axis 0 also flattens the batch, which exporters use with batch size 1.
        if (axis != 0 && axis != 1) fail(n, "only Flatten with axis 0 or 1 is supported");
        shape = {int(size)};
    } else if (op == "Reshape") {
        const ConstTensor& target = requireConst(n, 1, "shape");
        if (target.values.empty()) fail(n, "empty target shape");
        Shape out;
        int unknown = -1;
        for (size_t i = 1; i < target.values.size(); ++i) {   // [0] is the batch
            int64_t d = (int64_t)target.values[i];
            if (d == 0) {
                if (i - 1 >= shape.size()) fail(n, "shape copies a dimension that does not exist");
                d = shape[i - 1];
            }
            if (d == -1) {
                if (unknown >= 0) fail(n, "shape has more than one -1");
                unknown = int(out.size());
                d = 1;
            }
            if (d <= 0 || d > size) fail(n, "invalid target dimension " + std::to_string(d));
            out.push_back((int)d);
        }
        long long known = 1;
        for (int d : out) known *= d;
        if (unknown >= 0) {
            if (known == 0 || size % known) fail(n, "cannot infer the -1 dimension");
            out[size_t(unknown)] = int(size / known);
        }
        if (out.empty()) out = {1};
        if (target.values[0] != 0 && target.values[0] != -1 && target.values[0] != 1)
            fail(n, "reshapes across the batch dimension");
        shape = out;
    } else if (op == "Squeeze") {
        auto ax = axes(n);
        Shape out;
        const int rank = int(shape.size()) + 1;
        std::set<int64_t> drop;
        if (ax)
            for (int64_t a : *ax) {
                if (a < 0) a += rank;
                if (a <= 0 || a >= rank) fail(n, "cannot squeeze axis " + std::to_string(a));
                if (shape[size_t(a - 1)] != 1) fail(n, "squeezed axis " + std::to_string(a) + " has size " + std::to_string(shape[size_t(a - 1)]));
                drop.insert(a - 1);
            }
        for (size_t i = 0; i < shape.size(); ++i)
            if (ax ? !drop.count(int64_t(i)) : shape[i] != 1) out.push_back(shape[i]);
        if (out.empty()) out = {1};
        shape = out;
    } else {  // Unsqueeze
        auto ax = axes(n);
        if (!ax) fail(n, "missing axes");
        const int64_t outRank = int64_t(shape.size()) + 1 + int64_t(ax->size());
        std::vector<int64_t> sorted;
        for (int64_t a : *ax) sorted.push_back(a < 0 ? a + outRank : a);
        std::sort(sorted.begin(), sorted.end());
        Shape full = {0};   // placeholder for the batch
        full.insert(full.end(), shape.begin(), shape.end());
        for (int64_t a : sorted) {
            if (a <= 0 || a > (int64_t)full.size()) fail(n, "cannot unsqueeze at axis " + std::to_string(a));
            full.insert(full.begin() + a, 1);
        }
        shape.assign(full.begin() + 1, full.end());
    }
    // Reshapes read the data in ONNX order.
    const std::string in = plain(n, x);
    produced(n, Value{b_.reshape(nodeName(n), in, shape), shape, identityOrder(shape.size())});
}

bool OnnxReader::zeroState(const onnx::NodeProto& n, int i) const {
    if (i >= n.input_size() || n.input(i).empty()) return true;
    if (auto it = filled_.find(n.input(i)); it != filled_.end()) return it->second == 0.0;
    if (const ConstTensor* c = constant(n.input(i)))
        return std::all_of(c->values.begin(), c->values.end(), [](double v) { return v == 0.0; });
    return false;
}

// A Transpose of `x`, whose batch is ONNX axis `batch`: the batch may move (the
// sequence-major layout of recurrent ops); the data stays where it is.
void OnnxReader::batchTranspose(const onnx::NodeProto& n, const Value& x, int batch) {
    const size_t r = x.onnx.size() + 1;
    std::vector<int64_t> perm = intsAttr(n, "perm").value_or(std::vector<int64_t>{});
    if (perm.empty())
        for (size_t i = r; i-- > 0;) perm.push_back(int64_t(i));
    if (perm.size() != r) fail(n, "perm does not match the input rank");
    auto sampleIndex = [&](int64_t full) { return int(full - (full > batch ? 1 : 0)); };
    std::vector<int> p;
    int newBatch = -1;
    for (size_t i = 0; i < r; ++i) {
        if (perm[i] < 0 || perm[i] >= int64_t(r)) fail(n, "perm is not a permutation");
        if (perm[i] == batch) newBatch = int(i);
        else p.push_back(sampleIndex(perm[i]));
    }
    if (newBatch < 0) fail(n, "perm is not a permutation");
    Value v{x.layer, {}, {}};
    for (int a : p) v.onnx.push_back(x.onnx[size_t(a)]);
    for (int s : x.src)
        for (size_t i = 0; i < p.size(); ++i)
            if (p[i] == s) v.src.push_back(int(i));
    if (newBatch == 0) produced(n, v);
    else seq_[n.output(0)] = SeqValue{v, newBatch};
}

bool OnnxReader::recurrentNode(const onnx::NodeProto& n) {
    const std::string& op = n.op_type();
    auto anyIn = [&](const auto& set) {
        for (const auto& in : n.input())
            if (set.count(in)) return true;
        return false;
    };
    // Shape arithmetic (the batch size PyTorch reads to build zero initial states).
    if (op == "Shape" || ((op == "Gather" || op == "Unsqueeze" || op == "Squeeze" || op == "Concat" ||
                           op == "Reshape" || op == "Cast" || op == "Add" || op == "Sub" || op == "Mul" ||
                           op == "Div") && anyIn(shapeDerived_)) ||
        (op == "Slice" && shapeDerived_.count(n.input(0)))) {
        foldShapeArithmetic(n);
        for (const auto& o : n.output()) shapeDerived_.insert(o);
        return true;
    }
    if (op == "ConstantOfShape") {
        double v = 0.0;
        for (const auto& a : n.attribute())
            if (a.name() == "value") {
                const ConstTensor c = toConst(a.t(), "constant '" + nodeName(n) + "'");
                if (!c.values.empty()) v = c.values[0];
            }
        filled_[n.output(0)] = v;
        return true;
    }
    if (op == "Expand") {
        const ConstTensor* c = constant(n.input(0));
        if (!c || c->values.empty() || std::any_of(c->values.begin(), c->values.end(), [&](double v) { return v != c->values[0]; }))
            fail(n, "only expanding a constant filled with one value (a recurrent layer's initial state) is supported");
        filled_[n.output(0)] = c->values[0];
        return true;
    }
    if (op == "LSTM" || op == "GRU" || op == "RNN") {
        recurrent(n);
        return true;
    }
    if (op == "Transpose") {
        if (auto it = seq_.find(n.input(0)); it != seq_.end()) {
            const SeqValue s = it->second;
            batchTranspose(n, s.v, s.batch);
            return true;
        }
        const auto perm = intsAttr(n, "perm");
        if (perm && !perm->empty() && (*perm)[0] != 0) {
            batchTranspose(n, value(n, n.input(0)), 0);
            return true;
        }
        return false;
    }
    if (op == "Squeeze") {
        auto it = seq_.find(n.input(0));
        if (it == seq_.end()) return false;
        SeqValue s = it->second;
        auto ax = axes(n);
        if (!ax) fail(n, "squeezing a sequence-major tensor needs explicit axes");
        const int rank = int(s.v.onnx.size()) + 1;
        std::vector<int> drop;
        for (int64_t a : *ax) {
            if (a < 0) a += rank;
            if (a < 0 || a >= rank || a == s.batch) fail(n, "cannot squeeze axis " + std::to_string(a));
            drop.push_back(int(a - (a > s.batch ? 1 : 0)));
        }
        std::sort(drop.rbegin(), drop.rend());
        int newBatch = s.batch;
        for (int64_t a : *ax) newBatch -= (a < 0 ? a + rank : a) < s.batch;
        for (int d : drop) {
            if (s.v.onnx[size_t(d)] != 1) fail(n, "squeezed axis has size " + std::to_string(s.v.onnx[size_t(d)]));
            s.v.onnx.erase(s.v.onnx.begin() + d);
            std::vector<int> src;
            for (int a : s.v.src)
                if (a != d) src.push_back(a > d ? a - 1 : a);
            s.v.src = src;
        }
        if (newBatch == 0) produced(n, s.v);
        else seq_[n.output(0)] = SeqValue{s.v, newBatch};
        return true;
    }
    if (op == "Gather") {
        // The last step of a recurrent layer's output sequence (PyTorch's y[:, -1, :]):
        // the layer then returns only its final state.
        const Value& x = value(n, n.input(0));
        const ConstTensor& idx = requireConst(n, 1, "indices");
        const int axis = sampleAxis(n, intAttr(n, "axis", 0), x.onnx.size());
        Layer& l = b_.layer(x.layer);
        const bool seqOut = l.kind == LayerKind::Recurrent && l.as<RecurrentAttrs>().returnSequences;
        if (!seqOut || idx.values.size() != 1 || !idx.dims.empty() || axis != 0 || x.onnx.size() < 2 ||
            uses_.at(n.input(0)) != 1)
            fail(n, "Gather is only supported to take the last step of a recurrent layer's output sequence");
        auto& a = l.as<RecurrentAttrs>();
        const int64_t k = int64_t(idx.values[0]) < 0 ? int64_t(idx.values[0]) + a.steps : int64_t(idx.values[0]);
        // With outputs in processing order the final state is the last entry; in input
        // order (ONNX reverse) it is the first.
        const int64_t last = a.goBackwards && a.outputInInputOrder ? 0 : a.steps - 1;
        if (k != last) fail(n, "Gather is only supported to take the final state of a recurrent layer's sequence");
        a.returnSequences = false;
        l.shape = {a.units};
        Shape shape(x.onnx.begin() + 1, x.onnx.end());
        produced(n, Value{x.layer, shape, identityOrder(shape.size())});
        return true;
    }
    return false;
}

// ONNX LSTM / GRU / RNN (one direction, zero initial state, no sequence_lens). Gate order
// becomes Keras': LSTM iofc -> ifco; GRU zrh stays.
void OnnxReader::recurrent(const onnx::NodeProto& n) {
    const std::string& op = n.op_type();
    const bool batchFirst = intAttr(n, "layout", 0) == 1;
    std::string xl;
    Shape xs;
    if (auto it = seq_.find(n.input(0)); it != seq_.end()) {
        if (batchFirst || it->second.batch != 1 || it->second.v.onnx.size() != 2)
            fail(n, "expects a sequence-major [steps, batch, features] input");
        xs = it->second.v.onnx;
        xl = plain(n, it->second.v);
    } else {
        const Value& x = value(n, n.input(0));
        if (!batchFirst || x.onnx.size() != 2) fail(n, "expects a [steps, batch, features] input (or layout=1 with [batch, steps, features])");
        xs = x.onnx;
        xl = plain(n, x);
    }
    const std::string dir = stringAttr(n, "direction", "forward");
    if (dir != "forward" && dir != "reverse") fail(n, "direction '" + dir + "' is not supported (forward or reverse)");
    for (const auto& a : n.attribute())
        if (a.name() == "clip" || a.name() == "input_forget" || a.name() == "activation_alpha" || a.name() == "activation_beta")
            if (a.name() != "input_forget" || a.i() != 0) fail(n, "attribute '" + a.name() + "' is not supported");
    if (n.input_size() > 4 && !n.input(4).empty()) fail(n, "sequence_lens is not supported (static sequence length only)");
    for (int i : {5, 6})
        if (!zeroState(n, i)) fail(n, "only a zero initial state is supported");
    if (n.input_size() > 7 && !n.input(7).empty()) fail(n, "peephole weights (P) are not supported");
    RecurrentAttrs a;
    a.cell = op == "LSTM" ? RnnCell::LSTM : op == "GRU" ? RnnCell::GRU : RnnCell::SimpleRNN;
    a.steps = xs[0];
    a.nIn = xs[1];
    a.units = int(intAttr(n, "hidden_size", 0));
    if (a.units <= 0) fail(n, "no valid hidden_size");
    a.goBackwards = dir == "reverse";
    a.outputInInputOrder = true;
    a.resetAfter = intAttr(n, "linear_before_reset", 0) != 0;
    // Activations: f (gates), g (candidate / cell input), h (cell output, LSTM).
    std::vector<std::string> acts;
    for (const auto& at : n.attribute())
        if (at.name() == "activations")
            for (const auto& s : at.strings()) acts.push_back(s);
    auto kind = [&](const std::string& s) {
        static const std::map<std::string, ActKind> m = {{"Sigmoid", ActKind::Sigmoid}, {"Tanh", ActKind::Tanh},
                                                         {"Relu", ActKind::ReLU},       {"Softsign", ActKind::Softsign},
                                                         {"Softplus", ActKind::Softplus}};
        auto it = m.find(s);
        if (it == m.end()) fail(n, "activation '" + s + "' is not supported");
        return it->second;
    };
    if (a.cell == RnnCell::SimpleRNN) {
        a.activation = acts.empty() ? ActKind::Tanh : kind(acts[0]);
    } else {
        a.recurrentActivation = acts.empty() ? ActKind::Sigmoid : kind(acts[0]);
        a.activation = acts.size() < 2 ? ActKind::Tanh : kind(acts[1]);
        if (a.cell == RnnCell::LSTM && acts.size() >= 3 && kind(acts[2]) != a.activation)
            fail(n, "LSTM with different cell-input and cell-output activations is not supported");
    }
    const int G = a.gates(), H = a.units;
    const ConstTensor& W = requireConst(n, 1, "W");
    const ConstTensor& R = requireConst(n, 2, "R");
    if (W.values.size() != size_t(G * H * a.nIn) || R.values.size() != size_t(G * H * H))
        fail(n, "W/R do not match " + std::to_string(G) + " gates of hidden_size " + std::to_string(H) + " over " +
                    std::to_string(a.nIn) + " features (bidirectional layers are not supported)");
    // IR gate k reads ONNX gate order[k].
    const std::vector<int> order = a.cell == RnnCell::LSTM ? std::vector<int>{0, 2, 3, 1} : a.cell == RnnCell::GRU ? std::vector<int>{0, 1, 2} : std::vector<int>{0};
    std::vector<double> w(size_t(a.nIn * G * H)), rw(size_t(H * G * H)), b(size_t(G * H), 0.0), rb(size_t(G * H), 0.0);
    for (int k = 0; k < G; ++k)
        for (int j = 0; j < H; ++j) {
            const size_t row = size_t(order[size_t(k)] * H + j), col = size_t(k * H + j);
            for (int i = 0; i < a.nIn; ++i) w[size_t(i) * size_t(G * H) + col] = W.values[row * size_t(a.nIn) + size_t(i)];
            for (int i = 0; i < H; ++i) rw[size_t(i) * size_t(G * H) + col] = R.values[row * size_t(H) + size_t(i)];
        }
    if (n.input_size() > 3 && !n.input(3).empty()) {
        const ConstTensor& B = requireConst(n, 3, "B");
        if (B.values.size() != size_t(2 * G * H)) fail(n, "B does not match 2 x " + std::to_string(G * H));
        for (int k = 0; k < G; ++k)
            for (int j = 0; j < H; ++j) {
                b[size_t(k * H + j)] = B.values[size_t(order[size_t(k)] * H + j)];
                rb[size_t(k * H + j)] = B.values[size_t(G * H + order[size_t(k)] * H + j)];
            }
    }
    auto used = [&](int k) {
        if (n.output_size() <= k || n.output(k).empty()) return false;
        if (uses_.count(n.output(k))) return true;
        for (const auto& o : graph_.output())
            if (o.name() == n.output(k)) return true;
        return false;
    };
    const bool yUsed = used(0), hUsed = used(1);
    if (used(2))
        fail(n, "the final cell state output (Y_c) is not supported");
    if (yUsed && hUsed) fail(n, "using both the output sequence (Y) and the final state (Y_h) is not supported");
    a.returnSequences = !hUsed;
    const std::string x = b_.view(nodeName(n) + "_input", xl, {a.steps, a.nIn});
    const std::string l = b_.add(nodeName(n), LayerKind::Recurrent, {x}, a,
                                 {{"weight", std::move(w)}, {"recurrent_weight", std::move(rw)}, {"bias", std::move(b)},
                                  {"recurrent_bias", std::move(rb)}});
    // Y: [T, 1, B, H] (layout 1: [B, T, 1, H]); Y_h: [1, B, H] (layout 1: [B, 1, H]).
    if (a.returnSequences) {
        Value v{l, {a.steps, 1, H}, {0, 1, 2}};
        if (batchFirst) values_[n.output(0)] = v;
        else seq_[n.output(0)] = SeqValue{v, 2};
    } else if (n.output_size() > 1) {
        Value v{l, {1, H}, {0, 1}};
        if (batchFirst) values_[n.output(1)] = v;
        else seq_[n.output(1)] = SeqValue{v, 1};
    }
}

// Index into a numpy-broadcast parameter tensor `p` for flat element `e` of a tensor with
// dims `x` (row-major).
size_t broadcastIndex(const std::vector<int64_t>& x, const std::vector<int64_t>& p, size_t e) {
    size_t idx = 0, stride = 1;
    for (size_t k = 0; k < p.size(); ++k) {
        const size_t ak = p.size() - 1 - k, xk = x.size() - 1 - k;   // align trailing axes
        const int64_t xd = k < x.size() ? x[xk] : 1;
        size_t coord = 0;
        if (k < x.size()) {
            size_t below = 1;
            for (size_t j = xk + 1; j < x.size(); ++j) below *= size_t(x[j]);
            coord = (e / below) % size_t(xd);
        }
        if (p[ak] != 1) idx += coord * stride;
        stride *= size_t(p[ak]);
    }
    return idx;
}

bool isPowerOfTwo(double v) {
    int e;
    return v > 0 && std::frexp(v, &e) == 0.5;
}

// QONNX Quant (qonnx/custom_op/general/quant.py, IntQuant):
//   y = (round(clamp(x / scale + zero_point, min_int, max_int)) - zero_point) * scale
// with min_int/max_int from (bitwidth, signed, narrow), rounding ROUND (numpy: half to
// even), FLOOR or ROUND_TO_ZERO, and a 1-bit signed Quant taken as bipolar
// (x / scale + zp >= 0 ? 1 : -1). BipolarQuant: y = (x >= 0 ? 1 : -1) * scale.
// On a constant the quantiser is evaluated here in float32, as the reference does; on a
// computed tensor it becomes a Quantize layer, which is exact only for zero_point 0 and
// one power-of-two scale: then Quant is cast<ap_(u)fixed<bits, bits + log2(scale)>> with
// the rounding mode and SAT (SAT_SYM when narrow). Anything else is refused by name.
//
// Tachyon's explicit form (what tachyon.qat.export writes, docs/qat.md): rounding_mode may
// also name an ap_fixed quantisation mode (AP_TRN, AP_TRN_ZERO, AP_RND, AP_RND_ZERO,
// AP_RND_INF, AP_RND_MIN_INF, AP_RND_CONV), and an `overflow_mode` attribute (AP_WRAP,
// AP_SAT, AP_SAT_ZERO, AP_SAT_SYM) replaces the clamp, so the node reads as exactly one
// cast with no half-even/half-up ambiguity. Such a node needs power-of-two scales and a zero
// point of 0; on a constant it is evaluated exactly (in double, FixedType::castDouble).
// A Quant on a computed tensor with a scale and/or bitwidth per channel (power-of-two
// scales, explicit ap_fixed modes): a Fixed-mode Quantize layer with one type per element,
// listed in Tachyon's storage order of x (storage axis j is ONNX axis src[j]); the tensors
// broadcast against x with its batch axis (numpy rules, trailing axes aligned).
void OnnxReader::perElementQuant(const onnx::NodeProto& n, const Value& x, const ConstTensor& scale,
                                 const ConstTensor& bitwidths, const std::function<FixedType(double, int)>& typeAt) {
    std::vector<int64_t> full = {1};
    for (int d : x.onnx) full.push_back(d);
    for (const ConstTensor* t : {&scale, &bitwidths}) {
        if (t->dims.size() > full.size()) fail(n, "a scale/bitwidth tensor has more axes than the input");
        for (size_t k = 0; k < t->dims.size(); ++k) {
            const int64_t d = t->dims[t->dims.size() - 1 - k], xd = full[full.size() - 1 - k];
            if (d != 1 && d != xd)
                fail(n, "a scale/bitwidth tensor does not broadcast against the input (axis of size " +
                            std::to_string(d) + " against " + std::to_string(xd) + ")");
        }
    }
    for (double s : scale.values)
        if (!isPowerOfTwo(s)) fail(n, "a per-channel scale must hold powers of two");
    const size_t r = x.onnx.size();
    std::vector<int> storageDims(r);
    for (size_t j = 0; j < r; ++j) storageDims[j] = x.onnx[size_t(x.src[j])];
    size_t count = 1;
    for (int d : x.onnx) count *= size_t(d);
    QuantizeAttrs a;
    a.mode = QuantizeMode::Fixed;
    std::vector<size_t> coord(r, 0);   // storage coordinates, row-major
    for (size_t e = 0; e < count; ++e) {
        size_t onnxFlat = 0;           // the same element's row-major index in ONNX order
        for (size_t i = 0; i < r; ++i) {
            size_t c = 0;
            for (size_t j = 0; j < r; ++j)
                if (x.src[j] == int(i)) c = coord[j];
            onnxFlat = onnxFlat * size_t(x.onnx[i]) + c;
        }
        const FixedType t = typeAt(scale.values[broadcastIndex(full, scale.dims, onnxFlat)],
                                   int(bitwidths.values[broadcastIndex(full, bitwidths.dims, onnxFlat)]));
        a.quant = t.quant;
        a.overflow = t.overflow;
        a.width.push_back(t.width);
        a.integer.push_back(t.integer);
        a.isSigned.push_back(t.isSigned ? 1 : 0);
        for (size_t j = r; j-- > 0;) {
            if (++coord[j] < size_t(storageDims[j])) break;
            coord[j] = 0;
        }
    }
    const std::string out = b_.add(nodeName(n), LayerKind::Quantize, {x.layer}, a);
    b_.layer(out).trained["result"] = unionType(a);
    produced(n, Value{out, x.onnx, x.src});
}

void OnnxReader::qonnxQuant(const onnx::NodeProto& n) {
    const bool bipolar = n.op_type() == "BipolarQuant";
    const ConstTensor& scale = requireConst(n, 1, "scale");
    ConstTensor zeroPoint;
    zeroPoint.values = {0.0};
    int bits = 1;
    ConstTensor bitwidths;   // one value, or (Tachyon extension, explicit modes only) one per channel
    bitwidths.values = {1.0};
    bool isSigned = true, narrow = false;
    std::string rounding = "ROUND";
    if (!bipolar) {
        zeroPoint = requireConst(n, 2, "zero_point");
        bitwidths = requireConst(n, 3, "bitwidth");
        if (bitwidths.values.empty()) fail(n, "bitwidth is empty");
        for (double b : bitwidths.values)
            if (b != std::floor(b) || b < 1 || b > 32) fail(n, "bitwidth must hold integers from 1 to 32");
        bits = int(bitwidths.values[0]);
        isSigned = intAttr(n, "signed", 1) != 0;
        narrow = intAttr(n, "narrow", 0) != 0;
        rounding = stringAttr(n, "rounding_mode", "ROUND");
        for (char& c : rounding) c = char(std::toupper((unsigned char)c));
    }
    for (double s : scale.values)
        if (!(s > 0) || !std::isfinite(s)) fail(n, "scale must be positive and finite");
    const bool explicitOverflow =
        !bipolar && std::any_of(n.attribute().begin(), n.attribute().end(),
                                [](const onnx::AttributeProto& a) { return a.name() == "overflow_mode"; });
    const bool bipolarLevels = bipolar || (bits == 1 && isSigned && !explicitOverflow);
    Quant quant = Quant::RND_CONV;
    bool explicitRounding = false;   // an ap_fixed mode name instead of QONNX's
    if (!bipolarLevels) {
        if (rounding == "ROUND") quant = Quant::RND_CONV;
        else if (rounding == "FLOOR") quant = Quant::TRN;
        else if (rounding == "ROUND_TO_ZERO") quant = Quant::TRN_ZERO;
        else if (rounding.rfind("AP_", 0) == 0) {
            quant = parseQuantMode(rounding, path_ + ": node '" + nodeName(n) + "': rounding_mode");
            explicitRounding = true;
        } else
            fail(n, "rounding_mode '" + rounding + "' is not supported (ROUND, FLOOR, ROUND_TO_ZERO and the ap_fixed "
                    "modes AP_TRN, AP_TRN_ZERO, AP_RND, AP_RND_ZERO, AP_RND_INF, AP_RND_MIN_INF, AP_RND_CONV are)");
    }
    Overflow overflow = narrow ? Overflow::SAT_SYM : Overflow::SAT;
    if (explicitOverflow) {
        std::string o = stringAttr(n, "overflow_mode", "");
        for (char& c : o) c = char(std::toupper((unsigned char)c));
        overflow = parseOverflowMode(o, path_ + ": node '" + nodeName(n) + "': overflow_mode");
    }
    if (bitwidths.values.size() != 1 && !explicitRounding && !explicitOverflow)
        fail(n, "a bitwidth per channel needs an ap_fixed rounding_mode/overflow_mode (one cast per element)");
    // The explicit form is one ap_fixed cast per element: power-of-two scales, zero point 0.
    auto fixedTypeAt = [&](double s, int width) {
        int e;
        std::frexp(s, &e);   // s = 2^(e-1)
        FixedType t;
        t.width = width;
        t.integer = width + (e - 1);
        t.isSigned = isSigned;
        t.quant = quant;
        t.overflow = overflow;
        return t;
    };
    if (explicitRounding || explicitOverflow) {
        for (double s : scale.values)
            if (!isPowerOfTwo(s)) fail(n, "an explicit rounding_mode/overflow_mode needs power-of-two scales");
        for (double z : zeroPoint.values)
            if (z != 0) fail(n, "an explicit rounding_mode/overflow_mode needs a zero_point of 0");
        if (narrow && !explicitOverflow) fail(n, "narrow with an ap_fixed rounding_mode: give overflow_mode AP_SAT_SYM");
        if (const ConstTensor* x = constant(n.input(0))) {
            ConstTensor y;
            y.dims = x->dims;
            for (size_t e = 0; e < x->values.size(); ++e) {
                const FixedType t = fixedTypeAt(scale.values[broadcastIndex(x->dims, scale.dims, e)],
                                                int(bitwidths.values[broadcastIndex(x->dims, bitwidths.dims, e)]));
                if (!std::isfinite(x->values[e])) fail(n, "a constant value is not finite");
                y.values.push_back(t.quantize(x->values[e]));
            }
            consts_[n.output(0)] = std::move(y);
            quantizedConsts_.insert(n.output(0));
            return;
        }
    }
    const double minInt = bipolarLevels ? -1 : isSigned ? -std::ldexp(1.0, bits - 1) + (narrow ? 1 : 0) : 0;
    const double maxInt = bipolarLevels ? 1 : isSigned ? std::ldexp(1.0, bits - 1) - 1 : std::ldexp(1.0, bits) - 1 - (narrow ? 1 : 0);

    if (const ConstTensor* x = constant(n.input(0))) {
        // Fold: evaluate in float32 like the QONNX reference.
        ConstTensor y;
        y.dims = x->dims;
        bool po2 = true;
        for (size_t e = 0; e < x->values.size(); ++e) {
            const float s = float(scale.values[broadcastIndex(x->dims, scale.dims, e)]);
            const float zp = float(zeroPoint.values[broadcastIndex(x->dims, zeroPoint.dims, e)]);
            po2 = po2 && isPowerOfTwo(s) && zp == 0.0f;
            const float v = bipolar ? float(x->values[e]) : float(x->values[e]) / s + zp;
            float q;
            if (bipolarLevels) q = v >= 0.0f ? 1.0f : -1.0f;
            else {
                q = std::min(std::max(v, float(minInt)), float(maxInt));
                q = rounding == "FLOOR" ? std::floor(q) : rounding == "ROUND_TO_ZERO" ? std::trunc(q) : std::nearbyint(q);
            }
            y.values.push_back(double(bipolar ? q * s : (q - zp) * s));
        }
        consts_[n.output(0)] = std::move(y);
        // Power-of-two scales make the folded values fixed-point numbers of a small type.
        if (po2) quantizedConsts_.insert(n.output(0));
        return;
    }

    const Value& x = value(n, n.input(0));
    for (double z : zeroPoint.values)
        if (z != 0) fail(n, "a non-zero zero_point on a computed tensor is not supported");
    if (scale.values.size() != 1 || bitwidths.values.size() != 1) {
        if (!explicitRounding && !explicitOverflow)
            fail(n, "a per-channel scale on a computed tensor needs an ap_fixed rounding_mode/overflow_mode (one "
                    "ap_fixed cast per element); with QONNX's modes only one scale for the tensor is supported");
        perElementQuant(n, x, scale, bitwidths, [&](double s, int w) { return fixedTypeAt(s, w); });
        return;
    }
    const double s = scale.values[0];
    QuantizeAttrs a;
    if (bipolarLevels) {
        // y = x >= 0 ? s : -s (x / s >= 0 is x >= 0 for s > 0).
        a.mode = QuantizeMode::Threshold;
        a.nThresholds = 1;
        a.thresholds = {0.0};
        a.strict = {0};
        a.levels = {-s, s};
    } else {
        if (!isPowerOfTwo(s))
            fail(n, "scale " + std::to_string(s) + " on a computed tensor is not a power of two; only power-of-two "
                    "scales are exact fixed-point casts");
        if (narrow && !isSigned)
            fail(n, "narrow range on an unsigned Quant (maximum 2^bits - 2) has no ap_fixed overflow mode");
        const FixedType t = fixedTypeAt(s, bits);
        a.mode = QuantizeMode::Fixed;
        a.quant = t.quant;
        a.overflow = t.overflow;
        a.width = {t.width};
        a.integer = {t.integer};
        a.isSigned = {isSigned ? 1 : 0};
    }
    const std::string where = path_ + ": node '" + nodeName(n) + "'";
    const FixedType result = a.mode == QuantizeMode::Threshold ? levelsType(a.levels, where) : unionType(a);
    const std::string out = b_.add(nodeName(n), LayerKind::Quantize, {x.layer}, a);
    b_.layer(out).trained["result"] = result;
    produced(n, Value{out, x.onnx, x.src});
}

// QONNX Trunc (qonnx/custom_op/general/trunc.py; Brevitas' TruncIntQuant), dropping low bits
// of an integer held at `scale`. Version 1 (5 inputs: x, scale, zeropt, in_bitwidth,
// out_bitwidth): k = in_bitwidth - out_bitwidth,
//   y = (rounding(round(x / scale + zp) / 2^k) - zp) * scale              (no clamp)
// Version 2 (6 inputs: ..., out_scale, out_bitwidth; attrs signed, narrow):
//   k = round(log2(out_scale / scale)),
//   y = (rounding(clamp(round(x / scale + zp) / 2^k, min_int, max_int)) - zp / 2^k) * out_scale
// `round` is half to even, `rounding` the rounding_mode (FLOOR by default, ROUND, CEIL).
// With zp = 0 and power-of-two scales this is two casts, i.e. two Quantize layers:
//   1. cast<ap_fixed<in_bitwidth + 1, .., RND_CONV, SAT>> at LSB `scale` (the input is by
//      definition an in_bitwidth-bit integer at `scale`; the extra bit covers either sign;
//      v2 widens it to the clamp's range, so that v2 is exact for any input);
//   2. cast at LSB scale * 2^k with the rounding mode: v2 to out_bitwidth bits with SAT
//      (SAT_SYM when narrow), v1 wide enough that nothing saturates;
//   3. (v1 only, k != 0) the exact scaling by 2^-k that v1's "* scale" makes.
// CEIL has no ap_fixed quantisation mode and is refused, as are zero points and other scales.
void OnnxReader::qonnxTrunc(const onnx::NodeProto& n) {
    const bool v2 = n.input_size() >= 6;
    auto single = [&](int i, const char* what) {
        const ConstTensor& t = requireConst(n, i, what);
        if (t.values.size() != 1) fail(n, std::string(what) + " must be a single value");
        return t.values[0];
    };
    auto bitwidth = [&](int i, const char* what) {
        const double b = single(i, what);
        if (b != std::floor(b) || b < 1 || b > 32) fail(n, std::string(what) + " must be one integer from 1 to 32");
        return int(b);
    };
    auto log2Exact = [&](double v, const char* what) {
        if (!(v > 0) || !std::isfinite(v) || !isPowerOfTwo(v))
            fail(n, std::string(what) + " " + std::to_string(v) + " is not a power of two; only power-of-two scales "
                    "are exact fixed-point casts");
        int e;
        std::frexp(v, &e);
        return e - 1;
    };
    const int lsb = log2Exact(single(1, "scale"), "scale");
    for (double z : requireConst(n, 2, "zeropt").values)
        if (z != 0) fail(n, "a non-zero zeropt is not supported");
    const int inBits = bitwidth(3, "in_bitwidth");
    int k, outBits;
    if (v2) {
        const double ratio = single(4, "out_scale") / single(1, "scale");
        const double kr = std::round(std::log2(ratio));
        if (!(ratio > 0) || std::ldexp(1.0, int(kr)) != ratio)
            fail(n, "out_scale / scale is not a power of two; Trunc would rescale by a non-integer factor");
        k = int(kr);
        outBits = bitwidth(5, "out_bitwidth");
    } else {
        outBits = bitwidth(4, "out_bitwidth");
        k = inBits - outBits;
    }
    std::string rounding = stringAttr(n, "rounding_mode", "FLOOR");
    for (char& c : rounding) c = char(std::toupper((unsigned char)c));
    Quant quant;
    if (rounding == "ROUND") quant = Quant::RND_CONV;
    else if (rounding == "FLOOR") quant = Quant::TRN;
    else if (rounding == "ROUND_TO_ZERO") quant = Quant::TRN_ZERO;
    else fail(n, "rounding_mode '" + rounding + "' is not supported (ROUND, FLOOR and ROUND_TO_ZERO are; CEIL has "
                 "no ap_fixed quantisation mode)");
    const bool isSigned = !v2 || intAttr(n, "signed", 1) != 0;
    const bool narrow = v2 && intAttr(n, "narrow", 0) != 0;
    if (narrow && !isSigned) fail(n, "narrow range on an unsigned Trunc has no ap_fixed overflow mode");
    if (constant(n.input(0))) fail(n, "Trunc of a constant is not supported (Brevitas truncates activations)");

    const Value& x = value(n, n.input(0));
    auto quantize = [&](const std::string& name, const std::string& in, int width, int frac, Quant q, Overflow o,
                        bool sign) {
        QuantizeAttrs a;
        a.mode = QuantizeMode::Fixed;
        a.quant = q;
        a.overflow = o;
        a.width = {width};
        a.integer = {width - frac};
        a.isSigned = {sign ? 1 : 0};
        const std::string out = b_.add(name, LayerKind::Quantize, {in}, a);
        b_.layer(out).trained["result"] = unionType(a);
        return out;
    };
    // Version 2 clamps afterwards: saturating the first cast at a range no narrower than the
    // clamp's (out_bitwidth + k bits) gives the same result for any input.
    const int w1 = v2 ? std::max(inBits + 1, outBits + k + 1) : inBits + 1;
    const std::string rounded =
        quantize(nodeName(n) + "_round", x.layer, w1, -lsb, Quant::RND_CONV, Overflow::SAT, true);
    // v1 keeps every value: w1 bits shifted right by k, plus one for a round-up carry.
    const int w2 = v2 ? outBits : std::max(w1 - k + 1, 2);
    const std::string cut = quantize(v2 || k == 0 ? nodeName(n) : nodeName(n) + "_cut", rounded, w2, -(lsb + k), quant,
                                     narrow ? Overflow::SAT_SYM : Overflow::SAT, isSigned);
    if (v2 || k == 0) {
        produced(n, Value{cut, x.onnx, x.src});
        return;
    }
    // Version 1 multiplies the truncated integer by the input's scale again: the value
    // shrinks by 2^k. That is an exact power-of-two scaling (a BatchNorm layer whose types
    // are exact), the raw bits unchanged.
    const size_t channels = size_t(b_.shape(cut).back());
    const std::string out = b_.add(nodeName(n), LayerKind::BatchNorm, {cut}, NoAttrs{},
                                   {{"scale", std::vector<double>(channels, std::ldexp(1.0, -k))},
                                    {"shift", std::vector<double>(channels, 0.0)}});
    const std::string where = path_ + ": node '" + nodeName(n) + "'";
    Layer& l = b_.layer(out);
    l.trained["scale"] = exactTypeFor({std::ldexp(1.0, -k)}, where + " scale");
    l.trained["shift"] = exactTypeFor({0.0}, where + " shift");
    l.trained["result"] = FixedType::fixed(w2, w2 + lsb, isSigned);
    produced(n, Value{out, x.onnx, x.src});
}

// FINN/QONNX MultiThreshold (qonnx custom_op/general/multithreshold.py):
//   y = out_scale * #{t in thresholds[c] : x >= t} + out_bias
// per channel c (axis 1 for data_layout NCHW/NCW/NC, the last axis for NHWC/NWC), with one
// row of thresholds per channel or one row for all. A Threshold-mode Quantize layer; the
// count does not depend on the order of a row, so rows are sorted ascending.
void OnnxReader::multiThreshold(const onnx::NodeProto& n) {
    const Value& x = value(n, n.input(0));
    const ConstTensor& t = requireConst(n, 1, "thresholds");
    if (t.dims.size() != 2) fail(n, "thresholds must be 2-D [channels, thresholds]");
    const std::string layout = stringAttr(n, "data_layout", "NCHW");
    const bool channelsFirst = layout.size() >= 2 && layout[1] == 'C';
    if (!channelsFirst && layout.back() != 'C') fail(n, "data_layout '" + layout + "' is not supported");
    if (x.onnx.empty()) fail(n, "input has no channel axis");
    const int channels = channelsFirst ? x.onnx.front() : x.onnx.back();
    const int rows = int(t.dims[0]), nT = int(t.dims[1]);
    if (rows != 1 && rows != channels)
        fail(n, "thresholds have " + std::to_string(rows) + " rows, expected 1 or " + std::to_string(channels));
    if (nT < 1) fail(n, "no thresholds");
    const double outScale = floatAttr(n, "out_scale", 1.0), outBias = floatAttr(n, "out_bias", 0.0);
    QuantizeAttrs a;
    a.mode = QuantizeMode::Threshold;
    a.nThresholds = nT;
    a.thresholds = t.values;
    for (int r = 0; r < rows; ++r)
        std::sort(a.thresholds.begin() + long(r) * nT, a.thresholds.begin() + long(r + 1) * nT);
    a.strict.assign(size_t(nT), 0);
    for (int k = 0; k <= nT; ++k) a.levels.push_back(outScale * k + outBias);
    const FixedType result = levelsType(a.levels, path_ + ": node '" + nodeName(n) + "'");
    // Threshold rows run along the last storage axis: store channels-last.
    const std::vector<int> order = channelsFirst ? channelsLastOrder(x.onnx.size()) : identityOrder(x.onnx.size());
    const std::string in = inOrder(n, x, order);
    const std::string out = b_.add(nodeName(n), LayerKind::Quantize, {in}, a);
    b_.layer(out).trained["result"] = result;
    produced(n, Value{out, x.onnx, order});
}

void OnnxReader::quantizedWeightTypes(const onnx::NodeProto& n, const std::string& layer) {
    if (n.input_size() < 2 || !quantizedConsts_.count(n.input(1))) return;
    Layer& l = b_.layer(layer);
    const std::string where = path_ + ": node '" + nodeName(n) + "'";
    l.trained["weight"] = exactTypeFor(l.param("weight"), where + " weight");
    if (n.input_size() > 2 && quantizedConsts_.count(n.input(2)))
        l.trained["bias"] = exactTypeFor(l.param("bias"), where + " bias");
}

// An index or axis read from a constant, clamped so that malformed values convert safely.
int64_t constIndex(double v) { return v != v ? 0 : int64_t(std::clamp(v, -1e15, 1e15)); }

std::optional<Shape> OnnxReader::fullShape(const std::string& tensor) const {
    if (auto it = seq_.find(tensor); it != seq_.end()) {
        Shape s = it->second.v.onnx;
        s.insert(s.begin() + it->second.batch, 1);
        return s;
    }
    auto it = values_.find(tensor);
    if (it == values_.end()) return std::nullopt;
    if (unbatched_.count(tensor)) return it->second.onnx;
    Shape s = it->second.onnx;
    s.insert(s.begin(), 1);
    return s;
}

void OnnxReader::foldShapeArithmetic(const onnx::NodeProto& n) {
    const std::string& op = n.op_type();
    ConstTensor out;
    auto in = [&](int i) -> const ConstTensor* {
        return i < n.input_size() && !n.input(i).empty() ? constant(n.input(i)) : nullptr;
    };
    if (op == "Shape") {
        const auto s = fullShape(n.input(0));
        if (!s) return;
        int64_t r = int64_t(s->size()), start = intAttr(n, "start", 0), end = intAttr(n, "end", r);
        if (start < 0) start += r;
        if (end < 0) end += r;
        for (int64_t k = std::clamp<int64_t>(start, 0, r); k < std::clamp<int64_t>(end, 0, r); ++k)
            out.values.push_back((*s)[size_t(k)]);
        out.dims = {int64_t(out.values.size())};
    } else if (op == "Gather") {
        const ConstTensor *data = in(0), *idx = in(1);
        if (!data || !idx || data->dims.size() > 1 || intAttr(n, "axis", 0) != 0) return;
        for (double v : idx->values) {
            int64_t k = constIndex(v) < 0 ? constIndex(v) + int64_t(data->values.size()) : constIndex(v);
            if (k < 0 || k >= int64_t(data->values.size())) return;
            out.values.push_back(data->values[size_t(k)]);
        }
        out.dims = idx->dims;
    } else if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
        const ConstTensor *a = in(0), *b = in(1);
        if (!a || !b || a->values.empty() || b->values.empty() ||
            (a->values.size() != b->values.size() && a->values.size() != 1 && b->values.size() != 1))
            return;
        const size_t count = std::max(a->values.size(), b->values.size());
        for (size_t k = 0; k < count; ++k) {
            const double x = a->values[a->values.size() == 1 ? 0 : k], y = b->values[b->values.size() == 1 ? 0 : k];
            if (op == "Div" && y == 0) return;
            // Sizes are integers: Div is ONNX's integer division (truncating).
            out.values.push_back(op == "Add" ? x + y : op == "Sub" ? x - y : op == "Mul" ? x * y : std::trunc(x / y));
        }
        out.dims = a->values.size() >= b->values.size() ? a->dims : b->dims;
    } else if (op == "Unsqueeze" || op == "Squeeze" || op == "Cast" || op == "Reshape") {
        const ConstTensor* a = in(0);
        if (!a) return;
        out.values = a->values;
        out.dims = {int64_t(out.values.size())};
    } else if (op == "Concat") {
        for (int i = 0; i < n.input_size(); ++i) {
            const ConstTensor* a = in(i);
            if (!a) return;
            out.values.insert(out.values.end(), a->values.begin(), a->values.end());
        }
        out.dims = {int64_t(out.values.size())};
    } else {
        return;
    }
    consts_[n.output(0)] = std::move(out);
}

bool OnnxReader::readsUnbatched(const onnx::NodeProto& n) const {
    for (const auto& in : n.input())
        if (unbatched_.count(in)) return true;
    return false;
}

void OnnxReader::unbatchedNode(const onnx::NodeProto& n) {
    onnx::NodeProto m = n;
    // Every computed operand as an unbatched tensor: its batch axis (size 1) made explicit.
    for (int i = 0; i < n.input_size(); ++i) {
        const std::string& t = n.input(i);
        if (t.empty() || constant(t) || unbatched_.count(t)) continue;
        const auto full = fullShape(t);
        if (!full) fail(n, "reads '" + t + "', which no earlier node produces");
        Value v;
        v.onnx = *full;
        if (auto it = seq_.find(t); it != seq_.end()) {
            v.layer = it->second.v.layer;
            for (int a : it->second.v.src) v.src.push_back(a >= it->second.batch ? a + 1 : a);
            v.src.push_back(it->second.batch);
        } else {
            const Value& x = values_.at(t);
            v.layer = x.layer;
            for (int a : x.src) v.src.push_back(a + 1);
            v.src.push_back(0);
        }
        const std::string alias = t + "#unbatched";
        values_[alias] = v;
        uses_[alias] = uses_[t];
        m.set_input(i, alias);
    }
    // ONNX axes count the batch; the handlers take axis k as the sample's axis k - 1.
    // (Clamped first: a malformed model's axes must not overflow; the handlers reject them.)
    auto shift = [](int64_t a) { return a >= 0 ? std::min<int64_t>(a, 1 << 30) + 1 : a; };
    for (auto& a : *m.mutable_attribute()) {
        if (a.name() == "perm") {
            std::vector<int64_t> p = {0};
            for (int64_t v : a.ints()) p.push_back(std::clamp<int64_t>(v, -(1 << 30), 1 << 30) + 1);
            a.clear_ints();
            for (int64_t v : p) a.add_ints(v);
        } else if (a.name() == "axis") {
            a.set_i(shift(a.i()));
        } else if (a.name() == "axes") {
            for (int k = 0; k < a.ints_size(); ++k) a.set_ints(k, shift(a.ints(k)));
        }
    }
    auto rewriteConst = [&](int i, ConstTensor c) {
        const std::string name = n.input(i) + "#unbatched";
        consts_[name] = std::move(c);
        m.set_input(i, name);
    };
    const std::string& op = n.op_type();
    if (op == "Reshape") {
        ConstTensor target = requireConst(n, 1, "shape");
        target.values.insert(target.values.begin(), 1.0);
        target.dims = {int64_t(target.values.size())};
        rewriteConst(1, std::move(target));
    } else if ((op == "Squeeze" || op == "Unsqueeze") && n.input_size() > 1 && !n.input(1).empty()) {
        ConstTensor axes = requireConst(n, 1, "axes");
        for (double& v : axes.values) v = double(shift(constIndex(v)));
        rewriteConst(1, std::move(axes));
    } else if (op == "Slice") {
        if (n.input_size() < 3) fail(n, "expects starts and ends inputs");
        ConstTensor axes;
        if (n.input_size() > 3 && !n.input(3).empty()) {
            axes = requireConst(n, 3, "axes");
        } else {
            for (size_t k = 0; k < requireConst(n, 1, "starts").values.size(); ++k) axes.values.push_back(double(k));
            axes.dims = {int64_t(axes.values.size())};
            while (m.input_size() < 4) m.add_input("");
        }
        for (double& v : axes.values) v = double(shift(constIndex(v)));
        const std::string name = n.output(0) + "#axes";
        consts_[name] = std::move(axes);
        m.set_input(3, name);
    }
    unbatchedMode_ = true;
    dispatch(m);
    unbatchedMode_ = false;
    // A leading axis of size 1 can be the batch again.
    auto made = values_.find(n.output(0));
    if (made == values_.end()) fail(n, "produced no tensor from an unbatched operand");
    Value& out = made->second;
    if (out.onnx.size() >= 2 && out.onnx[0] == 1) {
        out.onnx.erase(out.onnx.begin());
        std::vector<int> src;
        for (int a : out.src)
            if (a != 0) src.push_back(a - 1);
        out.src = src;
        // Stored without that axis too, as every ordinary tensor is.
        Shape stored;
        for (int a : out.src) stored.push_back(out.onnx[size_t(a)]);
        out.layer = b_.view(nodeName(n) + "_batch", out.layer, stored);
    } else {
        unbatched_.insert(n.output(0));
    }
}

// Slice of the last axis of a Dense layer's output (the query, key and value parts of
// nn.MultiheadAttention's packed in-projection): a Dense with those output columns.
void OnnxReader::slice(const onnx::NodeProto& n) {
    const Value& x = value(n, n.input(0));
    if (opset_ < 10) fail(n, "Slice before opset 10 (attributes instead of inputs) is not supported");
    const ConstTensor& starts = requireConst(n, 1, "starts");
    const ConstTensor& ends = requireConst(n, 2, "ends");
    if (starts.values.size() != 1 || ends.values.size() != 1) fail(n, "only slices along one axis are supported");
    int64_t axis = 0;
    if (n.input_size() > 3 && !n.input(3).empty()) {
        const ConstTensor& axes = requireConst(n, 3, "axes");
        if (axes.values.size() != 1) fail(n, "only slices along one axis are supported");
        axis = constIndex(axes.values[0]);
    }
    if (n.input_size() > 4 && !n.input(4).empty()) {
        const ConstTensor& steps = requireConst(n, 4, "steps");
        if (steps.values.size() != 1 || steps.values[0] != 1) fail(n, "only slices with step 1 are supported");
    }
    const int a = sampleAxis(n, axis, x.onnx.size());
    const int64_t dim = x.onnx[size_t(a)];
    auto bound = [&](double v) {
        int64_t k = constIndex(v);
        if (k < 0) k += dim;
        return std::clamp<int64_t>(k, 0, dim);
    };
    const int64_t begin = bound(starts.values[0]), end = bound(ends.values[0]);
    if (end <= begin) fail(n, "the slice is empty");
    Layer& prod = b_.layer(x.layer);
    if (a != int(x.onnx.size()) - 1 || x.src.back() != a || prod.kind != LayerKind::Dense ||
        prod.activation() != ActKind::Linear)
        fail(n, "only slices of the last axis of a MatMul/Gemm output (a split of a packed projection) are supported");
    const int nIn = prod.as<DenseAttrs>().nIn, nOut = prod.as<DenseAttrs>().nOut, width = int(end - begin);
    std::vector<double> w(size_t(nIn) * size_t(width)), bias(static_cast<size_t>(width));
    for (int i = 0; i < nIn; ++i)
        for (int j = 0; j < width; ++j) w[size_t(i) * width + j] = prod.param("weight")[size_t(i) * nOut + size_t(begin) + j];
    for (int j = 0; j < width; ++j) bias[size_t(j)] = prod.param("bias")[size_t(begin) + j];
    const std::string in = prod.input();
    const std::string out = b_.dense(nodeName(n), in, width, std::move(w), std::move(bias));
    Shape shape = x.onnx;
    shape.back() = width;
    produced(n, Value{out, shape, x.src});
}

void OnnxReader::findGelu() {
    std::map<std::string, const onnx::NodeProto*> producer;
    std::map<std::string, std::vector<const onnx::NodeProto*>> readers;
    for (const auto& n : graph_.node()) {
        for (const auto& o : n.output()) producer[o] = &n;
        for (const auto& i : n.input()) readers[i].push_back(&n);
    }
    // The one reader of `t`, if it has exactly one.
    auto only = [&](const std::string& t) -> const onnx::NodeProto* {
        auto it = readers.find(t);
        return it != readers.end() && it->second.size() == 1 ? it->second[0] : nullptr;
    };
    // The constant operand of a two-input node whose other operand is `t`, or nullptr.
    auto constOperand = [&](const onnx::NodeProto* n, const std::string& t) -> const ConstTensor* {
        if (!n || n->input_size() != 2) return nullptr;
        const int other = n->input(0) == t ? 1 : n->input(1) == t ? 0 : -1;
        const ConstTensor* c = other >= 0 ? constant(n->input(other)) : nullptr;
        return c && c->values.size() == 1 ? c : nullptr;
    };
    auto near = [](const ConstTensor* c, double v) { return c && std::abs(c->values[0] - v) < 1e-6; };
    for (const auto& erf : graph_.node()) {
        if (erf.op_type() != "Erf" || erf.input_size() != 1) continue;
        auto p = producer.find(erf.input(0));
        if (p == producer.end()) continue;
        const onnx::NodeProto* div = p->second;
        if (div->input_size() != 2 || constant(div->input(0))) continue;
        const std::string x = div->input(0);
        const ConstTensor* c = constOperand(div, x);
        const bool scaled = (div->op_type() == "Div" && near(c, std::sqrt(2.0))) ||
                            (div->op_type() == "Mul" && near(c, std::sqrt(0.5)));
        const onnx::NodeProto* add = only(erf.output(0));
        const onnx::NodeProto* mulX = add ? only(add->output(0)) : nullptr;
        const onnx::NodeProto* half = mulX ? only(mulX->output(0)) : nullptr;
        if (!scaled || only(div->output(0)) != &erf || !add || add->op_type() != "Add" ||
            !near(constOperand(add, erf.output(0)), 1.0) || !mulX || mulX->op_type() != "Mul" ||
            mulX->input_size() != 2 ||
            !((mulX->input(0) == x && mulX->input(1) == add->output(0)) ||
              (mulX->input(1) == x && mulX->input(0) == add->output(0))) ||
            !half || half->op_type() != "Mul" || !near(constOperand(half, mulX->output(0)), 0.5))
            continue;
        for (const onnx::NodeProto* n : {div, &erf, add, mulX}) geluInner_.insert(n->output(0));
        geluOutput_[half->output(0)] = x;
    }
}

void OnnxReader::dispatch(const onnx::NodeProto& n) {
    const std::string& op = n.op_type();
    if (op == "Identity" || op == "Dropout") {
        // Dropout is the identity at inference time; its optional mask output is unused.
        produced(n, dataInput(n));
    } else if (op == "Gemm") gemm(n);
    else if (op == "MatMul") matMul(n);
    else if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "Max" || op == "Min" || op == "Sum" ||
             op == "Mean")
        elementwise(n);
    else if (op == "Pow") square(n);
    else if (op == "ReduceSum" || op == "ReduceMean" || op == "ReduceMax") reduceLastAxis(n);
    else if (op == "Clip") clip(n);
    else if (op == "Softmax") softmax(n);
    else if (op == "LayerNormalization") layerNorm(n);
    else if (op == "BatchNormalization") batchNorm(n);
    else if (op == "Conv") conv(n);
    else if (op.find("Pool") != std::string::npos) pooling(n);
    else if (op == "Concat") concat(n);
    else if (op == "Pad") pad(n);
    else if (op == "Resize" || op == "Upsample") resize(n);
    else if (op == "Transpose") transpose(n);
    else if (op == "Slice") slice(n);
    else if (op == "Flatten" || op == "Reshape" || op == "Squeeze" || op == "Unsqueeze") shapeOnly(n);
    else activation(n);   // checkOperators vetted the rest
}

Graph OnnxReader::read() {
    if (graph_.node_size() == 0) b_.fail("not an ONNX model (no graph nodes)");
    checkOperators();
    readOpset();
    readConstants();
    readInput();
    findGelu();
    for (const auto& n : graph_.node()) {
        const std::string& op = n.op_type();
        if (op == "Constant") continue;
        if (geluInner_.count(n.output(0))) continue;
        if (auto g = geluOutput_.find(n.output(0)); g != geluOutput_.end()) {
            bool unbatched = unbatched_.count(g->second) != 0;
            const Value& x = value(n, g->second);
            produced(n, Value{b_.activation(nodeName(n), x.layer, ActKind::GELU), x.onnx, x.src});
            if (unbatched) unbatched_.insert(n.output(0));
            continue;
        }
        if (op == "Erf") fail(n, "Erf is only supported as part of the exact GELU, x * (1 + erf(x / sqrt 2)) / 2");
        if (isQonnxQuantizer(n)) {
            if (op == "MultiThreshold") multiThreshold(n);
            else if (op == "Trunc") qonnxTrunc(n);
            else qonnxQuant(n);
            continue;
        }
        if (op == "Identity" && constant(n.input(0))) continue;   // folded in readConstants
        if (op != "Shape" && readsUnbatched(n)) {
            unbatchedNode(n);
            continue;
        }
        if (recurrentNode(n)) continue;
        bool readsSequence = false;
        for (const auto& in : n.input()) readsSequence = readsSequence || seq_.count(in);
        if (readsSequence) unbatchedNode(n);
        else dispatch(n);
    }
    if (graph_.output_size() != 1) b_.fail("only single-output models are supported");
    auto it = values_.find(graph_.output(0).name());
    if (it == values_.end()) b_.fail("the model output '" + graph_.output(0).name() + "' is not computed by any node");
    // The output leaves in ONNX order, as the training framework would give it.
    onnx::NodeProto outNode;
    outNode.set_name("output");
    const std::string out = plain(outNode, it->second);
    return b_.finish(out);
}

}  // namespace

Graph loadOnnx(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw Error(path + ": cannot open file");
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (f.bad()) throw Error(path + ": read error");
    if (bytes.empty()) throw Error(path + ": file is empty, not an ONNX model");
    onnx::ModelProto model;
    if (!model.ParseFromString(bytes))
        throw Error(path + ": not a valid ONNX model (protobuf parse failed; truncated or corrupt file?)");
    if (!model.has_graph()) throw Error(path + ": not an ONNX model (no graph)");
    lowerChannelsLastNodes(model, path);   // QONNX's channels-last domain as standard ONNX
    return OnnxReader(model, path).read();
}

}  // namespace tachyon
