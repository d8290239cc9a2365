// GarNet with every vertex in parallel. Each step is the emulator's (Kernel.cpp), in its
// order and with its casts:
//  * the distances are Dense accumulations into `distance` (macRtl), the edge weights a
//    ROM of the emulator's exp(-d^2) table indexed by the distance's bits;
//  * a vertex v takes part when v < n, n the count truncated and clamped to [0, V]: a
//    comparison of the count with a constant per vertex. Sums over the vertices add its
//    terms masked to 0 (adding 0 and casting a value already of the type changes nothing);
//  * sums with a cast after every addition are chains of casts (or adder trees when no
//    partial sum can overflow, or the type wraps, and no addition needs rounding);
//  * products with constants are shift-add graphs, products of two signals multipliers;
//  * hls4ml's mean_by_nvert (Compatibility: hls4ml, counts in [0, V]): the sums floored by
//    norm_shift bits (hls4ml's `>>`), then times the mux of the quotients trunc(V / n).
#include "ops/garnet/Rtl.h"

#include "ops/mac/Rtl.h"
#include "lower/GarNetNorm.h"
#include "util/Error.h"

#include <algorithm>

namespace tachyon::verilog {

namespace {

class GarNetBuilder {
public:
    GarNetBuilder(RtlContext& c, const Layer& l, const LoweredGraph& low)
        : c_(c), l_(l), a_(l.as<GarNetAttrs>()), k_(low.garnetConstants(l.name)), distT_(l.type("distance")),
          edgeT_(l.type("edge_weight")), edgeSumT_(l.type("edge_weight_aggr")), aggrT_(l.type("aggr")),
          normT_(l.type("norm")), resT_(l.type("result")) {
        // The edge table, indexed by the distance's raw bits read unsigned, as a ROM indexed
        // by raw + offset (the same entries, rotated for a signed distance).
        const int64_t size = int64_t(1) << distT_.width;
        edgeRom_.valueType = edgeT_;
        edgeRom_.size = int(size);
        edgeRom_.offset = distT_.isSigned ? size / 2 : 0;
        for (int64_t j = 0; j < size; ++j)
            edgeRom_.values.push_back(k_.edgeWeightTable[size_t((j - edgeRom_.offset) & (size - 1))]);
    }

    std::vector<Sig> build(const std::vector<Sig>& vertices, const FixedType& dataT0, Sig count, const FixedType& countT) {
        const int V = a_.nVertices;
        // hls4ml's reading of a wrapped or fractional count (all V vertices, the bias scaled
        // by the raw count; docs/semantics.md, "GarNet") is reproduced by the emulator and
        // the HLS backend only; it differs from Tachyon's only for counts outside [0, V] or
        // fractional ones, which an unsigned integer count type of range [0, V] cannot hold.
        const Int128 countMax = countT.frac() >= 0 ? countT.maxRaw() >> countT.frac() : countT.maxRaw() << -countT.frac();
        const bool countCanLeaveRange = countT.isSigned || countT.frac() > 0 || countMax > V;
        if (a_.hls4mlCount && countCanLeaveRange)
            throw Error("Verilog backend: layer " + l_.name +
                        ": GarNet with hls4ml's vertex-count arithmetic (Compatibility: hls4ml) and a count type "
                        "that can hold counts outside [0, " + std::to_string(V) + "] has no Verilog; use "
                        "Compatibility: tachyon, an unsigned integer count type, or the HLS backend");
        if (int(vertices.size()) != V * a_.nInFeatures)
            throw Error("Verilog backend: layer " + l_.name + ": expected " + std::to_string(V * a_.nInFeatures) +
                        " vertex values, got " + std::to_string(vertices.size()));
        // valid_v = (n > v), n = clamp(trunc(count), 0, V); nSig = n.
        std::vector<Sig> valid;
        for (int v = 0; v < V; ++v) valid.push_back(atLeast(count, firstRawAbove(countT, v)));
        const Sig nSig = linearMap(c_, valid, std::vector<int64_t>(size_t(V), 1), V, 1, {0})[0];
        Sig norm;
        if (a_.meanByNvert) {
            std::vector<Sig> perN;
            for (int64_t x : k_.norm) perN.push_back(constant(c_, x));
            norm = selectIndex(c_, nSig, perN);
        } else {
            norm = constant(c_, k_.norm.at(0));
        }
        std::vector<Sig> data = vertices;
        FixedType dataT = dataT0;
        int nIn = a_.nInFeatures;
        for (size_t k = 0; k < k_.sublayers.size(); ++k) {
            const bool last = k + 1 == k_.sublayers.size();
            if (last && a_.collapse == "mean") return sublayer(k, data, dataT, nIn, valid, nSig, norm, true);
            data = sublayer(k, data, dataT, nIn, valid, nSig, norm, false);
            dataT = resT_;
            nIn = a_.nFilters[k];
        }
        return data;
    }

private:
    // The smallest raw count whose truncated integer exceeds v (raw >= it <=> n > v).
    static Int128 firstRawAbove(const FixedType& t, int v) {
        const int f = t.frac();
        if (f >= 0) return Int128(v + 1) << f;
        const Int128 step = Int128(1) << -f;
        return (Int128(v + 1) + step - 1) / step;
    }

    Sig atLeast(Sig x, Int128 threshold) {
        Node n;
        n.name = c_.nl.freshName(c_.prefix + "valid");
        n.ops = {x};
        n.lo = 0;
        n.hi = 1;
        n.delay = c_.delay.compare(c_.nl.node(x).width);
        n.body = [threshold](std::ostream& os, const std::vector<std::string>& o, const std::string& self) {
            os << "  assign " << self << " = (" << o[0] << " >= " << literal(threshold) << ") ? 2'sd1 : 2'sd0;\n";
        };
        return c_.nl.add(std::move(n));
    }

    // cast<T>(sum): acc (raw of T) then acc = cast<T>(acc + term) for each term (raws at
    // frac termFrac), as the emulator's addCast chains.
    Sig castChain(Sig acc, const std::vector<Sig>& terms, int termFrac, const FixedType& T) {
        const int f = std::max(T.frac(), termFrac);
        const bool exact = termFrac <= T.frac();
        const bool modular = T.overflow == Overflow::WRAP && T.satBits == 0;
        const Int128 lo0 = T.minRaw() + ((T.overflow == Overflow::SAT_SYM && T.isSigned) ? 1 : 0);
        bool safe = exact;
        Int128 lo = c_.nl.node(acc).lo, hi = c_.nl.node(acc).hi;
        for (Sig t : terms) {
            if (!safe) break;
            lo += c_.nl.node(t).lo << (T.frac() - termFrac);
            hi += c_.nl.node(t).hi << (T.frac() - termFrac);
            safe = lo >= lo0 && hi <= T.maxRaw();
        }
        if (exact && (modular || safe)) {
            std::vector<Sig> aligned{acc};
            for (Sig t : terms) aligned.push_back(shiftLeft(c_, t, T.frac() - termFrac));
            const Sig s = linearMap(c_, aligned, std::vector<int64_t>(aligned.size(), 1), int(aligned.size()), 1, {0}, 0,
                                    modular ? T.width + (T.isSigned ? 0 : 1) : 0)[0];
            return castTo(c_, s, T.frac(), T);
        }
        for (Sig t : terms)
            acc = castTo(c_, add(c_, shiftLeft(c_, acc, f - T.frac()), shiftLeft(c_, t, f - termFrac)), f, T);
        return acc;
    }

    // The raw of x (of type T) shifted right by the norm shift, a floor, as hls4ml's `>>` on
    // an ap_fixed: the raw of a cast to T with that many fewer fractional bits (read at T's
    // fractional bits by the product that follows). x itself when there is no shift.
    Sig shiftedRaw(Sig x, const FixedType& T) {
        const int sh = garnetNormShift(a_);
        if (sh == 0) return x;
        FixedType floored = FixedType::fixed(std::max(1, T.width - sh), T.integer, T.isSigned);
        floored.quant = Quant::TRN;
        floored.overflow = Overflow::WRAP;
        return castTo(c_, x, T.frac(), floored);
    }

    // x * constant, exact (a shift-add graph).
    Sig times(Sig x, int64_t k) { return linearMap(c_, {x}, {k}, 1, 1, {0})[0]; }

    std::vector<Sig> sublayer(size_t k, const std::vector<Sig>& data, const FixedType& dataT, int nIn,
                              const std::vector<Sig>& valid, Sig nSig, Sig norm, bool collapseMean) {
        const GarNetConstants::Sublayer& w = k_.sublayers[k];
        const int V = a_.nVertices, A = a_.nAggregators[k], F = a_.nFilters[k];
        const FixedType& itwT = l_.type("input_transform_weights");
        const FixedType& itbT = l_.type("input_transform_biases");
        const FixedType& adwT = l_.type("aggregator_distance_weights");
        const FixedType& adbT = l_.type("aggregator_distance_biases");
        const FixedType& otbT = l_.type("output_transform_biases");
        const int fd = dataT.frac(), fe = edgeT_.frac(), fag = aggrT_.frac(), fn = normT_.frac();
        // Distances and edge weights per vertex.
        MacSpec dist;
        dist.nIn = nIn;
        dist.nOut = A;
        for (int i = 0; i < nIn; ++i)
            for (int q = 0; q < A; ++q) dist.weight.push_back(w.aggregatorDistanceWeights[size_t(q * nIn + i)]);
        dist.bias = w.aggregatorDistanceBiases;
        dist.accum = distT_;
        dist.result = distT_;
        dist.weightFrac = adwT.frac();
        dist.biasFrac = adbT.frac();
        std::vector<Sig> edge(static_cast<size_t>(V * A)), masked(static_cast<size_t>(V * A));
        for (int v = 0; v < V; ++v) {
            const std::vector<Sig> x(data.begin() + ptrdiff_t(v) * nIn, data.begin() + ptrdiff_t(v + 1) * nIn);
            const std::vector<Sig> d = macRtl(c_, dist, x, dataT);
            for (int q = 0; q < A; ++q) {
                const size_t vq = size_t(v * A + q);
                edge[vq] = romLookup(c_, d[size_t(q)], edgeRom_, c_.prefix + "edge");
                masked[vq] = maskValid(c_, edge[vq], valid[size_t(v)], 0);
            }
        }
        // Sums over the valid vertices, then means (times norm).
        std::vector<Sig> meanE(static_cast<size_t>(A)), meanWF(static_cast<size_t>(A * nIn));
        for (int q = 0; q < A; ++q) {
            std::vector<Sig> es;
            for (int v = 0; v < V; ++v) es.push_back(masked[size_t(v * A + q)]);
            const Sig sumE = castChain(constant(c_, 0), es, fe, edgeSumT_);
            meanE[size_t(q)] = castTo(c_, multiply(c_, shiftedRaw(sumE, edgeSumT_), norm), edgeSumT_.frac() + fn, edgeT_);
            for (int i = 0; i < nIn; ++i) {
                std::vector<Sig> incr;
                for (int v = 0; v < V; ++v)
                    incr.push_back(castTo(c_, multiply(c_, data[size_t(v * nIn + i)], masked[size_t(v * A + q)]), fd + fe, dataT));
                const Sig sumWF = castChain(constant(c_, 0), incr, fd, aggrT_);
                meanWF[size_t(q * nIn + i)] = castTo(c_, multiply(c_, shiftedRaw(sumWF, aggrT_), norm), fag + fn, aggrT_);
            }
        }
        // base[o][q] = cast(meanE[q] * ITB[o][q]) + sum_x meanWF[q][x] * ITW[o][q][x]
        std::vector<Sig> base(static_cast<size_t>(F * A));
        for (int o = 0; o < F; ++o)
            for (int q = 0; q < A; ++q) {
                const size_t oq = size_t(o * A + q);
                const Sig b0 = castTo(c_, times(meanE[size_t(q)], w.inputTransformBiases[oq]), fe + itbT.frac(), aggrT_);
                std::vector<Sig> terms;
                for (int i = 0; i < nIn; ++i)
                    terms.push_back(times(meanWF[size_t(q * nIn + i)], w.inputTransformWeights[oq * size_t(nIn) + size_t(i)]));
                base[oq] = castChain(b0, terms, fag + itwT.frac(), aggrT_);
            }
        std::vector<Sig> out;
        if (collapseMean && garnetHls4mlNorm(a_)) {
            // hls4ml's mean over the n vertices: Fout_b + sum_q meanE[q] base[o][q]
            for (int o = 0; o < F; ++o) {
                const Sig acc0 = constant(c_, resT_.castRaw(Int128(w.outputTransformBiases[size_t(o)]), otbT.frac()));
                std::vector<Sig> terms;
                for (int q = 0; q < A; ++q) terms.push_back(multiply(c_, meanE[size_t(q)], base[size_t(o * A + q)]));
                out.push_back(castChain(acc0, terms, fe + fag, resT_));
            }
            return out;
        }
        if (collapseMean) {
            // Fout_b * n / V + sum_q meanE[q] base[o][q]
            for (int o = 0; o < F; ++o) {
                const Int128 b = aggrT_.castRaw(Int128(w.outputTransformBiases[size_t(o)]), otbT.frac());
                const Sig bn = castTo(c_, times(nSig, int64_t(b)), fag, aggrT_);
                const Sig bMean = castTo(c_, times(bn, k_.norm.at(0)), fag + fn, aggrT_);
                const Sig acc0 = castTo(c_, castTo(c_, bMean, fag, otbT), otbT.frac(), resT_);
                std::vector<Sig> terms;
                for (int q = 0; q < A; ++q) terms.push_back(multiply(c_, meanE[size_t(q)], base[size_t(o * A + q)]));
                out.push_back(castChain(acc0, terms, fe + fag, resT_));
            }
            return out;
        }
        // Per-vertex outputs, 0 for the vertices past n.
        for (int v = 0; v < V; ++v)
            for (int o = 0; o < F; ++o) {
                const Sig acc0 = constant(c_, resT_.castRaw(Int128(w.outputTransformBiases[size_t(o)]), otbT.frac()));
                std::vector<Sig> terms;
                for (int q = 0; q < A; ++q)
                    terms.push_back(castTo(c_, multiply(c_, edge[size_t(v * A + q)], base[size_t(o * A + q)]), fe + fag, resT_));
                out.push_back(maskValid(c_, castChain(acc0, terms, resT_.frac(), resT_), valid[size_t(v)], 0));
            }
        return out;
    }

    RtlContext& c_;
    const Layer& l_;
    const GarNetAttrs a_;
    const GarNetConstants& k_;
    const FixedType distT_, edgeT_, edgeSumT_, aggrT_, normT_, resT_;
    LookupTable edgeRom_;
};

}  // namespace

std::vector<Sig> garnetRtl(RtlContext& c, const Layer& l, const LoweredGraph& low, const std::vector<Sig>& vertices,
                           const FixedType& dataT, Sig count, const FixedType& countT) {
    return GarNetBuilder(c, l, low).build(vertices, dataT, count, countT);
}

}  // namespace tachyon::verilog
