// GarNet / GarNetStack (simplified form of hls4ml's contrib/garnet.py): docs/semantics.md,
// "GarNet". Input 0 holds the vertex features [V][F], input 1 the vertex count n (cast to
// an integer as Keras does: truncated, clamped to [0, V]; under Compatibility: hls4ml a
// negative or fractional count processes all V vertices and the mean collapse's bias term
// takes the count unclamped, as hls4ml's C simulation does; with mean_by_nvert the means
// are hls4ml's: the vertex sums shifted right by floor(log2 V), times norm_t(trunc(V / count))).
//
// Float mode, per sublayer, on data d:
//   feat[v][p] = FLR_b[p] + sum_i d[v][i] FLR_w[i][p]
//   dist[v][a] = S_b[a] + sum_i d[v][i] S_w[i][a]
//   e[v][a]    = (v < n) * exp(-dist[v][a]^2)
//   agg[a][p]  = sum_v e[v][a] feat[v][p] / (mean_by_nvert ? n : V)
//   out[v][f]  = (v < n) * (Fout_b[f] + sum_{a,p} e[v][a] agg[a][p] Fout_w[a*P+p][f])
// then the collapse over vertices: mean (/V), sum or max; none keeps [V][filters].
//
// Fixed mode computes the same in the arithmetic of hls4ml's GarNet HLS (nnet_garnet.h):
// the input transform contracted into the output kernel, an exp(-d^2) table indexed by
// the distance's bits, means as sums times a `norm` constant, and a cast after every
// step; the generated HLS (nnet_garnet.h of this project) does the same, operation for
// operation.
#include "emulator/Cast.h"
#include "emulator/Kernel.h"
#include "lower/GarNetNorm.h"

#include "util/Error.h"

#include <algorithm>
#include <cmath>

namespace tachyon {

namespace {

// hls4ml's mean_by_nvert quotient `(n_vertices / reuse_factor) / nvtx` at ReuseFactor 1:
// V divided by the count (raw nRaw at frac f) as ap_fixed's operator/ divides, to an
// integer truncated towards zero; 0 for a zero count (where hls4ml's C++ divides by zero;
// the sums are all 0 then, so any quotient gives the same means).
Int128 hls4mlCountQuotient(int V, int64_t nRaw, int f) {
    if (nRaw == 0) return 0;
    const Int128 num = f >= 0 ? Int128(V) << f : Int128(V);
    const Int128 den = f >= 0 ? Int128(nRaw) : Int128(nRaw) * (Int128(1) << -f);
    return num / den;   // C++ division truncates towards zero, as the ap_fixed one
}

class GarNetKernel : public Kernel {
public:
    // The layer's types and settings were checked when it was lowered (ops/garnet/Lower.cpp).
    GarNetKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c) : Kernel(l, std::move(ins), c) {
        a_ = l.as<GarNetAttrs>();
        hls4mlNorm_ = garnetHls4mlNorm(a_);
        normShift_ = garnetNormShift(a_);
        distT_ = l.type("distance");
        edgeT_ = l.type("edge_weight");
        edgeSumT_ = l.type("edge_weight_aggr");
        aggrT_ = l.type("aggr");
        normT_ = l.type("norm");
        resT_ = l.type("result");
        itwT_ = l.type("input_transform_weights");
        itbT_ = l.type("input_transform_biases");
        adwT_ = l.type("aggregator_distance_weights");
        adbT_ = l.type("aggregator_distance_biases");
        otbT_ = l.type("output_transform_biases");
    }

    void fixed(const std::vector<const double*>& in, double* out, size_t rows, LayerStats& st) const override {
        const GarNetConstants& c = consts_.garnet;
        const int V = a_.nVertices;
        const size_t outPerRow = size_t(layer_.outSize());
        const FixedType& nT = ins_[1].type;
        uint64_t ov = 0, resOv = 0;
        // cast<t>(raw * 2^-frac), counting overflows in `count`.
        auto cast = [](const FixedType& t, Int128 raw, int frac, uint64_t& count) {
            CastStatus cs;
            const Int128 r = t.castRaw(raw, frac, &cs);
            count += cs.overflow;
            return int64_t(r);
        };
        const int64_t tableMask = (int64_t(1) << distT_.width) - 1;
        std::vector<int64_t> data, next, edge, sumE, sumWF, meanE, meanWF, base;
        for (size_t r = 0; r < rows; ++r) {
            FixedType dataT = ins_[0].type;
            int nIn = a_.nInFeatures;
            data.assign(in[0] + r * size_t(V * nIn), in[0] + (r + 1) * size_t(V * nIn));
            // n = the count truncated to an integer, clamped to [0, V].
            const int64_t nRaw = int64_t(in[1][r]);
            const Int128 nInt = nT.frac() > 0 ? Int128(nRaw >= 0 ? nRaw >> nT.frac() : 0)
                                              : Int128(nRaw) * (Int128(1) << -nT.frac());   // |raw| < 2^48
            // hls4ml mode: hls4ml's C++ stops its vertex loops where the unsigned vertex index
            // reaches the count, compared as unsigned, so a negative (wrapped) or fractional
            // count never stops them: all V vertices count (docs/semantics.md, "GarNet").
            const bool whole = nT.frac() <= 0 || (nRaw & ((int64_t(1) << nT.frac()) - 1)) == 0;
            const int n = a_.hls4mlCount && (nRaw < 0 || !whole) ? V : int(std::clamp<Int128>(nInt, 0, V));
            const int64_t norm = hls4mlNorm_ ? int64_t(normT_.castRaw(hls4mlCountQuotient(V, nRaw, nT.frac()), 0))
                                 : a_.meanByNvert ? c.norm[size_t(n)]
                                                  : c.norm[0];
            double* y = out + r * outPerRow;
            for (size_t k = 0; k < c.sublayers.size(); ++k) {
                const GarNetConstants::Sublayer& w = c.sublayers[k];
                const int A = a_.nAggregators[k], F = a_.nFilters[k];
                const bool last = k + 1 == c.sublayers.size();
                edge.assign(size_t(V * A), 0);
                sumE.assign(size_t(A), 0);
                sumWF.assign(size_t(A * nIn), 0);
                // Aggregation over the valid vertices.
                for (int v = 0; v < n; ++v) {
                    const int64_t* x = data.data() + size_t(v * nIn);
                    for (int q = 0; q < A; ++q) {
                        int64_t dist = cast(distT_, w.aggregatorDistanceBiases[size_t(q)], adbT_.frac(), ov);
                        for (int i = 0; i < nIn; ++i) {
                            const int64_t incr = cast(distT_, Int128(x[i]) * w.aggregatorDistanceWeights[size_t(q * nIn + i)],
                                                      dataT.frac() + adwT_.frac(), ov);
                            dist = cast(distT_, Int128(dist) + incr, distT_.frac(), ov);
                        }
                        const int64_t e = c.edgeWeightTable[size_t(dist & tableMask)];
                        edge[size_t(v * A + q)] = e;
                        sumE[size_t(q)] = addCast(edgeSumT_, sumE[size_t(q)], edgeSumT_.frac(), e, edgeT_.frac(), ov);
                        for (int i = 0; i < nIn; ++i) {
                            const int64_t incr = cast(dataT, Int128(x[i]) * e, dataT.frac() + edgeT_.frac(), ov);
                            int64_t& s = sumWF[size_t(q * nIn + i)];
                            s = addCast(aggrT_, s, aggrT_.frac(), incr, dataT.frac(), ov);
                        }
                    }
                }
                // Means: sums times norm (1/V, or 1/n with mean_by_nvert; hls4ml's
                // mean_by_nvert: the sums shifted right in their own types first, a floor).
                meanE.assign(size_t(A), 0);
                meanWF.assign(size_t(A * nIn), 0);
                for (int q = 0; q < A; ++q) {
                    meanE[size_t(q)] = cast(edgeT_, Int128(sumE[size_t(q)] >> normShift_) * norm, edgeSumT_.frac() + normT_.frac(), ov);
                    for (int i = 0; i < nIn; ++i)
                        meanWF[size_t(q * nIn + i)] =
                            cast(aggrT_, Int128(sumWF[size_t(q * nIn + i)] >> normShift_) * norm, aggrT_.frac() + normT_.frac(), ov);
                }
                // base[o][a] = meanE[a] * ITB[o][a] + sum_x meanWF[a][x] * ITW[o][a][x]
                base.assign(size_t(F * A), 0);
                for (int o = 0; o < F; ++o)
                    for (int q = 0; q < A; ++q) {
                        const size_t oa = size_t(o * A + q);
                        int64_t b = cast(aggrT_, Int128(meanE[size_t(q)]) * w.inputTransformBiases[oa],
                                         edgeT_.frac() + itbT_.frac(), ov);
                        for (int i = 0; i < nIn; ++i)
                            b = addCast(aggrT_, b, aggrT_.frac(),
                                        Int128(meanWF[size_t(q * nIn + i)]) * w.inputTransformWeights[oa * size_t(nIn) + size_t(i)],
                                        aggrT_.frac() + itwT_.frac(), ov);
                        base[oa] = b;
                    }
                if (last && a_.collapse == "mean" && hls4mlNorm_) {
                    // hls4ml's mean over the n vertices: Fout_b + sum_a meanE[a] base[o][a]
                    // (its OutputBiasNormalizer leaves the bias as it is with mean_by_nvert).
                    for (int o = 0; o < F; ++o) {
                        int64_t acc = cast(resT_, w.outputTransformBiases[size_t(o)], otbT_.frac(), resOv);
                        for (int q = 0; q < A; ++q)
                            acc = addCast(resT_, acc, resT_.frac(), Int128(meanE[size_t(q)]) * base[size_t(o * A + q)],
                                          edgeT_.frac() + aggrT_.frac(), resOv);
                        y[o] = double(acc);
                    }
                    break;
                }
                if (last && a_.collapse == "mean") {
                    // mean over V of the per-vertex outputs: Fout_b * n / V + sum_a meanE[a] base[o][a]
                    for (int o = 0; o < F; ++o) {
                        const int64_t b = cast(aggrT_, w.outputTransformBiases[size_t(o)], otbT_.frac(), ov);
                        // hls4ml mode: times the count as its type holds it (wrapped, or beyond V).
                        const int64_t bn = a_.hls4mlCount ? cast(aggrT_, Int128(b) * nRaw, aggrT_.frac() + nT.frac(), ov)
                                                          : cast(aggrT_, Int128(b) * n, aggrT_.frac(), ov);
                        const int64_t bMean = cast(aggrT_, Int128(bn) * c.norm[0], aggrT_.frac() + normT_.frac(), ov);
                        int64_t acc = cast(resT_, cast(otbT_, bMean, aggrT_.frac(), ov), otbT_.frac(), resOv);
                        for (int q = 0; q < A; ++q)
                            acc = addCast(resT_, acc, resT_.frac(), Int128(meanE[size_t(q)]) * base[size_t(o * A + q)],
                                          edgeT_.frac() + aggrT_.frac(), resOv);
                        y[o] = double(acc);
                    }
                    break;
                }
                // Per-vertex outputs (0 for v >= n): the next sublayer's data, or the layer's.
                next.assign(size_t(V * F), 0);
                uint64_t& outOv = last ? resOv : ov;
                for (int v = 0; v < n; ++v)
                    for (int o = 0; o < F; ++o) {
                        int64_t acc = cast(resT_, w.outputTransformBiases[size_t(o)], otbT_.frac(), outOv);
                        for (int q = 0; q < A; ++q) {
                            const int64_t incr = cast(resT_, Int128(edge[size_t(v * A + q)]) * base[size_t(o * A + q)],
                                                      edgeT_.frac() + aggrT_.frac(), outOv);
                            acc = cast(resT_, Int128(acc) + incr, resT_.frac(), outOv);
                        }
                        next[size_t(v * F + o)] = acc;
                    }
                data.swap(next);
                dataT = resT_;
                nIn = F;
                if (last)
                    for (size_t i = 0; i < data.size(); ++i) y[i] = double(data[i]);
            }
        }
        st.accumOverflows += ov;
        st.resultOverflows += resOv;
    }

    void real(const std::vector<const double*>& inputs, double* out, size_t rows) const override {
        const int V = a_.nVertices;
        const size_t outPerRow = size_t(layer_.outSize());
        std::vector<double> data, next, feat, dist, edge, agg;
        for (size_t r = 0; r < rows; ++r) {
            int nIn = a_.nInFeatures;
            data.assign(inputs[0] + r * size_t(V * nIn), inputs[0] + (r + 1) * size_t(V * nIn));
            const double nvRaw = inputs[1][r];
            const int nv = std::isfinite(nvRaw) ? int(std::clamp(std::trunc(nvRaw), 0.0, double(V))) : 0;
            for (size_t k = 0; k < a_.nFilters.size(); ++k) {
                const std::string s = std::to_string(k);
                const int P = a_.nPropagate[k], A = a_.nAggregators[k], F = a_.nFilters[k];
                const auto& flrW = layer_.param("FLR" + s + "_kernel");
                const auto& flrB = layer_.param("FLR" + s + "_bias");
                const auto& sW = layer_.param("S" + s + "_kernel");
                const auto& sB = layer_.param("S" + s + "_bias");
                const auto& oW = layer_.param("Fout" + s + "_kernel");
                const auto& oB = layer_.param("Fout" + s + "_bias");
                feat.assign(size_t(V * P), 0.0);
                edge.assign(size_t(V * A), 0.0);
                for (int v = 0; v < V; ++v) {
                    const double* d = data.data() + size_t(v * nIn);
                    for (int p = 0; p < P; ++p) {
                        double acc = flrB[size_t(p)];
                        for (int i = 0; i < nIn; ++i) acc += d[i] * flrW[size_t(i * P + p)];
                        feat[size_t(v * P + p)] = acc;
                    }
                    if (v >= nv) continue;   // masked vertex: zero edge weights
                    for (int q = 0; q < A; ++q) {
                        double acc = sB[size_t(q)];
                        for (int i = 0; i < nIn; ++i) acc += d[i] * sW[size_t(i * A + q)];
                        edge[size_t(v * A + q)] = std::exp(-acc * acc);
                    }
                }
                const double norm = a_.meanByNvert ? double(nv) : double(V);
                agg.assign(size_t(A * P), 0.0);
                for (int v = 0; v < V; ++v)
                    for (int q = 0; q < A; ++q)
                        for (int p = 0; p < P; ++p) agg[size_t(q * P + p)] += edge[size_t(v * A + q)] * feat[size_t(v * P + p)];
                for (double& x : agg) x = norm > 0 ? x / norm : 0.0;
                next.assign(size_t(V * F), 0.0);
                for (int v = 0; v < nv; ++v)
                    for (int f = 0; f < F; ++f) {
                        double acc = oB[size_t(f)];
                        for (int q = 0; q < A; ++q)
                            for (int p = 0; p < P; ++p)
                                acc += edge[size_t(v * A + q)] * agg[size_t(q * P + p)] * oW[size_t((q * P + p) * F + f)];
                        next[size_t(v * F + f)] = acc;
                    }
                data.swap(next);
                nIn = F;
            }
            double* y = out + r * outPerRow;
            const int F = a_.nFilters.back();
            if (a_.collapse.empty()) {
                std::copy(data.begin(), data.end(), y);
                continue;
            }
            for (int f = 0; f < F; ++f) {
                double acc = a_.collapse == "max" ? data[size_t(f)] : 0.0;
                for (int v = 0; v < V; ++v) {
                    const double x = data[size_t(v * F + f)];
                    acc = a_.collapse == "max" ? std::max(acc, x) : acc + x;
                }
                // Keras divides by V (mean_by_nvert: by the boolean itself, i.e. 1).
                if (a_.collapse == "mean") acc /= a_.meanByNvert ? 1.0 : double(V);
                y[f] = acc;
            }
        }
    }

private:
    // cast<t>(a * 2^-fa + b * 2^-fb), exactly: a running sum of type t (frac fa) plus an
    // increment (frac fb).
    static int64_t addCast(const FixedType& t, Int128 a, int fa, Int128 b, int fb, uint64_t& count) {
        const int f = std::max(fa, fb);
        CastStatus cs;
        const Int128 r = t.castRaw(a * (Int128(1) << (f - fa)) + b * (Int128(1) << (f - fb)), f, &cs);
        count += cs.overflow;
        return int64_t(r);
    }

    GarNetAttrs a_;
    bool hls4mlNorm_ = false;   // hls4ml's mean_by_nvert arithmetic (Compatibility: hls4ml)
    int normShift_ = 0;         // its right shift of the vertex sums, floor(log2 V)
    FixedType distT_, edgeT_, edgeSumT_, aggrT_, normT_, resT_, itwT_, itbT_, adwT_, adbT_, otbT_;
};

}  // namespace

std::unique_ptr<Kernel> makeGarNetKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c) {
    return std::make_unique<GarNetKernel>(l, std::move(ins), c);
}

}  // namespace tachyon
