// TreeEnsemble: boosted decision trees as a layer of the graph (docs/trees.md). The
// arithmetic is the tree evaluator's (emulator/TreeEmulator.h, vectorised over rows): the
// features are the producer's result raws (an Input of InputPrecision in a plain tree
// model, any layer's output in a mixed one), the thresholds are cast to the layer's
// `threshold` type, the leaves, base scores and every adder to its `result` type.
#include "emulator/Kernel.h"
#include "emulator/TreeEmulator.h"
#include "ir/TreeEnsemble.h"

namespace tachyon {

namespace {

trees::TreeConfig typesOf(const Layer& l, const FixedType& input) {
    trees::TreeConfig c;
    c.input = input;
    c.threshold = l.type("threshold");
    c.score = l.type("result");
    return c;
}

class TreeEnsembleKernel : public Kernel {
public:
    TreeEnsembleKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c)
        : Kernel(l, std::move(ins), c), trees_(*l.as<TreeEnsembleAttrs>().ensemble, typesOf(l, ins_[0].type)) {}

    void fixed(const std::vector<const double*>& in, double* out, size_t rows, LayerStats& st) const override {
        const size_t nIn = size_t(trees_.nFeatures()), nOut = size_t(trees_.nClasses());
        static thread_local std::vector<int64_t> xRaw, yRaw;
        xRaw.resize(rows * nIn);
        yRaw.resize(rows * nOut);
        for (size_t i = 0; i < rows * nIn; ++i) xRaw[i] = int64_t(in[0][i]);
        uint64_t overflows = 0;
        trees_.runFixedRaw(xRaw.data(), rows, yRaw.data(), 1, &overflows);
        for (size_t i = 0; i < rows * nOut; ++i) out[i] = double(yRaw[i]);
        st.resultOverflows += overflows;
    }

    void real(const std::vector<const double*>& in, double* out, size_t rows) const override {
        trees_.runFloat(in[0], rows, out);
    }

private:
    trees::TreeEmulator trees_;
};

}  // namespace

std::unique_ptr<Kernel> makeTreeEnsembleKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c) {
    return std::make_unique<TreeEnsembleKernel>(l, std::move(ins), c);
}

}  // namespace tachyon
