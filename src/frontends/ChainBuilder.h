// Builds a single-chain Graph layer by layer for the frontends: each new layer reads the
// previous one. It tracks the current per-sample shape, folds BatchNorm statistics into
// scale/shift, keeps names unique, and names the source file in every error.
#pragma once

#include "ir/Graph.h"

#include <string>
#include <vector>

namespace tachyon {

class ChainBuilder {
public:
    ChainBuilder(const std::string& modelName, const std::string& sourceFile);

    void input(const std::string& name, const std::vector<int>& shape);
    // weight: row-major [nIn][nOut]; bias: [nOut] or empty (zeros).
    Layer& dense(const std::string& name, int nOut, std::vector<double> weight,
                 std::vector<double> bias);
    // Inference-form BatchNorm: scale = gamma / sqrt(var + eps), shift = beta - mean * scale.
    // All four vectors have one entry per element of the current shape.
    Layer& batchNorm(const std::string& name, const std::vector<double>& gamma,
                     const std::vector<double>& beta, const std::vector<double>& mean,
                     const std::vector<double>& var, double epsilon);
    Layer& activation(const std::string& name, ActKind kind);
    Layer& softmax(const std::string& name);
    // A Reshape layer when the new shape is more than the current one with size-1
    // dimensions added or removed; otherwise nothing is added (the data order is the same).
    void reshape(const std::string& name, const std::vector<int>& shape);

    bool empty() const { return graph_.layers.empty(); }
    const std::string& last() const;
    const std::vector<int>& shape() const { return shape_; }
    int size() const;
    Layer& lastLayer();

    // Verifies the graph and hands it over.
    Graph finish();

    [[noreturn]] void fail(const std::string& what) const;

private:
    Layer& append(const std::string& name, LayerKind kind, std::vector<int> shape);

    Graph graph_;
    std::vector<int> shape_;   // current per-sample shape (may differ from the last
                               // layer's shape by size-1 dimensions)
};

// "a x b x c" for messages.
std::string shapeString(const std::vector<int>& shape);

}  // namespace tachyon
