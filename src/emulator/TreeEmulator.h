// Tree-ensemble emulator: float mode (the library's own arithmetic) and the bit-exact
// fixed-point arithmetic that the HLS, Verilog and lookup-table backends compute.
//
// Fixed-point semantics (docs/trees.md is the contract):
//  1. x_raw = cast<InputPrecision>(x)                       (per feature)
//  2. t_raw = cast<ThresholdPrecision>(threshold)           (per split node)
//     go left when  x OP t  compared exactly (both raws aligned to the finer LSB);
//     precomputed as an integer bound in input LSBs: left iff x_raw <= leftIfAtMost.
//  3. leaf_raw = cast<ScorePrecision>(leaf value), base_raw = cast<ScorePrecision>(base).
//  4. per class k, terms = [base_k, leaf of each class-k tree in model order], reduced by
//     the balanced adder tree of `adderLevels`: at every level out[i] = cast<ScorePrecision>(
//     in[2i] + in[2i+1]) and an odd last term moves up unchanged. The output is the
//     final term, of type ScorePrecision.
#pragma once

#include "config/TreeConfig.h"
#include "ir/TreeEnsemble.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace tachyon::trees {

// Number of adder levels for n terms (ceil(log2 n); 0 for one term).
int adderLevels(int terms);

class TreeEmulator {
public:
    TreeEmulator(const Ensemble& e, const TreeConfig& c);
    ~TreeEmulator();
    TreeEmulator(const TreeEmulator&) = delete;
    TreeEmulator& operator=(const TreeEmulator&) = delete;

    const Ensemble& ensemble() const { return ens_; }
    const TreeConfig& config() const { return cfg_; }
    int nFeatures() const { return ens_.nFeatures; }
    int nClasses() const { return ens_.nClasses; }

    // Float mode: reproduces the library's decision function. out: rows * nClasses. Vectorised
    // over rows like fixed mode (the splits compare each value's rank among its feature's
    // thresholds); threads <= 0: all cores.
    void runFloat(const double* x, size_t rows, double* out, int threads = 1) const;

    // Fixed mode. outRaw: raws of ScorePrecision; outValue (optional): their values.
    void runFixed(const double* x, size_t rows, int64_t* outRaw, double* outValue = nullptr,
                  int threads = 1) const;
    // Fixed mode from raw InputPrecision integers (rows * nFeatures). `overflows` (optional)
    // is increased by the number of outputs whose adder tree saturated or wrapped.
    void runFixedRaw(const int64_t* xRaw, size_t rows, int64_t* outRaw, int threads = 1,
                     uint64_t* overflows = nullptr) const;

    int64_t quantizeInput(double v) const;

    // Quantised constants, so that backends emit exactly what is emulated.
    int64_t thresholdRaw(int tree, int node) const;  // raw of ThresholdPrecision
    // Go left iff x_raw <= leftIfAtMost(tree, node); clamped to [minRaw - 1, maxRaw] of the input.
    int64_t leftIfAtMost(int tree, int node) const;
    int64_t leafRaw(int tree, int node) const;       // raw of ScorePrecision
    int64_t baseRaw(int k) const;                    // raw of ScorePrecision
    // cast<ScorePrecision> of an exact sum of two score raws (same LSB).
    int64_t castScoreSum(int64_t sum) const;

    struct Impl;
private:
    Ensemble ens_;
    TreeConfig cfg_;
    double scale_ = 1.0;  // 2^frac of InputPrecision
    std::unique_ptr<Impl> impl_;
};

}  // namespace tachyon::trees
