// Builds a Graph layer by layer for the frontends. Every layer names the layers it reads;
// its output shape is inferred (ir/ShapeInference.cpp), names are made identifier-safe and
// unique, BatchNorm statistics are folded into scale/shift, and every error names the
// source file. `finish` puts the model output last (passes/EliminateDeadLayers.cpp then drops
// the layers it does not depend on).
#pragma once

#include "ir/Graph.h"

#include <map>
#include <string>
#include <vector>

namespace tachyon {

class GraphBuilder {
public:
    GraphBuilder(const std::string& modelName, const std::string& sourceFile);

    // Each call returns the name the new layer got (or, for no-op reshapes, the name of
    // the layer whose output already has the requested data order).
    std::string input(const std::string& name, const Shape& shape);
    std::string add(const std::string& name, LayerKind kind, const std::vector<std::string>& inputs, Attrs attrs,
                     std::map<std::string, std::vector<double>> params = {});
    // weight: row-major [nIn][nOut] over the input's last axis; bias: [nOut] or empty (zeros).
    std::string dense(const std::string& name, const std::string& in, int nOut, std::vector<double> weight,
                      std::vector<double> bias);
    // Inference-form BatchNorm over the last axis: scale = gamma / sqrt(var + eps),
    // shift = beta - mean * scale. The vectors have one entry per channel.
    std::string batchNorm(const std::string& name, const std::string& in, const std::vector<double>& gamma,
                          const std::vector<double>& beta, const std::vector<double>& mean,
                          const std::vector<double>& var, double epsilon);
    std::string activation(const std::string& name, const std::string& in, ActAttrs act);
    std::string activation(const std::string& name, const std::string& in, ActKind kind) {
        ActAttrs a;
        a.kind = kind;
        return activation(name, in, a);
    }
    std::string softmax(const std::string& name, const std::string& in);
    // A Reshape layer, unless the data order and the shape stay as they are. Vector-like
    // shapes (at most one axis longer than 1, e.g. PyTorch's Unsqueeze around BatchNorm1d)
    // are stored as plain vectors, so reshaping between them adds nothing.
    std::string reshape(const std::string& name, const std::string& in, const Shape& shape);
    // The same data under exactly this shape (a Reshape layer unless it already has it).
    std::string view(const std::string& name, const std::string& in, const Shape& shape);
    std::string transpose(const std::string& name, const std::string& in, const std::vector<int>& perm);

    bool empty() const { return graph_.layers.empty(); }
    const Shape& shape(const std::string& layer) const;
    int size(const std::string& layer) const;
    Layer& layer(const std::string& name);

    // Verifies the graph, puts the output last, and hands it over.
    Graph finish(const std::string& output);

    [[noreturn]] void fail(const std::string& what) const;

private:
    Layer& append(const std::string& name, LayerKind kind, const std::vector<std::string>& inputs, Shape shape);

    Graph graph_;
};

// True when at most one axis is longer than 1.
bool isVectorLike(const Shape& s);

}  // namespace tachyon
