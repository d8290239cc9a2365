#include "frontends/GraphBuilder.h"

#include "util/Error.h"

#include <cctype>
#include <cmath>
#include <set>

namespace tachyon {

namespace {

long long product(const Shape& shape) {
    long long n = 1;
    for (int d : shape) {
        n *= d;
        if (n > (1LL << 30)) return -1;
    }
    return n;
}

// Layer names become C++ and Verilog identifiers and file names downstream, so they are
// made identifier-safe here, once: "/fc1/Gemm" (a PyTorch export) becomes "fc1_Gemm", an
// unnamed node "29" becomes "layer_29".
std::string safeName(const std::string& name) {
    std::string safe;
    for (char ch : name) safe += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
    while (!safe.empty() && safe.front() == '_') safe.erase(safe.begin());
    while (!safe.empty() && safe.back() == '_') safe.pop_back();
    if (safe.empty() || std::isdigit(static_cast<unsigned char>(safe.front()))) safe = "layer_" + safe;
    return safe;
}

}  // namespace

bool isVectorLike(const Shape& s) {
    int longer = 0;
    for (int d : s) longer += d != 1;
    return longer <= 1;
}

GraphBuilder::GraphBuilder(const std::string& modelName, const std::string& sourceFile) {
    graph_.name = modelName;
    graph_.sourceFile = sourceFile;
}

void GraphBuilder::fail(const std::string& what) const { throw Error(graph_.sourceFile + ": " + what); }

Layer& GraphBuilder::layer(const std::string& name) {
    Layer* l = graph_.find(name);
    if (!l) fail("internal: no layer '" + name + "'");
    return *l;
}

const Shape& GraphBuilder::shape(const std::string& name) const {
    const Layer* l = graph_.find(name);
    if (!l) fail("no layer '" + name + "'");
    return l->shape;
}

int GraphBuilder::size(const std::string& name) const { return int(product(shape(name))); }

Layer& GraphBuilder::append(const std::string& name, LayerKind kind, const std::vector<std::string>& inputs,
                            Shape shape) {
    if (graph_.layers.empty() && kind != LayerKind::Input) fail("layer '" + name + "' comes before any input");
    const std::string safe = safeName(name);
    // Names must be unique; a frontend-made name (e.g. "<dense>_relu") may clash.
    std::string unique = safe;
    for (int k = 2; graph_.find(unique); ++k) unique = safe + "_" + std::to_string(k);
    Layer l;
    l.name = unique;
    l.kind = kind;
    l.inputs = inputs;
    l.shape = std::move(shape);
    graph_.layers.push_back(std::move(l));
    return graph_.layers.back();
}

std::string GraphBuilder::input(const std::string& name, const Shape& shape) {
    // Several inputs are allowed as long as they come first (the model input row is their
    // concatenation in this order; see Graph::inputs).
    if (!graph_.layers.empty() && graph_.layers.back().kind != LayerKind::Input)
        fail("input '" + name + "': model inputs must be declared before every other layer");
    for (int d : shape)
        if (d <= 0) fail("input '" + name + "' has no fixed per-sample shape (" + shapeString(shape) + ")");
    if (shape.empty() || product(shape) <= 0) fail("input '" + name + "' has an invalid shape (" + shapeString(shape) + ")");
    return append(name, LayerKind::Input, {}, isVectorLike(shape) ? Shape{int(product(shape))} : shape).name;
}

std::string GraphBuilder::add(const std::string& name, LayerKind kind, const std::vector<std::string>& inputs,
                              Attrs attrs, std::map<std::string, std::vector<double>> params) {
    std::vector<Shape> shapes;
    for (const auto& in : inputs) {
        if (!graph_.find(in)) fail("layer '" + name + "' reads unknown layer '" + in + "'");
        shapes.push_back(shape(in));
    }
    Shape out;
    try {
        out = inferShape(kind, attrs, shapes);
    } catch (const Error& e) {
        std::string ins;
        for (const Shape& s : shapes) ins += (ins.empty() ? "" : ", ") + shapeString(s);
        fail("layer '" + name + "' (" + toString(kind) + ") on input " + ins + ": " + e.what());
    }
    Layer& l = append(name, kind, inputs, std::move(out));
    l.attrs = std::move(attrs);
    l.params = std::move(params);
    return l.name;
}

std::string GraphBuilder::dense(const std::string& name, const std::string& in, int nOut, std::vector<double> weight,
                                std::vector<double> bias) {
    const Shape& s = shape(in);
    const int nIn = s.back();
    if (nOut <= 0) fail("layer '" + name + "': invalid number of outputs");
    if ((long long)weight.size() != (long long)nIn * nOut)
        fail("layer '" + name + "': weight has " + std::to_string(weight.size()) + " values, expected " +
             std::to_string(nIn) + " x " + std::to_string(nOut) + " (the input is " + shapeString(s) + ")");
    if (bias.empty()) bias.assign(size_t(nOut), 0.0);
    if ((int)bias.size() != nOut)
        fail("layer '" + name + "': bias has " + std::to_string(bias.size()) + " values, expected " + std::to_string(nOut));
    DenseAttrs a;
    a.nIn = nIn;
    a.nOut = nOut;
    return add(name, LayerKind::Dense, {in}, a, {{"weight", std::move(weight)}, {"bias", std::move(bias)}});
}

std::string GraphBuilder::batchNorm(const std::string& name, const std::string& in, const std::vector<double>& gamma,
                                    const std::vector<double>& beta, const std::vector<double>& mean,
                                    const std::vector<double>& var, double epsilon) {
    const size_t n = size_t(shape(in).back());
    if (gamma.size() != n || beta.size() != n || mean.size() != n || var.size() != n)
        fail("layer '" + name + "': batch-norm parameters do not match the " + std::to_string(n) +
             " channels of its input (" + shapeString(shape(in)) + ")");
    std::vector<double> scale(n), shift(n);
    for (size_t i = 0; i < n; ++i) {
        if (!(var[i] + epsilon > 0))
            fail("layer '" + name + "': non-positive variance + epsilon at channel " + std::to_string(i));
        scale[i] = gamma[i] / std::sqrt(var[i] + epsilon);
        shift[i] = beta[i] - mean[i] * scale[i];
    }
    return add(name, LayerKind::BatchNorm, {in}, NoAttrs{}, {{"scale", std::move(scale)}, {"shift", std::move(shift)}});
}

std::string GraphBuilder::activation(const std::string& name, const std::string& in, ActAttrs act) {
    return add(name, LayerKind::Activation, {in}, act);
}

std::string GraphBuilder::softmax(const std::string& name, const std::string& in) {
    return add(name, LayerKind::Softmax, {in}, SoftmaxAttrs{});
}

std::string GraphBuilder::reshape(const std::string& name, const std::string& in, const Shape& target) {
    const Shape& s = shape(in);
    if (product(target) != product(s))
        fail("layer '" + name + "': cannot reshape " + shapeString(s) + " to " + shapeString(target));
    const Shape stored = isVectorLike(target) ? Shape{int(product(target))} : target;
    if (stored == s) return in;   // same data order and shape: nothing to compute
    return append(name, LayerKind::Reshape, {in}, stored).name;
}

std::string GraphBuilder::view(const std::string& name, const std::string& in, const Shape& target) {
    if (shape(in) == target) return in;
    if (product(target) != product(shape(in)))
        fail("layer '" + name + "': cannot view " + shapeString(shape(in)) + " as " + shapeString(target));
    return append(name, LayerKind::Reshape, {in}, target).name;
}

std::string GraphBuilder::transpose(const std::string& name, const std::string& in, const std::vector<int>& perm) {
    bool identity = true;
    for (size_t i = 0; i < perm.size(); ++i) identity = identity && perm[i] == int(i);
    if (identity) return in;
    return add(name, LayerKind::Transpose, {in}, TransposeAttrs{perm});
}

Graph GraphBuilder::finish(const std::string& output) {
    if (graph_.layers.size() < 2) fail("the model has no layers after its input");
    // The output last, where every later stage looks for it. Layers that read the output
    // (directly or not) cannot stay before it, and are not part of the inference; other
    // layers it does not depend on (e.g. an auxiliary head) are left to the
    // eliminate_dead_layers pass.
    std::set<std::string> downstream{output};
    std::vector<Layer> kept;
    for (auto& l : graph_.layers) {
        bool readsOutput = false;
        for (const auto& in : l.inputs) readsOutput = readsOutput || downstream.count(in);
        if (readsOutput) downstream.insert(l.name);
        else if (l.name != output) kept.push_back(std::move(l));
    }
    for (auto& l : graph_.layers)
        if (l.name == output) kept.push_back(std::move(l));
    graph_.layers = std::move(kept);
    if (graph_.layers.empty() || graph_.layers.back().name != output) fail("no output layer '" + output + "'");
    if (graph_.layers.size() < 2) fail("the model has no layers after its input");
    try {
        verify(graph_);
    } catch (const Error& e) {
        fail(e.what());
    }
    return std::move(graph_);
}

}  // namespace tachyon
