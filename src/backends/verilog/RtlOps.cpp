#include "backends/verilog/RtlOps.h"

#include "backends/verilog/BitHeap.h"
#include "backends/verilog/Cmvm.h"
#include "util/Error.h"

#include <algorithm>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

namespace tachyon::verilog {

namespace {

std::string str(int v) { return std::to_string(v); }

// Exact rounding of raw / 2^s with quantisation mode q (no overflow handling).
Int128 quantize(Int128 raw, int s, Quant q) {
    FixedType wide;
    wide.width = 120;
    wide.integer = 120;
    wide.quant = q;
    wide.overflow = Overflow::WRAP;
    return wide.castRaw(raw, s);
}

Sig makeNode(RtlContext& c, const std::string& base, std::vector<Sig> ops, Int128 lo, Int128 hi, double delay,
             std::function<void(std::ostream&, const std::vector<std::string>&, const std::string&)> body,
             int modBits = 0) {
    Node n;
    n.name = c.nl.freshName(c.prefix + base);
    n.ops = std::move(ops);
    if (modBits > 0 && signedBits(lo, hi) > modBits) {
        lo = -(Int128(1) << (modBits - 1));
        hi = (Int128(1) << (modBits - 1)) - 1;
    }
    n.lo = lo;
    n.hi = hi;
    n.delay = delay;
    n.body = std::move(body);
    return c.nl.add(std::move(n));
}

std::string shifted(const std::string& op, int k) { return k == 0 ? op : "(" + op + " <<< " + str(k) + ")"; }

}  // namespace

Sig constant(RtlContext& c, Int128 v) {
    return makeNode(c, "const", {}, v, v, 0.0, [v](std::ostream& os, const auto&, const std::string& self) {
        os << "  assign " << self << " = " << literal(v) << ";\n";
    });
}

Sig shiftLeft(RtlContext& c, Sig a, int k) {
    if (k == 0) return a;
    const Node& n = c.nl.node(a);
    return makeNode(c, "shl", {a}, n.lo * (Int128(1) << k), n.hi * (Int128(1) << k), 0.0,
                    [k](std::ostream& os, const auto& ops, const std::string& self) {
                        os << "  assign " << self << " = " << ops[0] << " <<< " << k << ";\n";
                    });
}

Sig add(RtlContext& c, Sig a, Sig b, bool subtract) {
    const Node &na = c.nl.node(a), &nb = c.nl.node(b);
    Int128 lo = subtract ? na.lo - nb.hi : na.lo + nb.lo;
    Int128 hi = subtract ? na.hi - nb.lo : na.hi + nb.hi;
    return makeNode(c, subtract ? "sub" : "add", {a, b}, lo, hi, c.delay.adder(signedBits(lo, hi), subtract),
                    [subtract](std::ostream& os, const auto& ops, const std::string& self) {
                        os << "  assign " << self << " = " << ops[0] << (subtract ? " - " : " + ") << ops[1] << ";\n";
                    });
}

Sig multiply(RtlContext& c, Sig a, Sig b, Int128 addend) {
    const Node &na = c.nl.node(a), &nb = c.nl.node(b);
    // A product that with the cast after it (one LUT level) does not fit a pipeline
    // stage (softmax e * r at 16 bits) becomes two half products and their sum, so that
    // the scheduler can put a register between them, and each operand bit of b fans out to
    // half as many partial products per node. (Below 4 bits a product is a few LUTs.)
    if (std::min(na.width, nb.width) >= 4 &&
        c.delay.multiply(na.width, nb.width) + c.delay.logic() > c.stageBudgetNs) {
        const int k = nb.width / 2;
        const Int128 lowMask = (Int128(1) << k) - 1;
        const Int128 highLo = nb.lo >> k, highHi = nb.hi >> k;   // before makeNode moves the nodes
        const Sig lowBits = makeNode(c, "mlo", {b}, 0, lowMask, 0.0, [k](std::ostream& os, const auto& ops, const std::string& self) {
            os << "  assign " << self << " = {1'b0, " << ops[0] << "[" << k - 1 << ":0]};\n";
        });
        const Sig highBits = makeNode(c, "mhi", {b}, highLo, highHi, 0.0,
                                      [k](std::ostream& os, const auto& ops, const std::string& self) {
                                          os << "  assign " << self << " = " << ops[0] << " >>> " << k << ";\n";
                                      });
        return add(c, multiply(c, a, lowBits, addend), shiftLeft(c, multiply(c, a, highBits), k));
    }
    Int128 p[4] = {na.lo * nb.lo, na.lo * nb.hi, na.hi * nb.lo, na.hi * nb.hi};
    // A constant addend joins the partial products' adder tree (Yosys maps `a * b + k` as
    // one multiply-accumulate): no adder level of its own.
    const Sig y = makeNode(c, "mul", {a, b}, *std::min_element(p, p + 4) + addend, *std::max_element(p, p + 4) + addend,
                           c.delay.multiply(na.width, nb.width),
                           [addend](std::ostream& os, const auto& ops, const std::string& self) {
                               os << "  assign " << self << " = " << ops[0] << " * " << ops[1];
                               if (addend != 0) os << " + " << literal(addend);
                               os << ";\n";
                           });
    // Each operand bit feeds a row of partial products (two per LUT6).
    c.nl.node(y).operandLoads = {std::max(1.0, c.nl.node(b).width / 2.0), std::max(1.0, c.nl.node(a).width / 2.0)};
    // Two partial products per LUT6, then their adder tree (about one LUT per result bit).
    c.nl.node(y).luts = c.nl.node(a).width * c.nl.node(b).width / 2.0 + c.nl.node(y).width;
    return y;
}

Sig maximum(RtlContext& c, Sig a, Sig b) {
    const Node &na = c.nl.node(a), &nb = c.nl.node(b);
    return makeNode(c, "max", {a, b}, std::max(na.lo, nb.lo), std::max(na.hi, nb.hi),
                    c.delay.compare(std::max(na.width, nb.width)) + c.delay.logic(),
                    [](std::ostream& os, const auto& ops, const std::string& self) {
                        os << "  assign " << self << " = (" << ops[0] << " > " << ops[1] << ") ? " << ops[0] << " : "
                           << ops[1] << ";\n";
                    });
}

Sig maxTree(RtlContext& c, std::vector<Sig> level) {
    while (level.size() > 1) {
        std::vector<Sig> next;
        for (size_t k = 0; k + 1 < level.size(); k += 2) next.push_back(maximum(c, level[k], level[k + 1]));
        if (level.size() % 2) next.push_back(level.back());
        level = next;
    }
    return level[0];
}

Sig clampConst(RtlContext& c, Sig a, Int128 lo, Int128 hi) {
    const Node& n = c.nl.node(a);
    const bool low = n.lo < lo, high = n.hi > hi;
    if (!low && !high) return a;
    const Int128 rlo = std::clamp(n.lo, lo, hi), rhi = std::clamp(n.hi, lo, hi);
    // A sign test is enough for max(a, 0): one LUT level, no comparator.
    const bool signTest = low && lo == 0;
    const int w = n.width;
    return makeNode(c, "clamp", {a}, rlo, rhi, c.delay.compare(w) + c.delay.logic(),
                    [=](std::ostream& os, const auto& ops, const std::string& self) {
                        std::string e = ops[0];
                        if (high) e = "(" + ops[0] + " > " + literal(hi) + ") ? " + literal(hi) + " : " + e;
                        if (low)
                            e = (signTest ? ops[0] + "[" + str(w - 1) + "]" : "(" + ops[0] + " < " + literal(lo) + ")") +
                                " ? " + literal(lo) + " : (" + e + ")";
                        os << "  assign " << self << " = " << e << ";\n";
                    });
}

Sig selectSign(RtlContext& c, Sig key, Sig ifNonNegative, Sig ifNegative) {
    const Node &nk = c.nl.node(key), &p = c.nl.node(ifNonNegative), &n = c.nl.node(ifNegative);
    Int128 lo = std::min(p.lo, n.lo), hi = std::max(p.hi, n.hi);
    const int w = nk.width;
    return makeNode(c, "sel", {key, ifNonNegative, ifNegative}, lo, hi, c.delay.logic(),
                    [w](std::ostream& os, const auto& ops, const std::string& self) {
                        os << "  assign " << self << " = " << ops[0] << "[" << w - 1 << "] ? " << ops[2] << " : "
                           << ops[1] << ";\n";
                    });
}

Sig castQuantize(RtlContext& c, Sig src, int srcFrac, const FixedType& dst) {
    const int s = srcFrac - dst.frac();
    Sig q = src;
    {
        const Node v = c.nl.node(src);
        if (s > 0) {
            const Int128 qlo = quantize(v.lo, s, dst.quant), qhi = quantize(v.hi, s, dst.quant);
            const int wx = std::max(v.width, s + 1);
            std::string inc;
            // Bits the increment reads: its LUT tree runs before the adder's carry input.
            int incBits = 1;
            const std::string half = "x[" + str(s - 1) + "]";
            const std::string rest = s >= 2 ? "(|x[" + str(s - 2) + ":0])" : "1'b0";
            const std::string neg = "x[" + str(wx - 1) + "]";
            switch (dst.quant) {
            case Quant::TRN: break;
            case Quant::TRN_ZERO: inc = neg + " & (|x[" + str(s - 1) + ":0])", incBits = s + 1; break;
            case Quant::RND: inc = half; break;
            case Quant::RND_ZERO: inc = half + " & (" + rest + " | " + neg + ")", incBits = s + 1; break;
            case Quant::RND_INF: inc = half + " & (" + rest + " | ~" + neg + ")", incBits = s + 1; break;
            case Quant::RND_MIN_INF: inc = half + " & " + rest, incBits = s; break;
            case Quant::RND_CONV: inc = half + " & (" + rest + " | x[" + str(s) + "])", incBits = s + 1; break;
            }
            // The sticky reduction (|x[s-2:0]) is a LUT tree in series with the adder's
            // carry input (a cast dropping many bits, as GarNet's aggregations do, needs
            // two or three levels); it used to be left out of the estimate.
            q = makeNode(c, "q", {src}, qlo, qhi, inc.empty() ? 0.0 : c.delay.reduce(incBits) + c.delay.adder(wx - s + 1),
                         [=](std::ostream& os, const auto& ops, const std::string& self) {
                             auto sub = [&](std::string t) {
                                 for (size_t p = 0; (p = t.find("x[", p)) != std::string::npos; p += self.size() + 3)
                                     t.replace(p, 1, self + "_x");
                                 return t;
                             };
                             // floor(x / 2^s) as the upper bits (a part select: no shift operator,
                             // whose context-width rules Verilator 5.006 gets wrong here).
                             os << "  wire signed [" << wx - 1 << ":0] " << self << "_x = " << ops[0] << ";\n";
                             os << "  wire signed [" << wx - s - 1 << ":0] " << self << "_f = " << self << "_x["
                                << wx - 1 << ":" << s << "];\n";
                             if (inc.empty()) {
                                 os << "  assign " << self << " = " << self << "_f;\n";
                             } else {
                                 os << "  wire " << self << "_inc = " << sub(inc) << ";\n";
                                 os << "  assign " << self << " = " << self << "_f + $signed({1'b0, " << self
                                    << "_inc});\n";
                             }
                         });
        } else if (s < 0) {
            q = shiftLeft(c, src, -s);
        }
    }
    return q;
}

Sig castTo(RtlContext& c, Sig src, int srcFrac, const FixedType& dst) {
    const Sig q = castQuantize(c, src, srcFrac, dst);
    const Node qn = c.nl.node(q);
    const Int128 lo = dst.minRaw(), hi = dst.maxRaw();
    const bool over = qn.lo < lo || qn.hi > hi;
    const bool symQuirk = dst.overflow == Overflow::SAT_SYM && dst.isSigned && qn.lo <= lo && lo <= qn.hi;
    if (!over && !symQuirk) return q;

    const int wq = qn.width;
    const double d = c.delay.compare(wq) + c.delay.logic();
    switch (dst.overflow) {
    case Overflow::SAT:
        return clampConst(c, q, lo, hi);
    case Overflow::SAT_ZERO: {
        Int128 rlo = std::max(qn.lo, lo), rhi = std::min(qn.hi, hi);
        return makeNode(c, "satz", {q}, std::min<Int128>(rlo, 0), std::max<Int128>(rhi, 0), d,
                        [=](std::ostream& os, const auto& ops, const std::string& self) {
                            os << "  assign " << self << " = (" << ops[0] << " > " << literal(hi) << " || " << ops[0]
                               << " < " << literal(lo) << ") ? " << literal(0) << " : " << ops[0] << ";\n";
                        });
    }
    case Overflow::SAT_SYM: {
        // Signed: the most negative value is never produced, -max instead.
        const Int128 floorV = dst.isSigned ? -hi : 0;
        const Int128 rlo = std::clamp(qn.lo, floorV, hi), rhi = std::clamp(qn.hi, floorV, hi);
        return makeNode(c, "sats", {q}, rlo, rhi, d, [=](std::ostream& os, const auto& ops, const std::string& self) {
            os << "  assign " << self << " = (" << ops[0] << " > " << literal(hi) << ") ? " << literal(hi) << " : ("
               << ops[0] << " <= " << literal(dst.isSigned ? lo : Int128(-1)) << ") ? " << literal(floorV) << " : "
               << ops[0] << ";\n";
        });
    }
    case Overflow::WRAP: break;
    }
    // WRAP: keep the low W bits; with saturation bits, the top N bits are forced to the
    // side the value left on.
    const int W = dst.width;
    const int n = std::min(dst.satBits, W);
    const int we = std::max(wq, W);
    const bool sgn = dst.isSigned;
    return makeNode(c, "wrap", {q}, lo, hi, n > 0 ? d : 0.0, [=](std::ostream& os, const auto& ops, const std::string& self) {
        os << "  wire signed [" << we - 1 << ":0] " << self << "_e = " << ops[0] << ";\n";
        std::string bits = self + "_e[" + str(W - 1) + ":0]";
        if (n > 0) {
            os << "  wire " << self << "_neg = " << self << "_e < " << literal(lo) << ";\n";
            os << "  wire " << self << "_ovf = " << self << "_neg || " << self << "_e > " << literal(hi) << ";\n";
            std::string top;
            for (int b = W - 1; b >= W - n; --b) {
                const bool signBit = sgn && b == W - 1;
                top += (top.empty() ? "" : ", ") + std::string(signBit ? "" : "~") + self + "_neg";
            }
            os << "  wire [" << W - 1 << ":0] " << self << "_b = " << self << "_ovf ? {" << top
               << (n < W ? ", " + self + "_e[" + str(W - n - 1) + ":0]" : std::string()) << "} : " << bits << ";\n";
            bits = self + "_b";
        }
        os << "  assign " << self << " = " << (sgn ? bits : "{1'b0, " + bits + "}") << ";\n";
    });
}

std::vector<Sig> linearMap(RtlContext& c, const std::vector<Sig>& x, const std::vector<int64_t>& m, int nIn,
                           int nOut, const std::vector<Int128>& consts, int outShift, int modBits) {
    if (int(x.size()) != nIn || m.size() != size_t(nIn) * size_t(nOut) || int(consts.size()) != nOut)
        throw Error("Verilog backend: linear map of " + c.prefix + " has inconsistent sizes");
    // Internal sums are at the unshifted scale, so they need outShift fewer bits.
    const int innerMod = modBits > 0 ? std::max(1, modBits - outShift) : 0;
    std::vector<Sig> y(static_cast<size_t>(nOut));
    auto rangeOf = [&](const std::vector<Int128>& coeff, Int128& lo, Int128& hi) {
        lo = hi = 0;
        for (int i = 0; i < nIn; ++i) {
            const Node& n = c.nl.node(x[size_t(i)]);
            const Int128 k = coeff[size_t(i)];
            lo += k > 0 ? k * n.lo : k * n.hi;
            hi += k > 0 ? k * n.hi : k * n.lo;
        }
    };

    if (c.naive) {
        // One multiplier per non-zero weight and one multi-operand sum per output.
        for (int j = 0; j < nOut; ++j) {
            std::vector<Sig> ops;
            std::vector<Int128> coeff(size_t(nIn), 0);
            for (int i = 0; i < nIn; ++i) {
                const int64_t w = m[size_t(i) * nOut + j];
                if (w == 0) continue;
                coeff[size_t(i)] = w;
                const Node& xn = c.nl.node(x[size_t(i)]);
                Int128 a = xn.lo * w, b = xn.hi * w;
                ops.push_back(makeNode(c, "p", {x[size_t(i)]}, std::min(a, b), std::max(a, b),
                                       c.delay.multiply(xn.width, signedBits(w, w)),
                                       [w](std::ostream& os, const auto& o, const std::string& self) {
                                           os << "  assign " << self << " = " << o[0] << " * " << literal(w) << ";\n";
                                       },
                                       innerMod));
            }
            Int128 lo, hi;
            rangeOf(coeff, lo, hi);
            const Int128 k = consts[size_t(j)];
            lo = (lo << outShift) + k;
            hi = (hi << outShift) + k;
            int levels = 0;
            while ((size_t(1) << levels) < ops.size() + 1) ++levels;
            y[size_t(j)] = makeNode(c, "acc", ops, lo, hi, levels * c.delay.adder(signedBits(lo, hi)),
                                    [k, outShift](std::ostream& os, const auto& o, const std::string& self) {
                                        std::string sum;
                                        for (const auto& p : o) sum += (sum.empty() ? "" : " + ") + p;
                                        if (sum.empty()) sum = literal(0);
                                        os << "  assign " << self << " = " << literal(k) << " + "
                                           << shifted("(" + sum + ")", outShift) << ";\n";
                                    },
                                    modBits);
        }
        return y;
    }

    CmvmOptions opt;
    opt.delayConstraint = c.delayConstraint;
    if (c.bitHeaps) opt.maxSharedDepth = c.heapSharedDepth;
    const std::string layerName = c.prefix.empty() ? std::string("-") : c.prefix.substr(0, c.prefix.size() - 1);
    opt.progress = [&layerName](const std::string& line) { std::cerr << "verilog: " << layerName << ": " << line << std::endl; };
    for (Sig s : x) opt.inputRange.emplace_back(c.nl.node(s).lo, c.nl.node(s).hi);
    const AdderGraph g = buildCmvm(m, nIn, nOut, opt);
    const std::string& layer = layerName;
    if (c.adders.empty() || c.adders.back().layer != layer) c.adders.push_back({layer, 0, 0});
    CmvmOptions unshared = opt;
    unshared.cse = false;
    unshared.progress = {};
    const AdderGraph csd = buildCmvm(m, nIn, nOut, unshared);
    c.adders.back().cse += g.adders();
    c.adders.back().csdOnly += csd.adders();
    c.adders.back().cseBits += lutBits(g, opt.inputRange);
    c.adders.back().csdOnlyBits += lutBits(csd, opt.inputRange);
    const auto coeff = g.coefficients();
    // An output's constant (a bias) added after its adder tree costs an adder level. It
    // goes instead into the tree, on the shallower operand of the root, descending while
    // the operands are equally deep (no slack) and owned by this output alone: the nodes on
    // that path are rebuilt below around the constant and not emitted as they are.
    const size_t nSig = size_t(nIn) + g.nodes.size();
    std::vector<int> uses(nSig, 0);
    for (const AdderNode& a : g.nodes) ++uses[size_t(a.a.sig)], ++uses[size_t(a.b.sig)];
    for (const auto& t : g.outputs)
        if (t) ++uses[size_t(t->sig)];
    const std::vector<int> depth = g.depths();
    const auto ownNode = [&](int s) { return s >= nIn && uses[size_t(s)] == 1; };
    // The operands of node term t as terms at t's scale: {shallower, other}.
    const auto split = [&](const Term& t) {
        const AdderNode& n = g.nodes[size_t(t.sig - nIn)];
        const Term ta{n.a.sig, t.shift, t.neg}, tb{n.b.sig, n.b.shift + t.shift, t.neg != n.b.neg};
        return depth[size_t(ta.sig)] <= depth[size_t(tb.sig)] ? std::make_pair(ta, tb) : std::make_pair(tb, ta);
    };
    // Outputs summed as bit heaps: the adders an output owns alone (its own subtree above
    // the shared adders and the inputs) are not built; their leaves go into one heap with
    // the output's constant (BitHeap.h).
    std::vector<std::vector<Term>> heapLeaves(static_cast<size_t>(nOut));
    std::vector<char> absorbed(nSig, 0);
    if (c.bitHeaps) {
        for (int j = 0; j < nOut; ++j) {
            const auto& t = g.outputs[size_t(j)];
            if (!t) continue;
            std::vector<Term> leaves, open{*t};
            std::vector<int> owned;
            while (!open.empty()) {
                const Term cur = open.back();
                open.pop_back();
                if (!ownNode(cur.sig)) {
                    leaves.push_back(cur);
                    continue;
                }
                owned.push_back(cur.sig);
                const auto [ta, tb] = split(cur);
                open.push_back(ta);
                open.push_back(tb);
            }
            if (leaves.size() < 3) continue;
            for (int s : owned) absorbed[size_t(s)] = 1;
            heapLeaves[size_t(j)] = std::move(leaves);
        }
    }
    std::vector<char> rebuilt(nSig, 0);
    for (int j = 0; j < nOut; ++j) {
        const auto& t = g.outputs[size_t(j)];
        if (!t || consts[size_t(j)] == 0 || !heapLeaves[size_t(j)].empty()) continue;
        Term cur{t->sig, t->shift + outShift, t->neg};
        while (ownNode(cur.sig)) {
            rebuilt[size_t(cur.sig)] = 1;
            const auto [shallow, other] = split(cur);
            cur = shallow;
            if (depth[size_t(shallow.sig)] < depth[size_t(other.sig)]) break;   // slack: add it here
        }
    }
    std::vector<Sig> sig(x);
    const auto termRange = [&](const Term& t, Int128 k, Int128& lo, Int128& hi) {
        rangeOf(coeff[size_t(t.sig)], lo, hi);
        if (t.neg) std::swap(lo = -lo, hi = -hi);
        lo = lo * (Int128(1) << t.shift) + k;
        hi = hi * (Int128(1) << t.shift) + k;
    };
    // k + t, with t's node rebuilt around k where it was planned so.
    std::function<Sig(Int128, const Term&)> withConstant = [&](Int128 k, const Term& t) -> Sig {
        Int128 lo, hi;
        termRange(t, k, lo, hi);
        if (!rebuilt[size_t(t.sig)]) {
            const int sh = t.shift;
            const bool neg = t.neg;
            const Sig s = makeNode(c, "k", {sig[size_t(t.sig)]}, lo, hi, c.delay.adder(signedBits(lo, hi), neg),
                                   [k, sh, neg](std::ostream& os, const auto& o, const std::string& self) {
                                       os << "  assign " << self << " = " << literal(k) << (neg ? " - " : " + ")
                                          << shifted(o[0], sh) << ";\n";
                                   },
                                   modBits);
            c.nl.node(s).operandShifts = {sh};
            return s;
        }
        const auto [shallow, other] = split(t);
        const Sig p = withConstant(k, shallow);
        const int sh = other.shift;
        const bool neg = other.neg;
        const Sig s = makeNode(c, "a", {p, sig[size_t(other.sig)]}, lo, hi, c.delay.adder(signedBits(lo, hi), neg),
                               [sh, neg](std::ostream& os, const auto& o, const std::string& self) {
                                   os << "  assign " << self << " = " << o[0] << (neg ? " - " : " + ") << shifted(o[1], sh)
                                      << ";\n";
                               },
                               modBits);
        c.nl.node(s).operandShifts = {0, sh};
        return s;
    };
    for (size_t k = 0; k < g.nodes.size(); ++k) {
        if (rebuilt[size_t(nIn) + k] || absorbed[size_t(nIn) + k]) {
            sig.push_back(-1);
            continue;
        }
        const AdderNode& a = g.nodes[k];
        Int128 lo, hi;
        rangeOf(coeff[size_t(nIn) + k], lo, hi);
        const int sb = a.b.shift;
        const bool neg = a.b.neg;
        const Sig sum = makeNode(c, "a", {sig[size_t(a.a.sig)], sig[size_t(a.b.sig)]}, lo, hi,
                                 c.delay.adder(std::min(signedBits(lo, hi), innerMod > 0 ? innerMod : 127), neg),
                                 [sb, neg](std::ostream& os, const auto& o, const std::string& self) {
                                     os << "  assign " << self << " = " << o[0] << (neg ? " - " : " + ")
                                        << shifted(o[1], sb) << ";\n";
                                 },
                                 innerMod);
        c.nl.node(sum).operandShifts = {0, sb};
        // b's low `sb` bits pass a through; a wrapped (modular) node is no wider than its wire.
        c.nl.node(sum).luts = std::min(adderBits(lo, hi, sb), c.nl.node(sum).width);
        sig.push_back(sum);
    }
    for (int j = 0; j < nOut; ++j) {
        const Int128 k = consts[size_t(j)];
        const auto& t = g.outputs[size_t(j)];
        if (!t) {
            y[size_t(j)] = constant(c, k);
            continue;
        }
        const int sh = t->shift + outShift;
        if (!heapLeaves[size_t(j)].empty()) {
            Int128 lo, hi;
            termRange(Term{t->sig, sh, t->neg}, k, lo, hi);
            int width = signedBits(lo, hi);
            if (modBits > 0 && width > modBits) {   // only the value modulo 2^modBits is needed
                width = modBits;
                lo = -(Int128(1) << (width - 1));
                hi = (Int128(1) << (width - 1)) - 1;
            }
            std::vector<Sig> ops;
            std::vector<HeapOperand> operands;
            for (const Term& leaf : heapLeaves[size_t(j)]) {
                const Node& ln = c.nl.node(sig[size_t(leaf.sig)]);
                ops.push_back(sig[size_t(leaf.sig)]);
                // A shared adder d levels deep arrives ~d carry chains late: ~2 counter levels each.
                const int ready = int(depth[size_t(leaf.sig)] * c.delay.adder(ln.width) / c.delay.logic());
                operands.push_back({ln.width, leaf.shift + outShift, leaf.neg, ln.lo >= 0, ready});
            }
            y[size_t(j)] = heapSum(c, ops, operands, k, width, lo, hi);
            continue;
        }
        if (rebuilt[size_t(t->sig)]) {
            y[size_t(j)] = withConstant(k, Term{t->sig, sh, t->neg});
            continue;
        }
        if (k == 0 && !t->neg) {
            y[size_t(j)] = shiftLeft(c, sig[size_t(t->sig)], sh);
            continue;
        }
        Int128 lo, hi;
        rangeOf(coeff[size_t(t->sig)], lo, hi);
        if (t->neg) std::swap(lo = -lo, hi = -hi);
        lo = lo * (Int128(1) << sh) + k;
        hi = hi * (Int128(1) << sh) + k;
        const bool neg = t->neg;
        y[size_t(j)] = makeNode(c, "y", {sig[size_t(t->sig)]}, lo, hi, c.delay.adder(signedBits(lo, hi), neg),
                                [k, sh, neg](std::ostream& os, const auto& o, const std::string& self) {
                                    os << "  assign " << self << " = " << literal(k) << (neg ? " - " : " + ")
                                       << shifted(o[0], sh) << ";\n";
                                },
                                modBits);
        c.nl.node(y[size_t(j)]).operandShifts = {sh};
    }
    return y;
}

namespace {

// table.lookup(raw key) as a ROM addressed by the key's own bits: no index adder, no clamp
// (both are in the entries). For a key >= 0 whose range needs no more address bits than
// the table has: then it is no larger than the indexed ROM. Invalid otherwise (-1).
Sig directRom(RtlContext& c, Sig key, const LookupTable& t, const std::string& tableName, Int128 keyBias) {
    const Node kn = c.nl.node(key);
    int tableBits = 0, bits = 0;
    while ((int64_t(1) << tableBits) < t.size) ++tableBits;
    while (bits < 62 && (Int128(1) << bits) <= kn.hi) ++bits;
    if (kn.lo < 0 || bits > std::max(tableBits, 6) || bits == 0) return -1;
    // Every address holds its entry (the function is shared by all keys of this width,
    // whose ranges differ); the node's range is what this key reaches.
    Int128 vlo = t.lookup(int64_t(kn.lo - keyBias)), vhi = vlo, allLo = 0, allHi = 0;
    std::vector<int64_t> entries(size_t(1) << bits, 0);
    for (size_t k = 0; k < entries.size(); ++k) {
        const int64_t v = t.lookup(int64_t(Int128(k) - keyBias));
        entries[k] = v;
        allLo = std::min<Int128>(allLo, v);
        allHi = std::max<Int128>(allHi, v);
        if (Int128(k) >= kn.lo && Int128(k) <= kn.hi) {
            vlo = std::min<Int128>(vlo, v);
            vhi = std::max<Int128>(vhi, v);
        }
    }
    const int vw = signedBits(allLo, allHi);
    std::string fn = "rom_" + tableName + "_" + str(bits) + "b" + (keyBias != 0 ? "o" : "");
    for (size_t p = fn.find('-'); p != std::string::npos; p = fn.find('-')) fn[p] = 'm';
    std::ostringstream os;
    os << "  // " << tableName << " by the key's " << bits << " bits (index arithmetic in the entries)\n";
    os << "  function signed [" << vw - 1 << ":0] " << fn << ";\n    input [" << bits - 1 << ":0] i;\n    case (i)\n";
    for (size_t i = 0; i < entries.size(); ++i)
        os << "      " << bits << "'d" << i << ": " << fn << " = " << literal(entries[i], vw) << ";\n";
    os << "      default: " << fn << " = " << literal(0, vw) << ";\n    endcase\n  endfunction\n";
    c.nl.addPreamble(fn, os.str());
    const int wk = kn.width;
    const Sig rom = makeNode(c, "rom", {key}, vlo, vhi, c.delay.rom(int(entries.size())),
                             [=](std::ostream& o, const auto& ops, const std::string& self) {
                                 const int wx = std::max(wk, bits);
                                 o << "  wire signed [" << wx - 1 << ":0] " << self << "_k = " << ops[0] << ";\n";
                                 o << "  assign " << self << " = " << fn << "(" << self << "_k[" << bits - 1 << ":0]);\n";
                             });
    c.nl.node(rom).operandLoads = {c.delay.romLoads(int(entries.size()), vw)};
    c.nl.node(rom).luts = c.delay.romLoads(int(entries.size()), vw);
    c.nl.node(rom).clockToOut = c.delay.romClockToOut(int(entries.size()));
    return rom;
}

}  // namespace

Sig romLookup(RtlContext& c, Sig key, const LookupTable& t, const std::string& tableName, bool offsetInKey) {
    const Int128 keyBias = offsetInKey ? Int128(t.offset) * (Int128(1) << t.shift) : 0;
    if (!t.sliced) {
        const Sig direct = directRom(c, key, t, tableName, keyBias);
        if (direct >= 0) return direct;
    }
    Node kn = c.nl.node(key);
    kn.lo -= keyBias;   // the key the table is defined on
    kn.hi -= keyBias;
    const Int128 ilo = t.index(int64_t(kn.lo)), ihi = t.index(int64_t(kn.hi));
    int ib = 1;
    while ((int64_t(1) << ib) < t.size) ++ib;
    Int128 vlo = t.values[size_t(ilo)], vhi = vlo;
    for (Int128 i = ilo; i <= ihi; ++i) {
        vlo = std::min<Int128>(vlo, t.values[size_t(i)]);
        vhi = std::max<Int128>(vhi, t.values[size_t(i)]);
    }
    // The function is shared by every lookup into this table, so it holds all entries.
    Int128 allLo = t.values[0], allHi = allLo;
    for (int64_t v : t.values) {
        allLo = std::min<Int128>(allLo, v);
        allHi = std::max<Int128>(allHi, v);
    }
    const int vw = signedBits(allLo, allHi);
    const std::string fn = "rom_" + tableName;
    {
        std::ostringstream os;
        os << "  // " << tableName << ": " << t.size << " entries of " << t.valueType.str() << "\n";
        os << "  function signed [" << vw - 1 << ":0] " << fn << ";\n    input [" << ib - 1 << ":0] i;\n"
           << "    case (i)\n";
        for (int64_t i = 0; i < t.size; ++i)
            os << "      " << ib << "'d" << int64_t(i) << ": " << fn << " = " << literal(t.values[size_t(i)], vw)
               << ";\n";
        os << "      default: " << fn << " = " << literal(0, vw) << ";\n    endcase\n  endfunction\n";
        c.nl.addPreamble(fn, os.str());
    }
    const int64_t offset = offsetInKey ? 0 : t.offset, size = t.size;
    const int wk = kn.width;
    // idx = clamp((key >> shift) + offset, 0, size - 1), or for hls4ml's sigmoid/tanh
    // (den > 0) clamp(trunc(key * mul / den) + offset, 0, size - 1) with mul, den powers of
    // two (one of them 1): a left shift, or a right shift rounding towards zero.
    int shift = t.shift, leftShift = 0;
    bool towardZero = false;
    if (t.den > 0) {
        // Rounding towards zero does not commute with adding the offset first.
        if (offsetInKey) throw Error("Verilog backend: table " + tableName + ": internal: offset folded into an hls4ml-indexed key");
        auto log2Exact = [](int64_t v) { int b = 0; while ((int64_t(1) << b) < v) ++b; return (int64_t(1) << b) == v ? b : -1; };
        const int a = log2Exact(t.mul), b = log2Exact(t.den);
        if (a < 0 || b < 0)
            throw Error("Verilog backend: table " + tableName + ": hls4ml's index scales the input by " +
                        std::to_string(t.mul) + "/" + std::to_string(t.den) +
                        ", not a power of two (a table_size that is not a power of two): use a power-of-two TableSize");
        shift = b;
        leftShift = a;
        towardZero = b > 0;
    }
    auto shifted = [&](Int128 k) {
        if (t.den > 0) return k * t.mul / t.den + offset;   // Int128 division truncates towards zero
        return ((k + keyBias) >> shift) + offset;
    };
    const Int128 rawLo = shifted(kn.lo), rawHi = shifted(kn.hi);
    const int wi = signedBits(rawLo, rawHi);
    // The index: the rounding towards zero's adder, the offset's adder and the clamp's
    // comparison, in series (the clamp compares the offset sum; it used to be left out
    // when an offset was added, underestimating a GarNet edge-weight stage).
    const bool clamped = rawHi > size - 1 || rawLo < 0;
    const double indexDelay = (towardZero ? c.delay.adder(wk + 1) : 0.0) + (offset != 0 ? c.delay.adder(wk) : 0.0) +
                              (clamped ? c.delay.compare(wi) : 0.0);
    const Sig rom = makeNode(c, "rom", {key}, vlo, vhi, indexDelay + c.delay.rom(t.size),
                    [=](std::ostream& os, const auto& o, const std::string& self) {
                        const int wx = std::max(wk, shift + 1);
                        os << "  wire signed [" << wx - 1 << ":0] " << self << "_k = " << o[0] << ";\n";
                        if (leftShift > 0) {
                            os << "  wire signed [" << wx + leftShift - 1 << ":0] " << self << "_s = {" << self
                               << "_k, " << leftShift << "'d0};\n";
                        } else if (towardZero) {
                            // A negative key first gains 2^shift - 1, so the shift rounds towards zero.
                            os << "  wire signed [" << wx << ":0] " << self << "_a = " << self << "_k + (" << self
                               << "_k[" << wx - 1 << "] ? " << literal((Int128(1) << shift) - 1, wx + 1) << " : "
                               << literal(0, wx + 1) << ");\n";
                            os << "  wire signed [" << wx - shift << ":0] " << self << "_s = " << self << "_a["
                               << wx << ":" << shift << "];\n";
                        } else {
                            os << "  wire signed [" << wx - shift - 1 << ":0] " << self << "_s = " << self << "_k["
                               << wx - 1 << ":" << shift << "];\n";
                        }
                        os << "  wire signed [" << wi - 1 << ":0] " << self << "_o = " << self << "_s + "
                           << literal(offset) << ";\n";
                        std::string idx = self + "_o[" + str(std::min(ib, wi) - 1) + ":0]";
                        if (rawHi > size - 1)
                            idx = "(" + self + "_o > " + literal(size - 1) + ") ? " + str(ib) + "'d" + str(int(size - 1)) +
                                  " : " + idx;
                        if (rawLo < 0) idx = "(" + self + "_o < " + literal(0) + ") ? " + str(ib) + "'d0 : " + idx;
                        os << "  wire [" << ib - 1 << ":0] " << self << "_i = " << idx << ";\n";
                        os << "  assign " << self << " = " << fn << "(" << self << "_i);\n";
                    });
    c.nl.node(rom).operandLoads = {c.delay.romLoads(int(size), vw)};
    c.nl.node(rom).clockToOut = c.delay.romClockToOut(int(size));
    // One LUT6 per 64 entries per value bit (MUXF7/8 join them), and the index adder.
    c.nl.node(rom).luts = c.delay.romLoads(int(size), vw) + wi;
    return rom;
}

}  // namespace tachyon::verilog

namespace tachyon::verilog {

Sig minimum(RtlContext& c, Sig a, Sig b) {
    const Node &na = c.nl.node(a), &nb = c.nl.node(b);
    return makeNode(c, "min", {a, b}, std::min(na.lo, nb.lo), std::min(na.hi, nb.hi),
                    c.delay.compare(std::max(na.width, nb.width)) + c.delay.logic(),
                    [](std::ostream& os, const auto& ops, const std::string& self) {
                        os << "  assign " << self << " = (" << ops[0] << " < " << ops[1] << ") ? " << ops[0] << " : "
                           << ops[1] << ";\n";
                    });
}

Sig castDivConst(RtlContext& c, Sig num, int frac, Int128 den, const FixedType& dst) {
    if (den < 1) throw Error("Verilog backend: division by " + std::to_string(int64_t(den)));
    int k = 0;
    while ((Int128(1) << k) < den) ++k;
    if ((Int128(1) << k) == den) return castTo(c, num, frac + k, dst);   // exact: a power of two
    // n / d with n at frac f = frac(dst): n = num << (f - frac) or d = den << (frac - f).
    const int f = dst.frac();
    Sig n = num;
    Int128 d = den;
    if (f >= frac) n = shiftLeft(c, num, f - frac);
    else d = den << (frac - f);
    // t = 2n + K >= 0 (K a multiple of d); floor(t / d) = (t * M) >> s with M = ceil(2^s / d)
    // is exact for 0 <= t < 2^s / d.
    const Node nn = c.nl.node(n);
    const Int128 lo2 = 2 * nn.lo;
    const Int128 K = lo2 < 0 ? ((-lo2 + d - 1) / d) * d : 0;
    Sig t = linearMap(c, {n}, {2}, 1, 1, {K})[0];
    const Int128 tHi = c.nl.node(t).hi;
    int s = 0;
    while ((Int128(1) << s) <= tHi * d) ++s;
    const Int128 M = ((Int128(1) << s) + d - 1) / d;
    if (M > Int128(INT64_MAX) || d > Int128(INT64_MAX)) throw Error("Verilog backend: divisor too large");
    Sig tm = linearMap(c, {t}, {int64_t(M)}, 1, 1, {0})[0];
    FixedType wide;
    wide.width = 120;
    wide.integer = 120;
    wide.quant = Quant::TRN;
    wide.overflow = Overflow::WRAP;
    Sig q = castTo(c, tm, s, wide);   // floor(t / d)
    // Correct range of q: [floor(tLo / d), floor(tHi / d)].
    c.nl.node(q).lo = c.nl.node(t).lo / d;
    c.nl.node(q).hi = tHi / d;
    Sig rem = linearMap(c, {t, q}, {1, -int64_t(d)}, 2, 1, {0})[0];
    c.nl.node(rem).lo = 0;   // t - d * floor(t / d) in [0, d)
    c.nl.node(rem).hi = d - 1;
    const int wr = std::max(c.nl.node(rem).width, signedBits(0, d - 1));
    Sig sticky = makeNode(c, "nz", {rem}, 0, 1, c.delay.logic(), [wr](std::ostream& os, const auto& o, const std::string& self) {
        os << "  wire signed [" << wr - 1 << ":0] " << self << "_r = " << o[0] << ";\n";
        os << "  assign " << self << " = {1'b0, |" << self << "_r};\n";
    });
    // 4q' + where = 2 * floor(2n / d) + sticky, at frac f + 2 (q' = floor(n / d)).
    Sig v = linearMap(c, {q, sticky}, {2, 1}, 2, 1, {-2 * (K / d)})[0];
    return castTo(c, v, f + 2, dst);
}

Sig maskValid(RtlContext& c, Sig x, Sig valid, Int128 fill) {
    const Node& n = c.nl.node(x);
    return makeNode(c, "mask", {x, valid}, std::min(n.lo, fill), std::max(n.hi, fill), c.delay.logic(),
                    [fill](std::ostream& os, const auto& o, const std::string& self) {
                        os << "  assign " << self << " = " << o[1] << "[0] ? " << o[0] << " : " << literal(fill) << ";\n";
                    });
}

Sig delayTap(RtlContext& c, Sig x, int64_t cycles) {
    if (cycles < 0) throw Error("Verilog backend: negative delay");
    if (cycles == 0) return x;
    // One chain per source signal, as deep as its deepest tap.
    auto it = c.chains.find(x);
    if (it == c.chains.end()) {
        auto depth = std::make_shared<int64_t>(0);
        const Node& n = c.nl.node(x);
        const int w = n.width;
        Sig s = makeNode(c, "dl", {x}, n.lo, n.hi, 0.0, [depth, w](std::ostream& os, const auto& o, const std::string& self) {
            os << "  assign " << self << " = " << o[0] << ";\n";
            for (int64_t k = 1; k <= *depth; ++k)
                os << "  reg signed [" << w - 1 << ":0] " << self << "_d" << k << ";\n";
            os << "  always @(posedge clk) begin\n";
            for (int64_t k = 1; k <= *depth; ++k)
                os << "    " << self << "_d" << k << " <= " << (k == 1 ? self : self + "_d" + std::to_string(k - 1)) << ";\n";
            os << "  end\n";
        });
        it = c.chains.insert({x, {s, depth}}).first;
    }
    const auto [chainSig, depth] = it->second;
    *depth = std::max(*depth, cycles);
    const Node& n = c.nl.node(chainSig);
    Sig tap = makeNode(c, "tap", {chainSig}, n.lo, n.hi, 0.0, [cycles](std::ostream& os, const auto& o, const std::string& self) {
        os << "  assign " << self << " = " << o[0] << "_d" << cycles << ";\n";
    });
    c.nl.node(tap).registered = true;
    return tap;
}

Sig selectIndex(RtlContext& c, Sig sel, const std::vector<Sig>& ops) {
    Int128 lo = c.nl.node(ops[0]).lo, hi = c.nl.node(ops[0]).hi;
    for (Sig o : ops) {
        lo = std::min(lo, c.nl.node(o).lo);
        hi = std::max(hi, c.nl.node(o).hi);
    }
    std::vector<Sig> all{sel};
    all.insert(all.end(), ops.begin(), ops.end());
    const int n = int(ops.size());
    return makeNode(c, "mux", all, lo, hi, c.delay.logic() * 2, [n](std::ostream& os, const auto& o, const std::string& self) {
        os << "  assign " << self << " =";
        for (int k = 0; k + 1 < n; ++k) os << " (" << o[0] << " == " << k << ") ? " << o[size_t(k) + 1] << " :";
        os << " " << o[size_t(n)] << ";\n";
    });
}

}  // namespace tachyon::verilog
