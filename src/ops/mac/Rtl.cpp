// Dense and the multiply-accumulate of every convolution window as netlist blocks: shift-add
// adder graphs of the constant weights, or XNOR-popcounts for binary x binary layers.
#include "ops/mac/Rtl.h"

#include "util/Error.h"

#include <algorithm>
#include <string>
#include <vector>

namespace tachyon::verilog {

// Dense accumulation:
//  * products exact (accum frac >= input frac + weight frac) and the accumulator either
//    wraps without saturation bits (sums are then modular: any order gives the same
//    bits) or can never overflow in the ascending order (interval bound; then every cast
//    is the identity): the whole layer is one constant matrix-vector product, built as
//    a shift-add adder graph with CSE, bias folded into the last adder, one cast at the end;
//  * otherwise each product is computed exactly (shift-add per input, shared across
//    outputs), cast to accum individually, and summed as a tree when the accumulator is
//    modular or cannot overflow, or as the ascending chain of saturating casts otherwise.

std::vector<Sig> macRtl(RtlContext& c, const MacSpec& spec, const std::vector<Sig>& in, const FixedType& inT) {
    const auto& w = spec.weight;
    const auto& b = spec.bias;
    const FixedType& A = spec.accum;
    const int nIn = spec.nIn, nOut = spec.nOut;
    const int fp = inT.frac() + spec.weightFrac;
    const int fa = A.frac();
    const int up = fa - fp;   // product -> accumulator LSB shift
    const bool modular = A.overflow == Overflow::WRAP && A.satBits == 0;
    const Int128 accLo = A.minRaw() + ((A.overflow == Overflow::SAT_SYM && A.isSigned) ? 1 : 0);
    const Int128 accHi = A.maxRaw();

    std::vector<Int128> bias(static_cast<size_t>(nOut));
    for (int j = 0; j < nOut; ++j) bias[size_t(j)] = A.castRaw(Int128(b[size_t(j)]), spec.biasFrac);

    // Can any cast of the ascending accumulation overflow (products exact only)?
    bool safe = up >= 0;
    for (int j = 0; j < nOut && safe; ++j) {
        Int128 lo = bias[size_t(j)], hi = lo;
        safe = lo >= accLo && hi <= accHi;
        for (int i = 0; i < nIn && safe; ++i) {
            const Int128 wij = w[size_t(i) * nOut + j];
            if (wij == 0) continue;
            const Node& x = c.nl.node(in[size_t(i)]);
            Int128 p1 = (x.lo * wij) << up, p2 = (x.hi * wij) << up;
            lo += std::min(p1, p2);
            hi += std::max(p1, p2);
            safe = std::min(p1, p2) >= accLo && std::max(p1, p2) <= accHi && lo >= accLo && hi <= accHi;
        }
    }

    std::vector<Sig> acc;
    // Round half up (AP_RND) to the result is floor((acc + half) / 2^k): when the
    // accumulator cast is the identity (safe), the half joins the bias in the adder graph
    // and the result cast is a slice, one adder level less.
    const int roundShift = fa - spec.result.frac();
    if (up >= 0 && safe && spec.result.quant == Quant::RND && roundShift > 0) {
        std::vector<Int128> biasHalf(bias);
        for (Int128& k : biasHalf) k += Int128(1) << (roundShift - 1);
        acc = linearMap(c, in, w, nIn, nOut, biasHalf, up, 0);
        return macOutputs(c, spec, acc, true);
    }
    if (up >= 0 && (modular || safe)) {
        acc = linearMap(c, in, w, nIn, nOut, bias, up, modular ? A.width + (A.isSigned ? 0 : 1) : 0);
        for (auto& s : acc) s = castTo(c, s, fa, A);   // wraps (modular) or is the identity (safe)
    } else {
        // products[i][j] = cast<accum>(x_i * w_ij), each input's products as one shift-add graph
        std::vector<std::vector<Sig>> prod(static_cast<size_t>(nIn));
        for (int i = 0; i < nIn; ++i) {
            std::vector<int64_t> row(w.begin() + ptrdiff_t(i) * nOut, w.begin() + ptrdiff_t(i + 1) * nOut);
            prod[size_t(i)] = linearMap(c, {in[size_t(i)]}, row, 1, nOut, std::vector<Int128>(size_t(nOut), 0));
            for (int j = 0; j < nOut; ++j)
                if (row[size_t(j)] != 0) prod[size_t(i)][size_t(j)] = castTo(c, prod[size_t(i)][size_t(j)], fp, A);
        }
        for (int j = 0; j < nOut; ++j) {
            std::vector<Sig> terms;
            for (int i = 0; i < nIn; ++i)
                if (w[size_t(i) * nOut + j] != 0) terms.push_back(prod[size_t(i)][size_t(j)]);
            // Are the sums of the (already cast) products safe in ascending order?
            bool sumSafe = modular;
            if (!sumSafe) {
                Int128 lo = bias[size_t(j)], hi = lo;
                sumSafe = true;
                for (Sig t : terms) {
                    lo += c.nl.node(t).lo;
                    hi += c.nl.node(t).hi;
                    sumSafe = sumSafe && lo >= accLo && hi <= accHi;
                }
            }
            Sig a;
            if (sumSafe) {
                a = linearMap(c, terms, std::vector<int64_t>(terms.size(), 1), int(terms.size()), 1,
                              {bias[size_t(j)]}, 0, modular ? A.width + (A.isSigned ? 0 : 1) : 0)[0];
                a = castTo(c, a, fa, A);
            } else {
                a = constant(c, bias[size_t(j)]);
                for (Sig t : terms) a = castTo(c, add(c, a, t), fa, A);
            }
            acc.push_back(a);
        }
    }
    return macOutputs(c, spec, acc);
}

std::vector<Sig> macOutputs(RtlContext& c, const MacSpec& spec, const std::vector<Sig>& acc, bool halfAdded) {
    FixedType r = spec.result;
    if (halfAdded) r.quant = Quant::TRN;   // floor of (acc + half): AP_RND's result
    // relu(sat(q)) = clamp(q, max(lo, 0), max(hi, 0)): one clamp instead of two in a row.
    const bool oneClamp = spec.relu && r.overflow == Overflow::SAT;
    std::vector<Sig> out;
    for (Sig a : acc) {
        Sig z;
        if (oneClamp) {
            z = castQuantize(c, a, spec.accum.frac(), r);
            z = clampConst(c, z, std::max<Int128>(r.minRaw(), 0), std::max<Int128>(r.maxRaw(), 0));
        } else {
            z = castTo(c, a, spec.accum.frac(), r);
        }
        if (spec.relu) z = clampConst(c, z, 0, std::max<Int128>(c.nl.node(z).hi, 0));
        out.push_back(z);
    }
    return out;
}

// A binary x binary Dense or Conv (passes/BinaryMac.h, as the emulator computes it). Each
// input holds +A or -A, so one bit says everything: b_i = ~sign(x_i), a wire. The XNOR of
// b_i with a constant weight bit c_ij is b_i (c_ij = 1) or 1 - b_i (c_ij = 0), so
//     popcount_j = n0_j + sum_i (c_ij ? +b_i : -b_i),   n0_j = #{i : c_ij = 0},
// and acc_j = offset_j + step_j popcount_j is an add/subtract tree of 1-bit values with the
// constants folded in (shift-add graph with CSE: a pair b_a +- b_b shared by several
// outputs, with either sign, is added once). Its adders are one bit narrower at every
// level than the same tree over the +-A values themselves; then the usual casts.
//
// mayBeZero (a streamed convolution whose padded window taps are zeroed at run time): an
// input is +A, -A or 0, so it is re-encoded as t_i = x_i / A in {-1, 0, 1}, two bits
// {sign, x != 0} (x itself when A = 1 and x has at most 2 bits), and acc_j =
// cast<accum>(b_j) + S_j sum_i (c_ij ? +t_i : -t_i) with S_j = step_j / 2: a padded tap
// adds nothing, exactly as in the generic accumulation.
std::vector<Sig> xnorRtl(RtlContext& c, const MacSpec& spec, const BinaryMac& f, const std::vector<Sig>& in,
                         bool mayBeZero) {
    const int nIn = f.nIn, nOut = f.nOut;
    std::vector<Sig> bits;
    for (int i = 0; i < nIn; ++i) {
        const Node& x = c.nl.node(in[size_t(i)]);
        Node n;
        n.name = c.nl.freshName(c.prefix + "xbit");
        n.ops = {in[size_t(i)]};
        const int msb = x.width - 1;
        if (mayBeZero && f.inputLevel == 1 && x.lo >= -1 && x.hi <= 1) {
            n.lo = -1;   // already x / A in {-1, 0, 1}: a wire
            n.hi = 1;
            n.delay = 0.0;
            n.body = [](std::ostream& os, const std::vector<std::string>& o, const std::string& self) {
                os << "  assign " << self << " = " << o[0] << ";\n";
            };
        } else if (mayBeZero) {
            n.lo = -1;
            n.hi = 1;
            n.delay = c.delay.logic();   // the OR of x's bits: one LUT
            n.body = [msb](std::ostream& os, const std::vector<std::string>& o, const std::string& self) {
                os << "  assign " << self << " = {" << o[0] << "[" << msb << "], |" << o[0] << "};\n";
            };
        } else {
            n.lo = 0;
            n.hi = 1;
            n.delay = 0.0;   // a wire (the inversion merges into the first adder's LUT)
            n.body = [msb](std::ostream& os, const std::vector<std::string>& o, const std::string& self) {
                os << "  assign " << self << " = {1'b0, ~" << o[0] << "[" << msb << "]};\n";
            };
        }
        bits.push_back(c.nl.add(std::move(n)));
    }
    // Each bit's weight in output j is +-step_j (1-bit encoding) or +-S_j (ternary):
    // m_j 2^k, k the fewest trailing zeros of any of them, 2^k the common shift.
    std::vector<int64_t> unit;
    for (int64_t s : f.step) unit.push_back(mayBeZero ? s / 2 : s);
    int k = 62;
    for (int64_t s : unit) {
        int tz = 0;
        while (tz < 62 && ((s >> tz) & 1) == 0) ++tz;
        k = std::min(k, tz);
    }
    std::vector<int64_t> m(size_t(nIn) * size_t(nOut), 0);
    std::vector<Int128> constants;
    for (int j = 0; j < nOut; ++j) {
        const int64_t mj = unit[size_t(j)] >> k;
        int64_t zeros = 0;
        for (int i = 0; i < nIn; ++i) {
            const bool one = f.weightBit[size_t(i) * size_t(nOut) + size_t(j)] != 0;
            m[size_t(i) * size_t(nOut) + size_t(j)] = one ? mj : -mj;
            zeros += !one;
        }
        if (mayBeZero)   // cast<accum>(b_j) = offset_j + N S_j
            constants.push_back(Int128(f.offset[size_t(j)]) + Int128(unit[size_t(j)]) * nIn);
        else
            constants.push_back(Int128(f.offset[size_t(j)]) + Int128(f.step[size_t(j)]) * zeros);
    }
    const std::vector<Sig> acc = linearMap(c, bits, m, nIn, nOut, constants, k);
    return macOutputs(c, spec, acc);
}

MacSpec macSpec(const Layer& l, const LoweredGraph& low) {
    MacSpec s;
    s.weight = low.weightRaw(l.name);
    s.bias = low.biasRaw(l.name);
    const auto d = macDims(l);
    s.nIn = d.nIn;
    s.nOut = d.nOut;
    s.accum = l.type("accum");
    s.weightFrac = l.type("weight").frac();
    s.biasFrac = l.type("bias").frac();
    s.result = l.type("result");
    s.relu = l.activation() == ActKind::ReLU;
    return s;
}

namespace {

std::vector<Sig> dense(RtlContext& c, const Layer& l, const LoweredGraph& low, const std::vector<Sig>& in,
                       const FixedType& inT) {
    const MacSpec s = macSpec(l, low);
    const BinaryMac* binary = low.binaryMac(l.name);
    auto one = [&](const std::vector<Sig>& x) { return binary ? xnorRtl(c, s, *binary, x) : macRtl(c, s, x, inT); };
    if (int(in.size()) == s.nIn) return one(in);
    // Dense over the last axis of an N-D tensor: one MAC per position.
    std::vector<Sig> out;
    for (size_t p = 0; p + size_t(s.nIn) <= in.size(); p += size_t(s.nIn)) {
        auto y = one(std::vector<Sig>(in.begin() + ptrdiff_t(p), in.begin() + ptrdiff_t(p) + s.nIn));
        out.insert(out.end(), y.begin(), y.end());
    }
    return out;
}

}  // namespace

std::vector<Sig> denseRtl(RtlContext& c, const Layer& l, const LoweredGraph& low, const std::vector<Sig>& in,
                          const FixedType& inT) {
    return dense(c, l, low, in, inT);
}

std::string macLegality(const Layer& l) {
    if (l.activation() != ActKind::Linear && l.activation() != ActKind::ReLU)
        return "fused activation " + toString(l.activation()) + " (only linear/relu are fused)";
    return {};
}

}  // namespace tachyon::verilog
