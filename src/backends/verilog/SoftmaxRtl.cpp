#include "backends/verilog/SoftmaxRtl.h"

#include <algorithm>
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

}  // namespace tachyon::verilog
