#include "ops/reduce_pow/Rtl.h"

#include "ir/ReducePow.h"
#include "util/Error.h"

#include <algorithm>

namespace tachyon::verilog {

namespace {

// True when acc = cast<accum>(acc + x) never rounds nor overflows for n values of inT:
// then the running sum is the exact sum, and an adder tree computes it.
bool accumHoldsExactSum(const FixedType& acc, const FixedType& inT, int n) {
    if (acc.frac() < inT.frac()) return false;
    const int shift = acc.frac() - inT.frac();
    if (shift > 60) return false;
    return Int128(n) * (inT.maxRaw() << shift) <= acc.maxRaw() && Int128(n) * (inT.minRaw() << shift) >= acc.minRaw();
}

// The accumulator of docs/semantics.md as raw of accum (frac accF): an adder tree when the
// sum is exact in accum, else the step-by-step casts.
Sig accumulate(RtlContext& c, const std::vector<Sig>& xs, const FixedType& inT, const FixedType& acc) {
    const int inF = inT.frac(), accF = acc.frac();
    if (accumHoldsExactSum(acc, inT, int(xs.size()))) {
        const Sig sum = linearMap(c, xs, std::vector<int64_t>(xs.size(), 1), int(xs.size()), 1, {0})[0];
        return castTo(c, sum, inF, acc);
    }
    const int f = std::max(accF, inF);
    Sig a = castTo(c, xs[0], inF, acc);
    for (size_t k = 1; k < xs.size(); ++k)
        a = castTo(c, add(c, shiftLeft(c, a, f - accF), shiftLeft(c, xs[k], f - inF)), f, acc);
    return a;
}

}  // namespace

std::vector<Sig> reduceRtl(RtlContext& c, const Layer& l, const std::vector<Sig>& in, const FixedType& inT,
                           const Shape& inShape) {
    const auto& a = l.as<ReduceAttrs>();
    const ReduceDims d = reduceDims(a, inShape);
    const size_t block = size_t(d.n) * size_t(d.inner);
    if (block == 0 || in.size() % block != 0)
        throw Error("Verilog backend: layer " + l.name + ": " + std::to_string(in.size()) +
                    " values do not split into blocks of " + std::to_string(block));
    const size_t outer = in.size() / block;
    const FixedType& resT = l.type("result");
    MeanFactor factor;
    if (a.op == ReduceOp::Mean) factor = meanFactor(l, d.n);
    std::vector<Sig> out;
    for (size_t o = 0; o < outer; ++o)
        for (int i = 0; i < d.inner; ++i) {
            std::vector<Sig> xs;
            for (int k = 0; k < d.n; ++k) xs.push_back(in[o * block + size_t(k) * size_t(d.inner) + size_t(i)]);
            if (a.op == ReduceOp::Max) {
                out.push_back(castTo(c, maxTree(c, xs), inT.frac(), resT));
                continue;
            }
            const FixedType& acc = l.type("accum");
            const Sig s = accumulate(c, xs, inT, acc);
            if (a.op == ReduceOp::Sum) {
                out.push_back(castTo(c, s, acc.frac(), resT));
                continue;
            }
            // acc * (1/N): a shift (raw 1) or the reciprocal's shift-add constant product.
            const Sig scaled = factor.raw == 1 ? s : linearMap(c, {s}, {int64_t(factor.raw)}, 1, 1, {0})[0];
            out.push_back(castTo(c, scaled, acc.frac() + factor.frac, resT));
        }
    return out;
}

std::vector<Sig> powRtl(RtlContext& c, const Layer& l, const std::vector<Sig>& in, const FixedType& inT) {
    const int k = l.as<PowAttrs>().exponent;
    const FixedType& acc = l.type("accum");
    const FixedType& resT = l.type("result");
    std::vector<Sig> out;
    for (Sig x : in) {
        Sig p = x;
        int pF = inT.frac();
        for (int e = 1; e < k; ++e) {
            p = castTo(c, multiply(c, p, x), pF + inT.frac(), acc);
            pF = acc.frac();
        }
        out.push_back(castTo(c, p, pF, resT));
    }
    return out;
}

std::vector<Sig> powLayerRtl(RtlContext& c, const Layer& l, const LoweredGraph&, const std::vector<Sig>& in,
                   const FixedType& inT) {
    return powRtl(c, l, in, inT);
}

}  // namespace tachyon::verilog
