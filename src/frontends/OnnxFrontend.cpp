// ONNX frontend: walks the (topologically sorted) node list of a dense-family model and
// maps each node onto the layer chain. Weights come from initializers and Constant nodes.
// Shape-only nodes (Flatten/Reshape/Squeeze/Unsqueeze) and no-ops (Identity/Dropout)
// become aliases of their input tensor unless they really reorder dimensions.
#include "frontends/ChainBuilder.h"
#include "frontends/Frontend.h"
#include "util/Error.h"

#include <onnx/onnx-ml.pb.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
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

const std::set<std::string> kSupportedOps = {
    "Constant", "Identity", "Dropout", "Gemm", "MatMul", "Add", "Relu", "LeakyRelu",
    "Sigmoid", "Tanh", "HardSigmoid", "Clip", "Softmax", "BatchNormalization",
    "Flatten", "Reshape", "Squeeze", "Unsqueeze"};

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

class OnnxReader {
public:
    OnnxReader(const onnx::ModelProto& model, const std::string& path)
        : model_(model), graph_(model.graph()), path_(path),
          chain_(std::filesystem::path(path).stem().string(), path) {}

    Graph read();

private:
    [[noreturn]] void fail(const onnx::NodeProto& n, const std::string& why) const {
        chain_.fail("node '" + nodeName(n) + "' (" + n.op_type() + "): " + why);
    }
    static std::string nodeName(const onnx::NodeProto& n) {
        return !n.name().empty() ? n.name() : (n.output_size() ? n.output(0) : n.op_type());
    }

    void checkOperators() const;
    void readOpset();
    void readConstants();
    ConstTensor toConst(const onnx::TensorProto& t, const std::string& what) const;
    void readInput();

    const ConstTensor* constant(const std::string& name) const {
        auto it = consts_.find(name);
        return it == consts_.end() ? nullptr : &it->second;
    }
    const ConstTensor& requireConst(const onnx::NodeProto& n, int i, const std::string& role) const;
    // The node's (single) data input, which must be the end of the chain so far.
    const std::string& dataInput(const onnx::NodeProto& n) const;
    const std::vector<int>& shapeOf(const std::string& tensor) const { return shapes_.at(tensor); }

    // After a node that added a layer (or none, for aliases): its output is the chain end.
    void produced(const onnx::NodeProto& n, std::vector<int> shape) {
        if (n.output_size() == 0) fail(n, "has no output");
        chainEnd_ = n.output(0);
        shapes_[chainEnd_] = std::move(shape);
    }

    int64_t intAttr(const onnx::NodeProto& n, const std::string& name, int64_t dflt) const;
    double floatAttr(const onnx::NodeProto& n, const std::string& name, double dflt) const;
    std::optional<std::vector<int64_t>> intsAttr(const onnx::NodeProto& n, const std::string& name) const;
    // Axes from the attribute (older opsets) or the second input (opset 13+).
    std::optional<std::vector<int64_t>> axes(const onnx::NodeProto& n) const;

    void gemm(const onnx::NodeProto& n);
    void matMul(const onnx::NodeProto& n);
    void add(const onnx::NodeProto& n);
    void batchNorm(const onnx::NodeProto& n);
    void clip(const onnx::NodeProto& n);
    void softmax(const onnx::NodeProto& n);
    void shapeOnly(const onnx::NodeProto& n);

    const onnx::ModelProto& model_;
    const onnx::GraphProto& graph_;
    std::string path_;
    ChainBuilder chain_;
    int64_t opset_ = 1;
    std::map<std::string, ConstTensor> consts_;
    std::map<std::string, std::vector<int>> shapes_;   // per-sample shape of chain tensors
    std::map<std::string, int> uses_;                  // how many nodes read each tensor
    std::string chainEnd_;                             // tensor at the end of the chain
    bool denseAwaitsBias_ = false;                     // last layer is a MatMul: an Add is its bias
};

void OnnxReader::checkOperators() const {
    // List every unsupported operator at once, so e.g. a CNN is reported as "Conv" even
    // when a Transpose comes first.
    std::vector<std::string> bad;
    std::set<std::string> seen;
    for (const auto& n : graph_.node()) {
        const bool standardDomain = n.domain().empty() || n.domain() == "ai.onnx";
        if ((standardDomain && kSupportedOps.count(n.op_type())) || !seen.insert(n.op_type()).second)
            continue;
        bad.push_back("node '" + nodeName(n) + "' has op_type '" + n.op_type() + "'" +
                      (standardDomain ? "" : " (domain '" + n.domain() + "')"));
    }
    if (bad.empty()) return;
    std::string msg = "unsupported operator" + std::string(bad.size() > 1 ? "s" : "") + ": ";
    for (size_t i = 0; i < bad.size(); ++i) msg += (i ? "; " : "") + bad[i];
    chain_.fail(msg + ". Tachyon reads dense-family ONNX models (Gemm/MatMul, BatchNormalization, "
                      "Relu/LeakyRelu/Sigmoid/Tanh/HardSigmoid/Clip, Softmax, reshapes)");
}

void OnnxReader::readOpset() {
    for (const auto& o : model_.opset_import())
        if (o.domain().empty() || o.domain() == "ai.onnx") opset_ = o.version();
}

ConstTensor OnnxReader::toConst(const onnx::TensorProto& t, const std::string& what) const {
    ConstTensor c;
    int64_t count = 1;
    for (int64_t d : t.dims()) {
        if (d < 0 || d > (1LL << 31)) chain_.fail(what + " has an invalid dimension");
        c.dims.push_back(d);
        count *= d;
        if (count > (1LL << 31)) chain_.fail(what + " is too large");
    }
    if (t.data_location() == onnx::TensorProto::EXTERNAL)
        chain_.fail(what + " keeps its data in an external file, which is not supported");
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
        chain_.fail(what + " has " + std::to_string(c.values.size()) + " values but its dimensions say " +
                    std::to_string(count));
    return c;
}

void OnnxReader::readConstants() {
    for (const auto& t : graph_.initializer())
        consts_[t.name()] = toConst(t, "initializer '" + t.name() + "'");
    for (const auto& n : graph_.node()) {
        for (const auto& in : n.input()) ++uses_[in];
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
        if (input) chain_.fail("the model has several inputs ('" + input->name() + "', '" + in.name() +
                               "'); only single-input models are supported");
        input = &in;
    }
    if (!input) chain_.fail("the model has no input");
    const auto& type = input->type();
    if (!type.has_tensor_type() || !type.tensor_type().has_shape())
        chain_.fail("input '" + input->name() + "' has no tensor shape");
    std::vector<int> dims;
    for (const auto& d : type.tensor_type().shape().dim())
        dims.push_back(d.has_dim_value() ? (int)std::min<int64_t>(d.dim_value(), 1 << 30) : -1);
    // The first dimension is the batch; a rank-1 input is taken as one sample.
    std::vector<int> perSample = dims.size() >= 2 ? std::vector<int>(dims.begin() + 1, dims.end()) : dims;
    chain_.input(input->name(), perSample);
    chainEnd_ = input->name();
    shapes_[chainEnd_] = perSample;
}

const ConstTensor& OnnxReader::requireConst(const onnx::NodeProto& n, int i, const std::string& role) const {
    if (i >= n.input_size() || n.input(i).empty()) fail(n, "missing " + role + " input");
    const ConstTensor* c = constant(n.input(i));
    if (!c) fail(n, role + " '" + n.input(i) + "' must be a constant (initializer)");
    if (!c->numeric)
        fail(n, role + " '" + n.input(i) + "' has an unsupported data type");
    return *c;
}

const std::string& OnnxReader::dataInput(const onnx::NodeProto& n) const {
    const std::string* data = nullptr;
    for (const auto& in : n.input()) {
        if (in.empty() || constant(in)) continue;
        if (data) fail(n, "reads two non-constant tensors; only single-chain models are supported");
        data = &in;
    }
    if (!data) fail(n, "has no non-constant input");
    if (*data != chainEnd_)
        fail(n, "reads '" + *data + "', which is not the output of the previous layer ('" + chainEnd_ +
                "'); only single-chain models are supported");
    if (uses_.at(*data) > 1)
        fail(n, "tensor '" + *data + "' feeds several nodes; only single-chain models are supported");
    return *data;
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

void OnnxReader::gemm(const onnx::NodeProto& n) {
    dataInput(n);
    if (intAttr(n, "transA", 0) != 0) fail(n, "transA=1 is not supported");
    const bool transB = intAttr(n, "transB", 0) != 0;
    const double alpha = floatAttr(n, "alpha", 1.0), beta = floatAttr(n, "beta", 1.0);
    const ConstTensor& b = requireConst(n, 1, "weight (B)");
    if (b.dims.size() != 2) fail(n, "weight (B) must be 2-D");
    const int nIn = transB ? b.dims[1] : b.dims[0];
    const int nOut = transB ? b.dims[0] : b.dims[1];
    if (nIn != chain_.size())
        fail(n, "weight (B) expects " + std::to_string(nIn) + " inputs but the input has " +
                std::to_string(chain_.size()) + " values");
    std::vector<double> w((size_t)nIn * nOut);
    for (int i = 0; i < nIn; ++i)
        for (int o = 0; o < nOut; ++o)
            w[(size_t)i * nOut + o] = alpha * b.values[transB ? (size_t)o * nIn + i : (size_t)i * nOut + o];
    std::vector<double> bias(nOut, 0.0);
    if (n.input_size() > 2 && !n.input(2).empty()) {
        const ConstTensor& c = requireConst(n, 2, "bias (C)");
        if (c.values.size() != 1 && (int)c.values.size() != nOut)
            fail(n, "bias (C) has " + std::to_string(c.values.size()) + " values, expected " + std::to_string(nOut));
        for (int o = 0; o < nOut; ++o) bias[o] = beta * c.values[c.values.size() == 1 ? 0 : o];
    }
    chain_.dense(nodeName(n), nOut, std::move(w), std::move(bias));
    produced(n, {nOut});
}

void OnnxReader::matMul(const onnx::NodeProto& n) {
    if (n.input_size() != 2) fail(n, "expected two inputs");
    dataInput(n);
    if (n.input(0) != chainEnd_) fail(n, "only data x constant weight is supported");
    const ConstTensor& b = requireConst(n, 1, "weight");
    if (b.dims.size() != 2) fail(n, "weight must be 2-D");
    if (b.dims[0] != chain_.size())
        fail(n, "weight expects " + std::to_string(b.dims[0]) + " inputs but the input has " +
                std::to_string(chain_.size()) + " values");
    const int nOut = b.dims[1];
    chain_.dense(nodeName(n), nOut, b.values, {});
    produced(n, {nOut});
    denseAwaitsBias_ = true;   // a following Add becomes this layer's bias
}

void OnnxReader::add(const onnx::NodeProto& n) {
    dataInput(n);
    if (!denseAwaitsBias_)
        fail(n, "Add is only supported as the bias of a preceding MatMul");
    const int other = n.input(0) == chainEnd_ ? 1 : 0;
    const ConstTensor& c = requireConst(n, other, "bias");
    Layer& dense = chain_.lastLayer();
    if (c.values.size() != 1 && (int)c.values.size() != dense.nOut)
        fail(n, "bias has " + std::to_string(c.values.size()) + " values, expected " + std::to_string(dense.nOut));
    for (int o = 0; o < dense.nOut; ++o) dense.bias[o] += c.values[c.values.size() == 1 ? 0 : o];
    produced(n, chain_.shape());
}

void OnnxReader::batchNorm(const onnx::NodeProto& n) {
    dataInput(n);
    const std::vector<int>& shape = shapeOf(chainEnd_);
    if (shape.empty()) fail(n, "input has no channel dimension");
    // ONNX normalises over axis 1 (the first per-sample axis); the rest share the channel's values.
    const int channels = shape[0];
    const int inner = chain_.size() / channels;
    std::vector<std::vector<double>> p;
    const char* roles[] = {"scale", "B", "mean", "var"};
    for (int i = 0; i < 4; ++i) {
        const ConstTensor& c = requireConst(n, i + 1, roles[i]);
        if ((int)c.values.size() != channels)
            fail(n, std::string(roles[i]) + " has " + std::to_string(c.values.size()) + " values, expected " +
                    std::to_string(channels));
        std::vector<double> perElement;
        for (int ch = 0; ch < channels; ++ch) perElement.insert(perElement.end(), inner, c.values[ch]);
        p.push_back(std::move(perElement));
    }
    chain_.batchNorm(nodeName(n), p[0], p[1], p[2], p[3], floatAttr(n, "epsilon", 1e-5));
    produced(n, shape);
}

void OnnxReader::clip(const onnx::NodeProto& n) {
    dataInput(n);
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
    chain_.activation(nodeName(n), kind);
    produced(n, shapeOf(chainEnd_));
}

void OnnxReader::softmax(const onnx::NodeProto& n) {
    dataInput(n);
    const std::vector<int>& shape = shapeOf(chainEnd_);
    const int rank = shape.size() + 1;   // with the batch axis
    int64_t axis = intAttr(n, "axis", opset_ >= 13 ? -1 : 1);
    if (axis < 0) axis += rank;
    // Before opset 13, Softmax flattens everything from `axis` on, so axis 1 means "the
    // whole sample"; from 13 on it is one axis, which must be the last one.
    int nonTrivial = 0;
    for (int d : shape) nonTrivial += d != 1;
    const bool wholeSample = (opset_ < 13 && axis == 1) || (axis == rank - 1 && nonTrivial <= 1) ||
                             (shape.size() == 1 && axis == 1);
    if (!wholeSample) fail(n, "only softmax over the last axis of a 1-D sample is supported (axis " +
                              std::to_string(axis) + ", shape " + shapeString(shape) + ")");
    chain_.softmax(nodeName(n));
    produced(n, shape);
}

void OnnxReader::shapeOnly(const onnx::NodeProto& n) {
    const std::string& in = dataInput(n);
    std::vector<int> shape = shapeOf(in);
    const std::string& op = n.op_type();
    const int size = chain_.size();
    if (op == "Flatten") {
        const int64_t axis = intAttr(n, "axis", 1);
        // axis 0 also flattens the batch, which exporters use with batch size 1.
        if (axis != 0 && axis != 1) fail(n, "only Flatten with axis 0 or 1 is supported");
        shape = {size};
    } else if (op == "Reshape") {
        const ConstTensor& target = requireConst(n, 1, "shape");
        if (target.values.empty()) fail(n, "empty target shape");
        std::vector<int> out;
        int unknown = -1;
        for (size_t i = 1; i < target.values.size(); ++i) {   // [0] is the batch
            int64_t d = (int64_t)target.values[i];
            if (d == 0) {
                if (i - 1 >= shape.size()) fail(n, "shape copies a dimension that does not exist");
                d = shape[i - 1];
            }
            if (d == -1) {
                if (unknown >= 0) fail(n, "shape has more than one -1");
                unknown = out.size();
                d = 1;
            }
            if (d <= 0 || d > size) fail(n, "invalid target dimension " + std::to_string(d));
            out.push_back((int)d);
        }
        int known = 1;
        for (int d : out) known *= d;
        if (unknown >= 0) {
            if (known == 0 || size % known) fail(n, "cannot infer the -1 dimension");
            out[unknown] = size / known;
        }
        if (out.empty()) out = {1};
        if (target.values[0] != 0 && target.values[0] != -1 && target.values[0] != 1)
            fail(n, "reshapes across the batch dimension");
        shape = out;
    } else if (op == "Squeeze") {
        auto ax = axes(n);
        std::vector<int> out;
        const int rank = shape.size() + 1;
        std::set<int64_t> drop;
        if (ax)
            for (int64_t a : *ax) {
                if (a < 0) a += rank;
                if (a <= 0 || a >= rank) fail(n, "cannot squeeze axis " + std::to_string(a));
                if (shape[a - 1] != 1) fail(n, "squeezed axis " + std::to_string(a) + " has size " + std::to_string(shape[a - 1]));
                drop.insert(a - 1);
            }
        for (size_t i = 0; i < shape.size(); ++i)
            if (ax ? !drop.count(i) : shape[i] != 1) out.push_back(shape[i]);
        if (out.empty()) out = {1};
        shape = out;
    } else {  // Unsqueeze
        auto ax = axes(n);
        if (!ax) fail(n, "missing axes");
        const int outRank = shape.size() + 1 + ax->size();
        std::vector<int64_t> sorted;
        for (int64_t a : *ax) sorted.push_back(a < 0 ? a + outRank : a);
        std::sort(sorted.begin(), sorted.end());
        std::vector<int> full = {0};   // placeholder for the batch
        full.insert(full.end(), shape.begin(), shape.end());
        for (int64_t a : sorted) {
            if (a <= 0 || a > (int64_t)full.size()) fail(n, "cannot unsqueeze at axis " + std::to_string(a));
            full.insert(full.begin() + a, 1);
        }
        shape.assign(full.begin() + 1, full.end());
    }
    chain_.reshape(nodeName(n), shape);
    produced(n, shape);
}

Graph OnnxReader::read() {
    if (graph_.node_size() == 0) chain_.fail("not an ONNX model (no graph nodes)");
    checkOperators();
    readOpset();
    readConstants();
    readInput();
    for (const auto& n : graph_.node()) {
        const std::string& op = n.op_type();
        if (op == "Constant") continue;
        if (op == "Identity" || op == "Dropout") {
            // Dropout is the identity at inference time; its optional mask output is unused.
            dataInput(n);
            produced(n, shapeOf(chainEnd_));
            continue;
        }
        const bool awaitedBias = denseAwaitsBias_;
        denseAwaitsBias_ = false;
        if (op == "Gemm") gemm(n);
        else if (op == "MatMul") matMul(n);
        else if (op == "Add") { denseAwaitsBias_ = awaitedBias; add(n); denseAwaitsBias_ = false; }
        else if (op == "Relu" || op == "Sigmoid" || op == "Tanh") {
            dataInput(n);
            chain_.activation(nodeName(n), op == "Relu" ? ActKind::ReLU : op == "Sigmoid" ? ActKind::Sigmoid : ActKind::Tanh);
            produced(n, shapeOf(chainEnd_));
        } else if (op == "LeakyRelu") {
            dataInput(n);
            chain_.activation(nodeName(n), ActKind::LeakyReLU).alpha = floatAttr(n, "alpha", 0.01);
            produced(n, shapeOf(chainEnd_));
        } else if (op == "HardSigmoid") {
            dataInput(n);
            Layer& l = chain_.activation(nodeName(n), ActKind::HardSigmoid);
            l.hardSlope = floatAttr(n, "alpha", 0.2);
            l.hardOffset = floatAttr(n, "beta", 0.5);
            produced(n, shapeOf(chainEnd_));
        } else if (op == "Clip") clip(n);
        else if (op == "Softmax") softmax(n);
        else if (op == "BatchNormalization") batchNorm(n);
        else shapeOnly(n);   // Flatten, Reshape, Squeeze, Unsqueeze (checkOperators vetted the rest)
    }
    if (graph_.output_size() != 1) chain_.fail("only single-output models are supported");
    if (graph_.output(0).name() != chainEnd_)
        chain_.fail("the model output '" + graph_.output(0).name() + "' is not the end of the layer chain ('" +
                    chainEnd_ + "')");
    return chain_.finish();
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
    return OnnxReader(model, path).read();
}

}  // namespace tachyon
