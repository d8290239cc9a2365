#include "frontends/ChainBuilder.h"

#include "util/Error.h"

#include <cctype>
#include <cmath>

namespace tachyon {

namespace {

std::vector<int> withoutOnes(const std::vector<int>& shape) {
    std::vector<int> out;
    for (int d : shape)
        if (d != 1) out.push_back(d);
    return out;
}

int product(const std::vector<int>& shape) {
    long long n = 1;
    for (int d : shape) n *= d;
    return n > (1LL << 30) ? -1 : (int)n;
}

}  // namespace

std::string shapeString(const std::vector<int>& shape) {
    std::string s;
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? " x " : "") + std::to_string(shape[i]);
    return s.empty() ? "scalar" : s;
}

ChainBuilder::ChainBuilder(const std::string& modelName, const std::string& sourceFile) {
    graph_.name = modelName;
    graph_.sourceFile = sourceFile;
}

void ChainBuilder::fail(const std::string& what) const {
    throw Error(graph_.sourceFile + ": " + what);
}

const std::string& ChainBuilder::last() const {
    if (graph_.layers.empty()) fail("the model has no input layer");
    return graph_.layers.back().name;
}

Layer& ChainBuilder::lastLayer() {
    if (graph_.layers.empty()) fail("the model has no input layer");
    return graph_.layers.back();
}

int ChainBuilder::size() const { return product(shape_); }

Layer& ChainBuilder::append(const std::string& name, LayerKind kind, std::vector<int> shape) {
    if (graph_.layers.empty() && kind != LayerKind::Input)
        fail("layer '" + name + "' comes before any input");
    // Layer names become C++ and Verilog identifiers and file names downstream, so they are
    // made identifier-safe here, once: "/fc1/Gemm" (a PyTorch export) becomes "fc1_Gemm",
    // an unnamed node "29" becomes "layer_29".
    std::string safe;
    for (char ch : name) safe += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
    while (!safe.empty() && safe.front() == '_') safe.erase(safe.begin());
    while (!safe.empty() && safe.back() == '_') safe.pop_back();
    if (safe.empty() || std::isdigit(static_cast<unsigned char>(safe.front()))) safe = "layer_" + safe;
    // Names must be unique; a frontend-made name (e.g. "<dense>_relu") may clash.
    std::string unique = safe;
    for (int k = 2; graph_.find(unique); ++k) unique = safe + "_" + std::to_string(k);
    Layer l;
    l.name = unique;
    l.kind = kind;
    if (!graph_.layers.empty()) l.input = graph_.layers.back().name;
    // Vectors with extra size-1 axes (e.g. PyTorch's Unsqueeze around BatchNorm1d) are
    // stored as plain vectors; only a real Reshape keeps a multi-dimensional shape.
    l.shape = (kind != LayerKind::Reshape && withoutOnes(shape).size() <= 1) ? std::vector<int>{product(shape)} : shape;
    shape_ = std::move(shape);
    graph_.layers.push_back(std::move(l));
    return graph_.layers.back();
}

void ChainBuilder::input(const std::string& name, const std::vector<int>& shape) {
    if (!graph_.layers.empty()) fail("input '" + name + "': only one model input is supported");
    for (int d : shape)
        if (d <= 0) fail("input '" + name + "' has no fixed per-sample shape (" + shapeString(shape) + ")");
    if (shape.empty() || product(shape) <= 0)
        fail("input '" + name + "' has an invalid shape (" + shapeString(shape) + ")");
    append(name, LayerKind::Input, shape);
}

Layer& ChainBuilder::dense(const std::string& name, int nOut, std::vector<double> weight,
                           std::vector<double> bias) {
    const int nIn = size();
    if (withoutOnes(shape_).size() > 1)
        fail("layer '" + name + "': a dense layer on a multi-dimensional input (" +
             shapeString(shape_) + ") is not supported; flatten it first");
    if (nOut <= 0) fail("layer '" + name + "': invalid number of outputs");
    if ((long long)weight.size() != (long long)nIn * nOut)
        fail("layer '" + name + "': weight has " + std::to_string(weight.size()) + " values, expected " +
             std::to_string(nIn) + " x " + std::to_string(nOut) + " (the input has " +
             std::to_string(nIn) + " values)");
    if (bias.empty()) bias.assign(nOut, 0.0);
    if ((int)bias.size() != nOut)
        fail("layer '" + name + "': bias has " + std::to_string(bias.size()) + " values, expected " +
             std::to_string(nOut));
    Layer& l = append(name, LayerKind::Dense, {nOut});
    l.nIn = nIn;
    l.nOut = nOut;
    l.weight = std::move(weight);
    l.bias = std::move(bias);
    return l;
}

Layer& ChainBuilder::batchNorm(const std::string& name, const std::vector<double>& gamma,
                               const std::vector<double>& beta, const std::vector<double>& mean,
                               const std::vector<double>& var, double epsilon) {
    const size_t n = size();
    if (gamma.size() != n || beta.size() != n || mean.size() != n || var.size() != n)
        fail("layer '" + name + "': batch-norm parameters do not match the input size " +
             std::to_string(n));
    std::vector<double> scale(n), shift(n);
    for (size_t i = 0; i < n; ++i) {
        if (var[i] + epsilon <= 0)
            fail("layer '" + name + "': non-positive variance + epsilon at channel " + std::to_string(i));
        scale[i] = gamma[i] / std::sqrt(var[i] + epsilon);
        shift[i] = beta[i] - mean[i] * scale[i];
    }
    Layer& l = append(name, LayerKind::BatchNorm, shape_);
    l.scale = std::move(scale);
    l.shift = std::move(shift);
    return l;
}

Layer& ChainBuilder::activation(const std::string& name, ActKind kind) {
    Layer& l = append(name, LayerKind::Activation, shape_);
    l.activation = kind;
    return l;
}

Layer& ChainBuilder::softmax(const std::string& name) {
    if (withoutOnes(shape_).size() > 1)
        fail("layer '" + name + "': softmax over a multi-dimensional tensor (" + shapeString(shape_) +
             ") is not supported");
    return append(name, LayerKind::Softmax, shape_);
}

void ChainBuilder::reshape(const std::string& name, const std::vector<int>& shape) {
    if (product(shape) != size())
        fail("layer '" + name + "': cannot reshape " + shapeString(shape_) + " to " + shapeString(shape));
    if (withoutOnes(shape) == withoutOnes(shape_)) {
        shape_ = shape;   // same data order: nothing to compute
        return;
    }
    append(name, LayerKind::Reshape, shape);
}

Graph ChainBuilder::finish() {
    if (graph_.layers.size() < 2) fail("the model has no layers after its input");
    try {
        verify(graph_);
    } catch (const Error& e) {
        fail(e.what());
    }
    return std::move(graph_);
}

}  // namespace tachyon
