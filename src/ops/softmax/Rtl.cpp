#include "ops/softmax/Rtl.h"

#include "util/Error.h"

#include <algorithm>
#include <cctype>
#include <sstream>
#include <string>

namespace tachyon::verilog {

namespace {

Sig bitNode(RtlContext& c, const std::string& base, std::vector<Sig> ops, double delay,
            std::function<void(std::ostream&, const std::vector<std::string>&, const std::string&)> body) {
    Node n;
    n.name = c.nl.freshName(c.prefix + base);
    n.ops = std::move(ops);
    n.lo = 0;
    n.hi = 1;
    n.delay = delay;
    n.body = std::move(body);
    return c.nl.add(std::move(n));
}

}  // namespace

std::vector<Sig> maxMinusEach(RtlContext& c, const std::vector<Sig>& x) {
    const size_t n = x.size();
    std::vector<Sig> d;
    if (n < 2 || n > 8) {
        const Sig m = maxTree(c, x);
        for (Sig xi : x) d.push_back(add(c, m, xi, true));
        return d;
    }
    int w = 1;
    for (Sig s : x) w = std::max(w, c.nl.node(s).width);
    // ge[i][j] (i < j): x_i >= x_j.
    std::vector<std::vector<Sig>> ge(n, std::vector<Sig>(n, -1));
    for (size_t i = 0; i < n; ++i)
        for (size_t j = i + 1; j < n; ++j)
            ge[i][j] = bitNode(c, "ge", {x[i], x[j]}, c.delay.compare(w), [](std::ostream& os, const auto& o, const std::string& self) {
                os << "  assign " << self << " = {1'b0, " << o[0] << " >= " << o[1] << "};\n";
            });
    // first[j]: x_j is the first maximum (> every earlier input, >= every later one).
    std::vector<Sig> first;
    for (size_t j = 0; j < n; ++j) {
        std::vector<Sig> ops;
        std::vector<bool> inverted;   // x_j > x_k (k < j) is !(x_k >= x_j); x_j >= x_k (k > j) is ge[j][k]
        for (size_t k = 0; k < n; ++k) {
            if (k == j) continue;
            ops.push_back(k < j ? ge[k][j] : ge[j][k]);
            inverted.push_back(k < j);
        }
        first.push_back(bitNode(c, "first", ops, c.delay.logic(), [inverted](std::ostream& os, const auto& o, const std::string& self) {
            std::string e;
            for (size_t k = 0; k < o.size(); ++k) e += (k ? " & " : "") + std::string(inverted[k] ? "~" : "") + o[k] + "[0]";
            os << "  assign " << self << " = {1'b0, " << e << "};\n";
        }));
    }
    // d_i = OR over j != i of (first[j] ? x_j - x_i : 0); zero when x_i is the maximum.
    for (size_t i = 0; i < n; ++i) {
        std::vector<Sig> ops;
        Int128 hi = 0;
        for (size_t j = 0; j < n; ++j) {
            if (j == i) continue;
            const Sig diff = add(c, x[j], x[i], true);
            hi = std::max(hi, c.nl.node(diff).hi);
            ops.push_back(first[j]);
            ops.push_back(diff);
        }
        const int wd = signedBits(0, hi);
        // Each result bit is an AND-OR of 2(n - 1) inputs: one LUT6 level up to 3 pairs, two beyond.
        const double levels = n <= 4 ? 1.0 : 2.0;
        Node nd;
        nd.name = c.nl.freshName(c.prefix + "dmax");
        nd.ops = ops;
        nd.lo = 0;
        nd.hi = hi;
        nd.delay = c.delay.logic() * levels;
        nd.body = [wd](std::ostream& os, const std::vector<std::string>& o, const std::string& self) {
            std::string sum;
            for (size_t k = 0; k + 1 < o.size(); k += 2) {
                const std::string t = self + "_t" + std::to_string(k / 2);
                os << "  wire signed [" << wd - 1 << ":0] " << t << " = " << o[k + 1] << ";\n";
                sum += (sum.empty() ? "" : " | ") + std::string("({") + std::to_string(wd) + "{" + o[k] + "[0]}} & " + t + ")";
            }
            os << "  assign " << self << " = " << sum << ";\n";
        };
        d.push_back(c.nl.add(std::move(nd)));
    }
    return d;
}

Sig roundedProduct(RtlContext& c, Sig a, Sig b, int frac, const FixedType& dst) {
    const int s = frac - dst.frac();
    if (dst.quant != Quant::RND || s <= 0) return castTo(c, multiply(c, a, b), frac, dst);
    FixedType floorType = dst;
    floorType.quant = Quant::TRN;   // floor(p + half) is AP_RND's rounding of p
    return castTo(c, multiply(c, a, b, Int128(1) << (s - 1)), frac, floorType);
}

namespace {

// hls4ml's table lookup (softmax stable/latency): the ROM index is bits
// [shift, shift + log2 size) of the key's two's complement; `key` holds a raw of the type
// the table is addressed by, so sign-extending it gives that type's bit pattern.
Sig slicedRom(RtlContext& c, Sig key, const LookupTable& t, const std::string& tableName) {
    int ib = 1;
    while ((int64_t(1) << ib) < t.size) ++ib;
    const Node kn = c.nl.node(key);
    Int128 allLo = t.values[0], allHi = allLo;
    for (int64_t v : t.values) {
        allLo = std::min<Int128>(allLo, v);
        allHi = std::max<Int128>(allHi, v);
    }
    Int128 vlo = allLo, vhi = allHi;
    if (kn.hi - kn.lo < (Int128(1) << 16)) {   // the entries this key can reach
        vlo = vhi = t.lookup(int64_t(kn.lo));
        for (Int128 k = kn.lo; k <= kn.hi; ++k) {
            vlo = std::min<Int128>(vlo, t.lookup(int64_t(k)));
            vhi = std::max<Int128>(vhi, t.lookup(int64_t(k)));
        }
    }
    const int vw = signedBits(allLo, allHi);
    const std::string fn = "rom_" + tableName;
    std::ostringstream rom;
    rom << "  // " << tableName << ": " << t.size << " entries of " << t.valueType.str()
        << ", indexed by the top bits of the key (hls4ml)\n";
    rom << "  function signed [" << vw - 1 << ":0] " << fn << ";\n    input [" << ib - 1 << ":0] i;\n    case (i)\n";
    for (int64_t i = 0; i < t.size; ++i)
        rom << "      " << ib << "'d" << i << ": " << fn << " = " << literal(t.values[size_t(i)], vw) << ";\n";
    rom << "      default: " << fn << " = " << literal(0, vw) << ";\n    endcase\n  endfunction\n";
    c.nl.addPreamble(fn, rom.str());
    Node n;
    n.name = c.nl.freshName(c.prefix + "rom");
    n.ops = {key};
    n.lo = vlo;
    n.hi = vhi;
    n.delay = c.delay.rom(t.size);
    n.operandLoads = {c.delay.romLoads(t.size, vw)};
    const int wk = kn.width, shift = t.shift;
    n.body = [=](std::ostream& os, const std::vector<std::string>& o, const std::string& self) {
        const int wx = std::max(wk, shift + ib);
        os << "  wire signed [" << wx - 1 << ":0] " << self << "_k = " << o[0] << ";\n";
        os << "  wire [" << ib - 1 << ":0] " << self << "_i = " << self << "_k[" << shift + ib - 1 << ":" << shift
           << "];\n";
        os << "  assign " << self << " = " << fn << "(" << self << "_i);\n";
    };
    return c.nl.add(std::move(n));
}

// hls4ml's softmax_stable / softmax_latency (docs/semantics.md, "Softmax variants").
std::vector<Sig> softmaxHls4ml(RtlContext& c, const Layer& l, const SoftmaxTables& t, const std::vector<Sig>& in,
                               const FixedType& inT) {
    const bool stable = t.implementation == SoftmaxImpl::Stable;
    const int fa = t.accumType.frac();
    std::vector<Sig> e;
    const std::vector<Sig> d = stable ? maxMinusEach(c, in) : std::vector<Sig>();
    for (size_t i = 0; i < in.size(); ++i) {
        const Sig key = stable ? castTo(c, d[i], inT.frac(), t.normType) : in[i];
        e.push_back(castTo(c, slicedRom(c, key, t.exp, l.name + "_exp"), t.exp.valueType.frac(), t.accumType));
    }
    const Sig sum = hls4mlReduce(e.data(), int(e.size()), [&](Sig a, Sig b) { return castTo(c, add(c, a, b), fa, t.accumType); });
    const Sig s = castTo(c, sum, fa, t.invInpType);
    const Sig r = slicedRom(c, s, t.inv, l.name + "_inv");
    std::vector<Sig> out;
    for (Sig ei : e) out.push_back(roundedProduct(c, ei, r, fa + t.inv.valueType.frac(), l.type("result")));
    return out;
}

// hls4ml's softmax_argmax: cast<result>(1) at the first maximum, 0 elsewhere.
std::vector<Sig> softmaxArgmax(RtlContext& c, const Layer& l, const std::vector<Sig>& in) {
    const Int128 one = l.type("result").castRaw(1, 0);
    std::vector<Sig> out;
    const int n = int(in.size());
    for (int i = 0; i < n; ++i) {
        Node nd;
        nd.name = c.nl.freshName(c.prefix + "argmax");
        nd.ops = in;
        nd.lo = std::min<Int128>(0, one);
        nd.hi = std::max<Int128>(0, one);
        int w = 1;
        for (Sig x : in) w = std::max(w, c.nl.node(x).width);
        int levels = 1;
        while ((1 << levels) < n) ++levels;
        nd.delay = c.delay.compare(w) + c.delay.logic() * levels;
        nd.body = [=](std::ostream& os, const std::vector<std::string>& o, const std::string& self) {
            // x_i is the first maximum: greater than every earlier input, >= every later one.
            std::string cond;
            for (int j = 0; j < n; ++j) {
                if (j == i) continue;
                cond += (cond.empty() ? "" : " && ") + std::string("(") + o[size_t(i)] + (j < i ? " > " : " >= ") +
                        o[size_t(j)] + ")";
            }
            if (cond.empty()) cond = "1'b1";
            os << "  assign " << self << " = (" << cond << ") ? " << literal(one) << " : " << literal(0) << ";\n";
        };
        out.push_back(c.nl.add(std::move(nd)));
    }
    return out;
}

std::vector<Sig> softmax(RtlContext& c, const Layer& l, const LoweredGraph& low, const std::vector<Sig>& in,
                         const FixedType& inT) {
    const SoftmaxTables* t = low.softmaxTables(l.name);
    if (!t) throw Error("Verilog backend: layer " + l.name + " has no softmax tables in the emulator");
    if (t->implementation == SoftmaxImpl::Stable || t->implementation == SoftmaxImpl::Latency)
        return softmaxHls4ml(c, l, *t, in, inT);
    if (t->implementation == SoftmaxImpl::Argmax) return softmaxArgmax(c, l, in);
    if (t->implementation != SoftmaxImpl::Tachyon)
        throw Error("Verilog backend: layer " + l.name + ": softmax Implementation " + toString(t->implementation) +
                    " is not supported");
    std::vector<Sig> e;
    for (Sig d : maxMinusEach(c, in)) e.push_back(romLookup(c, d, t->exp, l.name + "_exp"));
    // The exact sum (adder tree of the exponentials) with the inverse table's index offset
    // as its constant, then 1/S from that table.
    const Int128 invOffset = Int128(t->inv.offset) * (Int128(1) << t->inv.shift);
    Sig s = linearMap(c, e, std::vector<int64_t>(e.size(), 1), int(e.size()), 1, {invOffset})[0];
    const Sig r = romLookup(c, s, t->inv, l.name + "_inv", true);
    const int f = t->exp.valueType.frac() + t->inv.valueType.frac();
    std::vector<Sig> out;
    for (Sig ei : e) out.push_back(roundedProduct(c, ei, r, f, l.type("result")));
    return out;
}

}  // namespace

// Over the last axis: one softmax per position of the others.
std::vector<Sig> softmaxRtl(RtlContext& c, const Layer& l, const LoweredGraph& low, const std::vector<Sig>& in,
                            const FixedType& inT) {
    std::vector<Sig> out;
    const size_t n = size_t(l.shape.back());
    for (size_t p = 0; p + n <= in.size(); p += n) {
        const auto y = softmax(c, l, low, std::vector<Sig>(in.begin() + ptrdiff_t(p), in.begin() + ptrdiff_t(p + n)), inT);
        out.insert(out.end(), y.begin(), y.end());
    }
    return out;
}

std::string softmaxLegality(const Layer& l) {
    if (l.softmax.implementation == SoftmaxImpl::Legacy)
        return "softmax Implementation legacy (n^2 table lookups with truncating divisions; use the HLS "
               "backend, or Implementation stable, latency, argmax or tachyon)";
    return {};
}

}  // namespace tachyon::verilog
