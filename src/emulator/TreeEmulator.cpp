#include "emulator/TreeEmulator.h"

#include "util/Error.h"
#include "util/Threads.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <thread>

namespace tachyon::trees {

namespace {

// Rows are evaluated in blocks of kLanes with GCC vector extensions, one lane per row:
// every split node becomes one vector compare and every tree one vector mux tree. The block
// is one register of the target: 16 lanes with AVX-512, else 8 (AVX2). GCC splits a vector
// wider than the target's registers element by element through the stack (a 512-bit block
// on an AVX2 machine ran ~20x slower per tree than one register's worth).
#if defined(__AVX512F__)
constexpr int kLanes = 16;
#else
constexpr int kLanes = 8;
#endif
using Vec = int32_t __attribute__((vector_size(kLanes * sizeof(int32_t))));

// Trees up to this depth are padded to complete trees and evaluated as mux trees;
// deeper ones are walked lane by lane.
constexpr int kMaxMuxDepth = 8;

Vec splat(int32_t v) { return Vec{} + v; }

// floor/ceil of a / 2^s for Int128 a, s >= 0.
Int128 floorShift(Int128 a, int s) { return a >> s; }
Int128 ceilShift(Int128 a, int s) { return -((-a) >> s); }

}  // namespace

int adderLevels(int terms) {
    int levels = 0;
    for (int n = terms; n > 1; n = (n + 1) / 2) ++levels;
    return levels;
}

struct TreeEmulator::Impl {
    // A tree as a complete binary tree in breadth-first order (slot s has children
    // 2s+1 and 2s+2); a leaf above the bottom is copied into all leaves below it.
    struct MuxTree {
        int depth = 0;
        std::vector<int32_t> feature, bound;  // 2^depth - 1 split slots
        std::vector<int32_t> leaf;            // 2^depth leaves, left to right
        std::vector<int32_t> leafNode;        // the IR node of each leaf
    };
    // Per tree: the IR walk with integer bounds (used for deep trees and as the
    // definition the padded form is built from).
    struct WalkTree {
        std::vector<int32_t> feature, bound, left, right, leaf;
    };
    std::vector<WalkTree> walk;
    std::vector<MuxTree> mux;   // depth < 0 marks a tree that is walked instead
    std::vector<std::vector<int64_t>> thresholdRaw, bound, leafRaw;  // [tree][node]
    std::vector<int64_t> baseRaw;
    std::vector<std::vector<int>> classTrees;
    bool sumNeverOverflows = false;
    // Float mode on the same vectorised trees: each feature value becomes its rank among
    // the distinct thresholds of that feature (floatCuts), and every split compares ranks,
    // so the integer mux trees pick the leaf node (floatMux/floatWalk: bounds in ranks,
    // leaves the IR node index) whose value is then summed in the library's order.
    std::vector<std::vector<double>> floatCuts;   // [feature] sorted distinct thresholds
    std::vector<MuxTree> floatMux;
    std::vector<WalkTree> floatWalk;

    void fillMux(const Tree& t, const WalkTree& w, MuxTree& m, int node, int slot, int level) {
        const int splitSlots = (1 << m.depth) - 1;
        if (level == m.depth) {
            m.leaf[size_t(slot - splitSlots)] = w.leaf[size_t(node)];
            m.leafNode[size_t(slot - splitSlots)] = node;
            return;
        }
        if (t.nodes[size_t(node)].isLeaf()) {
            // Any comparison works here: both subtrees hold the same leaf.
            m.feature[size_t(slot)] = 0;
            m.bound[size_t(slot)] = 0;
            fillMux(t, w, m, node, 2 * slot + 1, level + 1);
            fillMux(t, w, m, node, 2 * slot + 2, level + 1);
            return;
        }
        m.feature[size_t(slot)] = w.feature[size_t(node)];
        m.bound[size_t(slot)] = w.bound[size_t(node)];
        fillMux(t, w, m, w.left[size_t(node)], 2 * slot + 1, level + 1);
        fillMux(t, w, m, w.right[size_t(node)], 2 * slot + 2, level + 1);
    }
};

namespace {

// One complete tree of depth D as a mux tree over kLanes rows. D is a template argument
// so that the loops unroll and the partial results stay in registers.
template <int D>
Vec evalMux(const TreeEmulator::Impl::MuxTree& m, const Vec* x) {
    if constexpr (D == 0) {
        return splat(m.leaf[0]);
    } else {
        constexpr int kBottom = 1 << (D - 1);
        Vec s[kBottom];
        // Bottom level: pick between the two leaves of each last split.
#pragma GCC unroll 128
        for (int i = 0; i < kBottom; ++i) {
            const int slot = kBottom - 1 + i;
            const Vec c = x[m.feature[size_t(slot)]] <= splat(m.bound[size_t(slot)]);
            s[i] = c ? splat(m.leaf[size_t(2 * i)]) : splat(m.leaf[size_t(2 * i + 1)]);
        }
#pragma GCC unroll 8
        for (int n = kBottom / 2; n >= 1; n /= 2)
#pragma GCC unroll 64
            for (int i = 0; i < n; ++i) {
                const int slot = n - 1 + i;
                const Vec c = x[m.feature[size_t(slot)]] <= splat(m.bound[size_t(slot)]);
                s[i] = c ? s[2 * i] : s[2 * i + 1];
            }
        return s[0];
    }
}

using MuxKernel = Vec (*)(const TreeEmulator::Impl::MuxTree&, const Vec*);
constexpr MuxKernel kMuxKernels[kMaxMuxDepth + 1] = {evalMux<0>, evalMux<1>, evalMux<2>, evalMux<3>, evalMux<4>,
                                                     evalMux<5>, evalMux<6>, evalMux<7>, evalMux<8>};

// Widths the integer evaluation supports: inputs up to 31 bits, thresholds up to 62 (both
// aligned in 64-bit compares), scores up to 30 (every adder in int32).
void checkTreeTypes(const TreeConfig& c, const std::string& where) {
    if (c.input.width > 31) throw Error(where + ": InputPrecision wider than 31 bits is not supported for trees");
    if (c.threshold.width > 62) throw Error(where + ": ThresholdPrecision wider than 62 bits is not supported");
    if (c.score.width > 30) throw Error(where + ": ScorePrecision wider than 30 bits is not supported for trees");
}

}  // namespace

namespace {

// The float-mode forms (Impl::floatCuts): a split "x < t_k" (or "x <= t_k") over the sorted
// distinct thresholds t_0 < t_1 < ... of its feature holds exactly when rank(x) <= k, with
// rank(x) = #{t_i <= x} (or #{t_i < x}); a NaN ranks above every threshold and goes right,
// as the comparison does.
void prepareFloatTrees(TreeEmulator::Impl& im, const Ensemble& ens) {
    im.floatCuts.assign(size_t(ens.nFeatures), {});
    for (const Tree& t : ens.trees)
        for (const Node& nd : t.nodes)
            if (!nd.isLeaf()) im.floatCuts[size_t(nd.feature)].push_back(nd.threshold);
    for (auto& cuts : im.floatCuts) {
        std::sort(cuts.begin(), cuts.end());
        cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    }
    auto rankBound = [&](int feature, double threshold) {
        const auto& cuts = im.floatCuts[size_t(feature)];
        return int32_t(std::lower_bound(cuts.begin(), cuts.end(), threshold) - cuts.begin());
    };
    for (size_t ti = 0; ti < ens.trees.size(); ++ti) {
        const Tree& t = ens.trees[ti];
        TreeEmulator::Impl::WalkTree w = im.walk[ti];
        for (size_t i = 0; i < t.nodes.size(); ++i) {
            w.leaf[i] = int32_t(i);
            if (!t.nodes[i].isLeaf()) w.bound[i] = rankBound(t.nodes[i].feature, t.nodes[i].threshold);
        }
        TreeEmulator::Impl::MuxTree m = im.mux[ti];
        if (m.depth >= 0) {
            im.fillMux(t, w, m, 0, 0, 0);   // the same slots, bounds in ranks, leaves = node indices
        }
        im.floatWalk.push_back(std::move(w));
        im.floatMux.push_back(std::move(m));
    }
}

}  // namespace

TreeEmulator::TreeEmulator(const Ensemble& e, const TreeConfig& c) : ens_(e), cfg_(c), impl_(new Impl) {
    verify(ens_);
    checkTreeTypes(cfg_, ens_.sourceFile);
    const FixedType& in = cfg_.input;
    const FixedType& th = cfg_.threshold;
    const FixedType& sc = cfg_.score;
    const Int128 inMin = in.minRaw(), inMax = in.maxRaw();
    Impl& im = *impl_;
    for (const Tree& t : ens_.trees) {
        const size_t n = t.nodes.size();
        Impl::WalkTree w;
        w.feature.assign(n, 0); w.bound.assign(n, 0); w.left.assign(n, -1); w.right.assign(n, -1);
        w.leaf.assign(n, 0);
        std::vector<int64_t> thr(n, 0), bnd(n, 0), leaf(n, 0);
        for (size_t i = 0; i < n; ++i) {
            const Node& nd = t.nodes[i];
            if (nd.isLeaf()) {
                leaf[i] = int64_t(sc.castDouble(nd.value));
                w.leaf[i] = int32_t(leaf[i]);
                continue;
            }
            const Int128 tr = th.castDouble(nd.threshold);
            thr[i] = int64_t(tr);
            // x_raw * 2^-fx OP t_raw * 2^-ft  <=>  x_raw OP t_raw * 2^(fx - ft).
            const int shift = in.frac() - th.frac();
            Int128 b;
            if (ens_.comparison == Comparison::Less) {
                // x < r  <=>  x <= ceil(r) - 1 for integer x
                b = (shift >= 0 ? (tr << shift) : ceilShift(tr, -shift)) - 1;
            } else {
                b = shift >= 0 ? (tr << shift) : floorShift(tr, -shift);
            }
            b = std::clamp(b, inMin - 1, inMax);
            bnd[i] = int64_t(b);
            w.feature[i] = nd.feature;
            w.bound[i] = int32_t(b);
            w.left[i] = nd.left;
            w.right[i] = nd.right;
        }
        Impl::MuxTree m;
        const int depth = t.depth();
        if (depth <= kMaxMuxDepth) {
            m.depth = depth;
            m.feature.assign((size_t(1) << depth) - 1, 0);
            m.bound.assign((size_t(1) << depth) - 1, 0);
            m.leaf.assign(size_t(1) << depth, 0);
            m.leafNode.assign(size_t(1) << depth, 0);
            im.fillMux(t, w, m, 0, 0, 0);
        } else {
            m.depth = -1;
        }
        im.walk.push_back(std::move(w));
        im.mux.push_back(std::move(m));
        im.thresholdRaw.push_back(std::move(thr));
        im.bound.push_back(std::move(bnd));
        im.leafRaw.push_back(std::move(leaf));
    }
    prepareFloatTrees(*impl_, ens_);
    scale_ = std::ldexp(1.0, in.frac());
    for (double b : ens_.baseScore) im.baseRaw.push_back(int64_t(sc.castDouble(b)));
    for (int k = 0; k < ens_.nClasses; ++k) im.classTrees.push_back(ens_.treesOfClass(k));
    // When no partial sum of a class can leave the score type (interval bound over the
    // leaves), every cast in the adder tree is the identity and its order is irrelevant.
    im.sumNeverOverflows = true;
    for (int k = 0; k < ens_.nClasses; ++k) {
        Int128 bound = im.baseRaw[size_t(k)] < 0 ? -Int128(im.baseRaw[size_t(k)]) : Int128(im.baseRaw[size_t(k)]);
        for (int ti : im.classTrees[size_t(k)]) {
            int64_t m = 0;
            for (int64_t v : im.leafRaw[size_t(ti)]) m = std::max(m, v < 0 ? -v : v);
            bound += m;
        }
        const bool symOk = !(sc.overflow == Overflow::SAT_SYM && sc.isSigned) || bound < -sc.minRaw();
        if (bound > sc.maxRaw() || -bound < sc.minRaw() || !symOk) im.sumNeverOverflows = false;
    }
}

TreeEmulator::~TreeEmulator() = default;

int64_t TreeEmulator::thresholdRaw(int tree, int node) const { return impl_->thresholdRaw[size_t(tree)][size_t(node)]; }
int64_t TreeEmulator::leftIfAtMost(int tree, int node) const { return impl_->bound[size_t(tree)][size_t(node)]; }
int64_t TreeEmulator::leafRaw(int tree, int node) const { return impl_->leafRaw[size_t(tree)][size_t(node)]; }
int64_t TreeEmulator::baseRaw(int k) const { return impl_->baseRaw[size_t(k)]; }

int64_t TreeEmulator::castScoreSum(int64_t sum) const {
    return int64_t(cfg_.score.castRaw(Int128(sum), cfg_.score.frac()));
}

void TreeEmulator::runFloat(const double* x, size_t rows, double* out, int threads) const {
    const int nf = ens_.nFeatures, nc = ens_.nClasses;
    if (threads <= 0) threads = int(std::max(1u, std::thread::hardware_concurrency()));
    const size_t blocks = (rows + kLanes - 1) / kLanes;
    if (threads > 1 && blocks > 1) {
        const size_t per = (blocks + size_t(threads) - 1) / size_t(threads) * kLanes;
        util::runOnThreads(unsigned((rows + per - 1) / per), [=, this](unsigned part) {
            const size_t begin = size_t(part) * per;
            runFloat(x + begin * size_t(nf), std::min(per, rows - begin), out + begin * size_t(nc), 1);
        });
        return;
    }
    const Impl& im = *impl_;
    const bool less = ens_.comparison == Comparison::Less;
    const size_t nTrees = ens_.trees.size();
    std::vector<Vec> rank(static_cast<size_t>(nf)), leafNode(nTrees);
    for (size_t r0 = 0; r0 < rows; r0 += kLanes) {
        const int valid = int(std::min<size_t>(kLanes, rows - r0));
        if (valid < kLanes) std::fill(rank.begin(), rank.end(), Vec{});
        for (int l = 0; l < valid; ++l)
            for (int f = 0; f < nf; ++f) {
                double v = x[(r0 + size_t(l)) * size_t(nf) + size_t(f)];
                if (ens_.inputFloat32) v = double(float(v));
                const auto& cuts = im.floatCuts[size_t(f)];
                const auto at = std::isnan(v) ? cuts.end()
                                : less        ? std::upper_bound(cuts.begin(), cuts.end(), v)
                                              : std::lower_bound(cuts.begin(), cuts.end(), v);
                rank[size_t(f)][l] = int32_t(at - cuts.begin());
            }
        for (size_t ti = 0; ti < nTrees; ++ti) {
            const Impl::MuxTree& m = im.floatMux[ti];
            if (m.depth >= 0) {
                leafNode[ti] = kMuxKernels[m.depth](m, rank.data());
                continue;
            }
            const Impl::WalkTree& w = im.floatWalk[ti];
            for (int l = 0; l < kLanes; ++l) {
                int i = 0;
                while (w.left[size_t(i)] >= 0)
                    i = rank[size_t(w.feature[size_t(i)])][l] <= w.bound[size_t(i)] ? w.left[size_t(i)] : w.right[size_t(i)];
                leafNode[ti][l] = i;
            }
        }
        // Sums in the library's order (base score, then each tree of the class in model order).
        for (int k = 0; k < nc; ++k)
            for (int l = 0; l < valid; ++l) {
                double accD = ens_.baseScore[size_t(k)];
                float accF = float(accD);
                for (int ti : im.classTrees[size_t(k)]) {
                    const double v = ens_.trees[size_t(ti)].nodes[size_t(leafNode[size_t(ti)][l])].value;
                    if (ens_.sumFloat32) accF += float(v);
                    else accD += v;
                }
                out[(r0 + size_t(l)) * size_t(nc) + size_t(k)] = ens_.sumFloat32 ? double(accF) : accD;
            }
    }
}

int64_t TreeEmulator::quantizeInput(double v) const {
    const FixedType& in = cfg_.input;
    // Fast exact path for the common modes: scaling by 2^frac is exact, floor is exact.
    if ((in.quant == Quant::TRN || in.quant == Quant::RND) && std::isfinite(v)) {
        const double s = v * scale_;  // exact: a power of two
        if (std::fabs(s) < 0x1p50) {
            const double q = std::floor(in.quant == Quant::TRN ? s : s + 0.5);
            const int64_t raw = int64_t(q);
            if (raw >= int64_t(in.minRaw()) && raw <= int64_t(in.maxRaw())) return raw;
            return int64_t(in.castRaw(Int128(raw), in.frac()));  // overflow handling only
        }
    }
    return int64_t(in.castDouble(v));
}

namespace {

// Reduces terms[0..n) with the documented balanced adder tree; result in terms[0].
template <typename CastFn>
void reduceTerms(Vec* terms, int n, CastFn castSum) {
    while (n > 1) {
        const int half = n / 2;
        for (int i = 0; i < half; ++i) terms[i] = castSum(terms[2 * i] + terms[2 * i + 1]);
        if (n & 1) terms[half] = terms[n - 1];
        n = half + (n & 1);
    }
}

}  // namespace

void TreeEmulator::runFixedRaw(const int64_t* xRaw, size_t rows, int64_t* outRaw, int threads,
                               uint64_t* overflows) const {
    const int nf = ens_.nFeatures, nc = ens_.nClasses;
    if (threads <= 0) threads = int(std::max(1u, std::thread::hardware_concurrency()));
    const size_t blocks = (rows + kLanes - 1) / kLanes;
    if (threads > 1 && blocks > 1) {
        const size_t per = (blocks + size_t(threads) - 1) / size_t(threads) * kLanes;
        const unsigned parts = unsigned((rows + per - 1) / per);
        std::vector<uint64_t> partOverflows(parts, 0);
        util::runOnThreads(parts, [=, this, &partOverflows](unsigned part) {
            const size_t begin = size_t(part) * per;
            runFixedRaw(xRaw + begin * size_t(nf), std::min(per, rows - begin), outRaw + begin * size_t(nc), 1,
                        &partOverflows[part]);
        });
        if (overflows)
            for (uint64_t n : partOverflows) *overflows += n;
        return;
    }

    const Impl& im = *impl_;
    const FixedType& sc = cfg_.score;
    const int W = sc.width;
    const int32_t smin = int32_t(sc.minRaw()), smax = int32_t(sc.maxRaw());
    const Overflow mode = (sc.overflow == Overflow::WRAP && sc.satBits != 0) ? Overflow::WRAP : sc.overflow;
    const bool scalarCast = sc.overflow == Overflow::WRAP && sc.satBits != 0;
    auto castSum = [&](Vec s) -> Vec {
        if (scalarCast) {
            for (int l = 0; l < kLanes; ++l) s[l] = int32_t(castScoreSum(s[l]));
            return s;
        }
        switch (mode) {
        case Overflow::WRAP:
            if (sc.isSigned) {
                return Vec((__attribute__((vector_size(kLanes * 4))) uint32_t)(s) << (32 - W)) >> (32 - W);
            }
            return s & splat(int32_t((uint32_t(1) << W) - 1));
        case Overflow::SAT:
            return s < splat(smin) ? splat(smin) : (s > splat(smax) ? splat(smax) : s);
        case Overflow::SAT_ZERO:
            return (s < splat(smin) || s > splat(smax)) ? splat(0) : s;
        case Overflow::SAT_SYM: {
            const int32_t lo = sc.isSigned ? -smax : smin;
            return s < splat(lo) ? splat(lo) : (s > splat(smax) ? splat(smax) : s);
        }
        }
        return s;
    };

    const size_t nTrees = ens_.trees.size();
    std::vector<Vec> x(static_cast<size_t>(nf)), leaves(nTrees), terms(nTrees + 1);
    for (size_t r0 = 0; r0 < rows; r0 += kLanes) {
        const int valid = int(std::min<size_t>(kLanes, rows - r0));
        // Transpose the block: read each row sequentially, one lane per row.
        if (valid < kLanes) std::fill(x.begin(), x.end(), Vec{});
        for (int l = 0; l < valid; ++l) {
            const int64_t* row = xRaw + (r0 + size_t(l)) * size_t(nf);
            for (int f = 0; f < nf; ++f) x[size_t(f)][l] = int32_t(row[f]);
        }
        for (size_t ti = 0; ti < nTrees; ++ti) {
            const Impl::MuxTree& m = im.mux[ti];
            if (m.depth < 0) {
                const Impl::WalkTree& w = im.walk[ti];
                Vec out{};
                for (int l = 0; l < kLanes; ++l) {
                    int i = 0;
                    while (w.left[size_t(i)] >= 0)
                        i = x[size_t(w.feature[size_t(i)])][l] <= w.bound[size_t(i)] ? w.left[size_t(i)] : w.right[size_t(i)];
                    out[l] = w.leaf[size_t(i)];
                }
                leaves[ti] = out;
                continue;
            }
            leaves[ti] = kMuxKernels[m.depth](m, x.data());
        }
        for (int k = 0; k < nc; ++k) {
            const std::vector<int>& ct = im.classTrees[size_t(k)];
            if (im.sumNeverOverflows) {
                Vec sum = splat(int32_t(im.baseRaw[size_t(k)]));
                for (int ti : ct) sum += leaves[size_t(ti)];
                for (int l = 0; l < valid; ++l) outRaw[(r0 + size_t(l)) * size_t(nc) + size_t(k)] = sum[l];
                continue;
            }
            terms[0] = splat(int32_t(im.baseRaw[size_t(k)]));
            for (size_t j = 0; j < ct.size(); ++j) terms[j + 1] = leaves[size_t(ct[j])];
            Vec changed{};   // lanes where some adder's sum left the score type
            reduceTerms(terms.data(), int(ct.size()) + 1, [&](Vec s) {
                const Vec c = castSum(s);
                changed |= c != s;
                return c;
            });
            for (int l = 0; l < valid; ++l) {
                outRaw[(r0 + size_t(l)) * size_t(nc) + size_t(k)] = terms[0][l];
                if (overflows && changed[l]) ++*overflows;
            }
        }
    }
}

void TreeEmulator::runFixed(const double* x, size_t rows, int64_t* outRaw, double* outValue, int threads) const {
    const int nf = ens_.nFeatures, nc = ens_.nClasses;
    // Quantise in chunks so memory stays bounded for large inputs.
    constexpr size_t kChunk = 1 << 16;
    std::vector<int64_t> raw;
    for (size_t r0 = 0; r0 < rows; r0 += kChunk) {
        const size_t n = std::min(kChunk, rows - r0);
        raw.resize(n * size_t(nf));
        for (size_t i = 0; i < raw.size(); ++i) raw[i] = quantizeInput(x[r0 * size_t(nf) + i]);
        runFixedRaw(raw.data(), n, outRaw + r0 * size_t(nc), threads);
    }
    if (outValue)
        for (size_t i = 0; i < rows * size_t(nc); ++i) outValue[i] = cfg_.score.toDouble(outRaw[i]);
}

}  // namespace tachyon::trees
