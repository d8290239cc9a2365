// One emulator kernel per layer: built once from the typed layer and its lowered constants
// (lower/Lower.h: quantised weights, tables), choosing its fast paths, then run over chunks of
// rows. Each op family has its
// own folder, src/ops/<op>/Kernel.cpp; docs/semantics.md defines what each computes.
//
// Values travel between kernels as doubles: in fixed mode they hold exact raw integers
// (every raw the emulator handles is below 2^53), in float mode the real values. A chunk
// is `rows` samples, each a flat channels-last tensor of the layer's per-sample shape.
#pragma once

#include "emulator/Emulator.h"
#include "emulator/Tables.h"
#include "ir/Graph.h"
#include "lower/Lower.h"   // LoweredInput, LayerConstants: what a kernel reads and computes with
#include "passes/BinaryMac.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tachyon {

class Kernel {
public:
    // `c`: the layer's lowered constants, owned by the caller and outliving the kernel.
    Kernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c)
        : layer_(l), ins_(std::move(ins)), consts_(c) {}
    virtual ~Kernel() = default;

    // in[k]: rows x (size of input k), out: rows x layer.outSize().
    virtual void fixed(const std::vector<const double*>& in, double* out, size_t rows, LayerStats& st) const = 0;
    virtual void real(const std::vector<const double*>& in, double* out, size_t rows) const = 0;

    // Elementwise kernels (BatchNorm, Quantize: output element e of a sample depends only on
    // input element e and on e modulo elementPeriod()): the fixed-point map of one element,
    // the arithmetic fixed() runs, with whether its result cast overflowed. A binary Dense or
    // Conv folds such followers into per-output tables (foldFollowers). false: not elementwise.
    virtual bool fixedElement(int64_t /*x*/, size_t /*e*/, int64_t& /*y*/, bool& /*overflow*/) const { return false; }
    virtual size_t elementPeriod() const { return 0; }
    // Threshold Quantize: its number of levels (the output is the level indexed by how many of
    // the channel's thresholds the input reaches, a monotone count); 0 for other kernels.
    virtual int thresholdLevels() const { return 0; }

    // Execution strategy, not semantics: folds `followers` (consecutive elementwise layers,
    // each the only reader of the one before, the first reading this one) into this kernel's
    // fixed-point run; true if it did. fixedFolded then computes the whole group: `out` gets the
    // last follower's output, st[0] this layer's stats and st[1..] the followers'. The
    // intermediate outputs are not written.
    virtual bool foldFollowers(const std::vector<const Kernel*>& /*followers*/) { return false; }
    virtual void fixedFolded(const std::vector<const double*>& in, double* out, size_t rows, LayerStats* st) const {
        fixed(in, out, rows, st[0]);
    }

    const Layer& layer() const { return layer_; }
    const std::vector<LoweredInput>& inputs() const { return ins_; }

protected:
    const Layer& layer_;
    std::vector<LoweredInput> ins_;
    const LayerConstants& consts_;
};

// Factories, one per op family (src/ops/<op>/Kernel.cpp), with the registry's signature
// (emulator/KernelFactory.h).
// Dense, Conv (binary x binary ones by the XNOR-popcount form in c.binaryMac).
std::unique_ptr<Kernel> makeMacKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c);
std::unique_ptr<Kernel> makePoolingKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c);
std::unique_ptr<Kernel> makeBatchNormKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c);
std::unique_ptr<Kernel> makeActivationKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c);
std::unique_ptr<Kernel> makeSoftmaxKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c);
std::unique_ptr<Kernel> makeMovementKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c);   // Input, Reshape, Transpose, Pad, Resize, Concatenate
std::unique_ptr<Kernel> makeMergeKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c);
std::unique_ptr<Kernel> makeRecurrentKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c);   // SimpleRNN, LSTM, GRU
std::unique_ptr<Kernel> makeGarNetKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c);
std::unique_ptr<Kernel> makeQuantizeKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c);   // QAT quantisers
std::unique_ptr<Kernel> makeMatMulKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c);     // activation x activation
std::unique_ptr<Kernel> makeLayerNormKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c);
std::unique_ptr<Kernel> makeTreeEnsembleKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c);   // boosted trees
std::unique_ptr<Kernel> makeReduceKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c);   // sum, mean, max
std::unique_ptr<Kernel> makePowKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c);      // x^k

// TACHYON_EMULATOR_KERNEL (read when a kernel is built): "reference" makes every kernel run its
// step-by-step form (no vectorised casts, no folding), "unfolded" only turns folding off,
// "portable"/"unfused" choose among the Dense/Conv kernels (emulator/KernelPath.h).
std::string emulatorKernelChoice();

// Per-thread scratch space that chunks reuse instead of asking the allocator each time.
std::vector<double>& scratch(int slot);

}  // namespace tachyon
