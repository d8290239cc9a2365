// MatMul between activations and LayerNormalization, built from the shared blocks of
// RtlOps.h with the emulator's arithmetic: every intermediate value is the exact integer
// the emulator holds, and every cast is the same cast.
#include "ops/attention/Rtl.h"

#include "util/Error.h"

#include <algorithm>

namespace tachyon::verilog {

namespace {

int floorLog2(Int128 v) {   // v > 0
    int p = -1;
    for (; v > 0; v >>= 1) ++p;
    return p;
}

// sum_k cast<A>(terms_k) in the emulator's order: acc = 0, acc = cast<A>(acc + term). The
// terms are already cast to A. When A wraps without saturation bits the sum is modular
// (any order, one wrap at the end); when no partial sum can leave A every cast is the
// identity; either way an adder tree. Otherwise the ascending chain of saturating casts.
Sig accumulate(RtlContext& c, const std::vector<Sig>& terms, const FixedType& A) {
    const bool modular = A.overflow == Overflow::WRAP && A.satBits == 0;
    const Int128 accLo = A.minRaw() + ((A.overflow == Overflow::SAT_SYM && A.isSigned) ? 1 : 0);
    bool safe = true;
    Int128 lo = 0, hi = 0;
    for (Sig t : terms) {
        lo += c.nl.node(t).lo;
        hi += c.nl.node(t).hi;
        safe = safe && lo >= accLo && hi <= A.maxRaw();
    }
    if (modular || safe) {
        const Sig s = linearMap(c, terms, std::vector<int64_t>(terms.size(), 1), int(terms.size()), 1, {0}, 0,
                                modular ? A.width + (A.isSigned ? 0 : 1) : 0)[0];
        return castTo(c, s, A.frac(), A);
    }
    Sig acc = constant(c, 0);
    for (Sig t : terms) acc = castTo(c, add(c, acc, t), A.frac(), A);
    return acc;
}

// A node of custom Verilog (operands already stage-aligned by the netlist).
Sig customNode(RtlContext& c, const std::string& base, std::vector<Sig> ops, Int128 lo, Int128 hi, double delay,
               std::function<void(std::ostream&, const std::vector<std::string>&, const std::string&)> body) {
    Node n;
    n.name = c.nl.freshName(c.prefix + base);
    n.ops = std::move(ops);
    n.lo = lo;
    n.hi = hi;
    n.delay = delay;
    n.body = std::move(body);
    return c.nl.add(std::move(n));
}

}  // namespace

std::vector<Sig> matMulRtl(RtlContext& c, const Layer& l, const std::vector<Sig>& a, const FixedType& aT,
                           const Shape& aShape, const std::vector<Sig>& b, const FixedType& bT, const Shape& bShape) {
    const size_t r = aShape.size();
    if (r < 2 || bShape.size() != r)
        throw Error("Verilog backend: layer " + l.name + " (MatMul): operands of ranks " + std::to_string(r) + " and " +
                    std::to_string(bShape.size()) + " (expected equal ranks >= 2)");
    const bool tb = l.as<MatMulAttrs>().transposeB;
    const int M = aShape[r - 2], K = aShape[r - 1], N = tb ? bShape[r - 2] : bShape[r - 1];
    const int batch = int(a.size() / size_t(std::max(M * K, 1)));
    if (size_t(batch) * M * K != a.size() || size_t(batch) * K * N != b.size())
        throw Error("Verilog backend: layer " + l.name + " (MatMul): operand sizes " + std::to_string(a.size()) + " and " +
                    std::to_string(b.size()) + " do not match the shapes");
    const FixedType& A = l.type("accum");
    const int pf = aT.frac() + bT.frac();
    std::vector<Sig> out;
    for (int bt = 0; bt < batch; ++bt) {
        const size_t a0 = size_t(bt) * M * K, b0 = size_t(bt) * K * N;
        for (int i = 0; i < M; ++i)
            for (int j = 0; j < N; ++j) {
                std::vector<Sig> terms;
                for (int k = 0; k < K; ++k) {
                    const Sig bv = b[b0 + (tb ? size_t(j) * K + k : size_t(k) * N + j)];
                    terms.push_back(castTo(c, multiply(c, a[a0 + size_t(i) * K + k], bv), pf, A));
                }
                out.push_back(castTo(c, accumulate(c, terms, A), A.frac(), l.type("result")));
            }
    }
    return out;
}

// 1/sqrt(v) as LayerNorm.cpp takes it: v = m 2^e with e = p - fa (p the leading one of the
// raw v > 0), the table entry at index {parity(e), the indexBits bits below the leading
// one}, scaled by 2^-h, h = (e - parity) / 2. In hardware: a priority encoder gives
// sh = W - 2 - p (W: v's wire width, its top bit the sign), the mantissa bits are a left
// shift of v by sh, and 2^-h is a left shift of the entry selected by sh (a mux), so that
// the returned value is entry * 2^-h as a raw at frac ft + hUp.
struct InvSqrt {
    Sig value;
    int frac;
};

InvSqrt invSqrt(RtlContext& c, const LookupTable& table, Sig v, int fa) {
    const Node vn = c.nl.node(v);
    const int W = vn.width;
    int B = 0;
    while ((2 << B) < table.size) ++B;
    const int pMin = floorLog2(std::max<Int128>(vn.lo, 1)), pMax = floorLog2(vn.hi);
    const int shMin = W - 2 - pMax, shMax = W - 2 - pMin;
    const Sig sh = customNode(c, "lnsh", {v}, shMin, shMax, c.delay.logic() * 2,
                              [=](std::ostream& os, const std::vector<std::string>& o, const std::string& self) {
                                  os << "  assign " << self << " = ";
                                  for (int p = pMax; p > pMin; --p) os << o[0] << "[" << p << "] ? " << W - 2 - p << " : ";
                                  os << W - 2 - pMin << ";\n";
                              });
    const int parityFlip = ((W - fa) % 2 + 2) % 2;   // parity(p - fa) = sh[0] ^ parity(W - fa)
    const Sig index = customNode(
        c, "lnidx", {v, sh}, 0, (Int128(2) << B) - 1, c.delay.logic() * 2,
        [=](std::ostream& os, const std::vector<std::string>& o, const std::string& self) {
            os << "  wire [" << W + B - 1 << ":0] " << self << "_t = {" << o[0];
            if (B > 0) os << ", {" << B << "{1'b0}}";
            os << "} << " << o[1] << ";\n";
            os << "  assign " << self << " = {1'b0, " << o[1] << "[0] ^ 1'b" << parityFlip;
            if (B > 0) os << ", " << self << "_t[" << W + B - 3 << ":" << W - 2 << "]";
            os << "};\n";
        });
    LookupTable direct = table;   // indexed by the raw index itself
    direct.shift = 0;
    direct.offset = 0;
    direct.sliced = false;
    const Sig entry = romLookup(c, index, direct, c.prefix + "rsqrt");
    // h for each sh; the entry is shifted left by hUp - h >= 0.
    std::vector<int> h;
    for (int s = shMin; s <= shMax; ++s) {
        const int e = (W - 2 - s) - fa;
        const int parity = ((e % 2) + 2) % 2;
        h.push_back((e - parity) / 2);
    }
    const int hUp = std::max(0, *std::max_element(h.begin(), h.end()));
    std::vector<Sig> scaled;
    for (int hs : h) scaled.push_back(shiftLeft(c, entry, hUp - hs));
    const Sig sel = shMin == 0 ? sh : add(c, sh, constant(c, shMin), true);
    return {scaled.size() == 1 ? scaled[0] : selectIndex(c, sel, scaled), table.valueType.frac() + hUp};
}

std::vector<Sig> layerNormRtl(RtlContext& c, const Layer& l, const LoweredGraph& low, const std::vector<Sig>& in,
                              const FixedType& inT) {
    const int n = l.shape.back();
    const FixedType& A = l.type("accum");
    const int fa = A.frac(), fx = inT.frac(), fd = std::max(fx, fa);
    const int fg = l.type("scale").frac(), fb = l.type("bias").frac();
    const auto& gamma = low.scaleRaw(l.name);
    const auto& beta = low.biasRaw(l.name);
    const LookupTable* table = low.activationTable(l.name);
    if (!table) throw Error("Verilog backend: layer " + l.name + " has no 1/sqrt table in the emulator");
    const Int128 eps = A.castDouble(l.as<LayerNormAttrs>().epsilon);
    std::vector<Sig> out;
    for (size_t g = 0; g + size_t(n) <= in.size(); g += size_t(n)) {
        const std::vector<Sig> x(in.begin() + ptrdiff_t(g), in.begin() + ptrdiff_t(g) + n);
        const Sig sum = linearMap(c, x, std::vector<int64_t>(size_t(n), 1), n, 1, {0})[0];
        const Sig mean = castDivConst(c, sum, fx, n, A);
        std::vector<Sig> d, squares;
        for (Sig xi : x) {
            d.push_back(castTo(c, add(c, shiftLeft(c, xi, fd - fx), shiftLeft(c, mean, fd - fa), true), fd, A));
            squares.push_back(multiply(c, d.back(), d.back()));
        }
        const Sig sq = linearMap(c, squares, std::vector<int64_t>(size_t(n), 1), n, 1, {0})[0];
        const Sig var = castDivConst(c, sq, 2 * fa, n, A);
        // v = var + eps exactly; v <= 0 (a wrapped variance, a negative epsilon) counts as one LSB.
        const Sig v = maximum(c, add(c, var, constant(c, eps)), constant(c, 1));
        const InvSqrt r = invSqrt(c, *table, v, fa);
        // y_i = cast<result>(d_i * r * gamma_i + beta_i), exact at frac fm.
        const int pf = fa + r.frac + fg, fm = std::max(pf, fb);
        for (int i = 0; i < n; ++i) {
            const Sig dr = multiply(c, d[size_t(i)], r.value);
            const Int128 b = Int128(beta[size_t(i)]) << (fm - fb);
            const Sig y = linearMap(c, {dr}, {gamma[size_t(i)]}, 1, 1, {b}, fm - pf)[0];
            out.push_back(castTo(c, y, fm, l.type("result")));
        }
    }
    return out;
}

}  // namespace tachyon::verilog
