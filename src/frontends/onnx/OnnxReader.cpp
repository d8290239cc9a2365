// The ONNX reader's core (OnnxReader.h): the protobuf, constants, opset, the model input,
// tensor layouts, attributes, and the walk that hands every node to its op table handler.
#include "frontends/onnx/OnnxReader.h"
#include "frontends/Frontend.h"
#include "frontends/onnx/ChannelsLast.h"
#include "util/Error.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

namespace tachyon::onnxfe {

namespace {

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

}  // namespace

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

bool sameOrder(const Shape& onnx, const std::vector<int>& src, const std::vector<int>& want) {
    auto significant = [&](const std::vector<int>& order) {
        std::vector<int> out;
        for (int a : order)
            if (onnx[size_t(a)] != 1) out.push_back(a);
        return out;
    };
    return significant(src) == significant(want);
}

int64_t constIndex(double v) { return v != v ? 0 : int64_t(std::clamp(v, -1e15, 1e15)); }

const OnnxOp* OnnxReader::findOp(const onnx::NodeProto& n) {
    static const std::set<std::string> kQonnxDomains = {"qonnx.custom_op.general", "onnx.brevitas",
                                                        "finn.custom_op.general"};
    const bool standardDomain = n.domain().empty() || n.domain() == "ai.onnx";
    if (!standardDomain && !kQonnxDomains.count(n.domain())) return nullptr;
    const OpDomain domain = standardDomain ? OpDomain::Standard : OpDomain::Qonnx;
    for (const OnnxOp& op : opTable())
        if (op.domain == domain && n.op_type() == op.opType) return &op;
    return nullptr;
}

void OnnxReader::checkOperators() const {
    // List every unsupported operator at once.
    std::vector<std::string> bad;
    std::set<std::string> seen;
    for (const auto& n : graph_.node()) {
        if (findOp(n) || !seen.insert(n.op_type()).second) continue;
        const bool standardDomain = n.domain().empty() || n.domain() == "ai.onnx";
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
    for (const auto& n : graph_.node()) {
        const int need = findOp(n)->minInputs;   // checkOperators vetted every op
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

void OnnxReader::dispatch(const onnx::NodeProto& n) {
    const OnnxOp* op = findOp(n);
    if (!op || !op->handle) fail(n, "no handler for op_type '" + n.op_type() + "'");   // checkOperators vetted it
    (this->*op->handle)(n);
}

void OnnxReader::passThrough(const onnx::NodeProto& n) { produced(n, dataInput(n)); }

void OnnxReader::erfOutsideGelu(const onnx::NodeProto& n) {
    fail(n, "Erf is only supported as part of the exact GELU, x * (1 + erf(x / sqrt 2)) / 2");
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
        if (op == "Erf") erfOutsideGelu(n);
        if (findOp(n)->domain == OpDomain::Qonnx) {
            dispatch(n);
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

}  // namespace tachyon::onnxfe

namespace tachyon {

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
    return onnxfe::OnnxReader(model, path).read();
}

}  // namespace tachyon
