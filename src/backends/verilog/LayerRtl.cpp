// Each layer of the graph as netlist blocks, following docs/semantics.md exactly.
// All constants come from the lowered graph (lower/LoweredGraph.h: quantised weights,
// biases, tables), the ones the emulator computes with, so the RTL computes what it computes.
#include "backends/verilog/LayerRtl.h"

#include "backends/verilog/SoftmaxRtl.h"
#include "ops/Registry.h"

#include "util/Error.h"

#include <algorithm>
#include <cctype>
#include <sstream>

namespace tachyon::verilog {

namespace {

// Dense accumulation:
//  * products exact (accum frac >= input frac + weight frac) and the accumulator either
//    wraps without saturation bits (sums are then modular: any order gives the same
//    bits) or can never overflow in the ascending order (interval bound; then every cast
//    is the identity): the whole layer is one constant matrix-vector product, built as
//    a shift-add adder graph with CSE, bias folded into the last adder, one cast at the end;
//  * otherwise each product is computed exactly (shift-add per input, shared across
//    outputs), cast to accum individually, and summed as a tree when the accumulator is
//    modular or cannot overflow, or as the ascending chain of saturating casts otherwise.
}  // namespace

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

std::vector<Sig> batchNorm(RtlContext& c, const Layer& l, const LoweredGraph& low, const std::vector<Sig>& in,
                           const FixedType& inT) {
    const auto& scale = low.scaleRaw(l.name);
    const auto& shift = low.biasRaw(l.name);
    const int fp = inT.frac() + l.type("scale").frac();
    const int fs = l.type("shift").frac();
    const int f = std::max(fp, fs);
    std::vector<Sig> out;
    for (size_t k = 0; k < in.size(); ++k) {
        const size_t i = k % scale.size();   // per channel (last axis)
        Sig v = linearMap(c, {in[k]}, {scale[i]}, 1, 1, {Int128(shift[i]) << (f - fs)}, f - fp)[0];
        out.push_back(castTo(c, v, f, l.type("result")));
    }
    return out;
}

std::vector<Sig> activation(RtlContext& c, const Layer& l, const LoweredGraph& low, const std::vector<Sig>& in,
                            const FixedType& inT) {
    const FixedType& outT = l.type("result");
    const int fx = inT.frac();
    std::vector<Sig> out;
    switch (l.activation()) {
    case ActKind::Linear:
    case ActKind::ReLU:
    case ActKind::ReLU6: {
        const int f = std::max(fx, 0);
        const Int128 six = Int128(6) << f;
        for (Sig x : in) {
            Sig v = shiftLeft(c, x, f - fx);
            if (l.activation() == ActKind::ReLU) v = clampConst(c, v, 0, std::max<Int128>(c.nl.node(v).hi, 0));
            if (l.activation() == ActKind::ReLU6) v = clampConst(c, v, 0, six);
            out.push_back(castTo(c, v, f, outT));
        }
        return out;
    }
    case ActKind::LeakyReLU:
    case ActKind::HardSigmoid: {
        const int pf = l.type("param").frac();
        const bool leaky = l.activation() == ActKind::LeakyReLU;
        const std::vector<int64_t>& params = low.paramRaw(l.name);  // {alpha} or {slope, offset}
        const int64_t a = params.at(0);
        const int64_t bRaw = leaky ? 0 : params.at(1);
        // hard_sigmoid: slope*x + offset exactly, at frac pf + max(fx, 0) (docs/semantics.md).
        const int up = leaky ? 0 : std::max(0, -fx);
        const Int128 bAligned = Int128(bRaw) << std::max(fx, 0);
        const int f = leaky ? fx + pf : pf + std::max(fx, 0);
        for (Sig x : in) {
            Sig v;
            if (leaky) {
                v = selectSign(c, x, shiftLeft(c, x, pf), linearMap(c, {x}, {a}, 1, 1, {0})[0]);
            } else {
                v = linearMap(c, {up ? shiftLeft(c, x, up) : x}, {a}, 1, 1, {bAligned})[0];
                v = clampConst(c, v, 0, Int128(1) << f);
            }
            out.push_back(castTo(c, v, f, outT));
        }
        return out;
    }
    case ActKind::Sigmoid:
    case ActKind::Tanh:
    case ActKind::Softplus:
    case ActKind::Softsign: {
        const LookupTable* t = low.activationTable(l.name);
        if (!t) throw Error("Verilog backend: layer " + l.name + " has no lookup table in the emulator");
        for (Sig x : in) out.push_back(castTo(c, romLookup(c, x, *t, l.name), t->valueType.frac(), outT));
        return out;
    }
    case ActKind::ELU:
    case ActKind::SELU:
    case ActKind::Swish:
    case ActKind::GELU: {
        // As Activation.cpp: elu/selu x >= 0 exactly (selu: lambda * x), x < 0 the table;
        // swish and gelu x * table(x) (the table holding sigmoid or Phi).
        const LookupTable* t = low.activationTable(l.name);
        if (!t) throw Error("Verilog backend: layer " + l.name + " has no lookup table in the emulator");
        const int tf = t->valueType.frac();
        for (Sig x : in) {
            Sig r = romLookup(c, x, *t, l.name);
            if (l.activation() == ActKind::Swish || l.activation() == ActKind::GELU) {
                out.push_back(castTo(c, multiply(c, x, r), fx + tf, outT));
                continue;
            }
            Sig pos = x;
            int pf = fx;
            if (l.activation() == ActKind::SELU) {
                const int64_t lambda = low.paramRaw(l.name).at(0);
                pos = linearMap(c, {x}, {lambda}, 1, 1, {0})[0];
                pf = fx + l.type("param").frac();
            }
            const int common = std::max(pf, tf);
            out.push_back(castTo(c, selectSign(c, x, shiftLeft(c, pos, common - pf), shiftLeft(c, r, common - tf)), common, outT));
        }
        return out;
    }
    default: break;
    }
    throw Error("Verilog backend: layer " + l.name + ": activation " + toString(l.activation()) + " not supported");
}

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

std::vector<Sig> castRtl(RtlContext& c, const Layer& l, const LoweredGraph&, const std::vector<Sig>& in,
                         const FixedType& inT) {
    std::vector<Sig> out;
    for (Sig x : in) out.push_back(castTo(c, x, inT.frac(), l.type("result")));
    return out;
}

std::vector<Sig> denseRtl(RtlContext& c, const Layer& l, const LoweredGraph& low, const std::vector<Sig>& in,
                          const FixedType& inT) {
    return dense(c, l, low, in, inT);
}

std::vector<Sig> batchNormRtl(RtlContext& c, const Layer& l, const LoweredGraph& low, const std::vector<Sig>& in,
                              const FixedType& inT) {
    return batchNorm(c, l, low, in, inT);
}

std::vector<Sig> activationRtl(RtlContext& c, const Layer& l, const LoweredGraph& low, const std::vector<Sig>& in,
                               const FixedType& inT) {
    return activation(c, l, low, in, inT);
}

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

std::string alwaysBuilt(const Layer&) { return {}; }

std::string macLegality(const Layer& l) {
    if (l.activation() != ActKind::Linear && l.activation() != ActKind::ReLU)
        return "fused activation " + toString(l.activation()) + " (only linear/relu are fused)";
    return {};
}

std::string poolingLegality(const Layer& l) {
    const auto& a = l.as<PoolAttrs>();
    bool padded = false;
    for (int p : a.padBegin) padded = padded || p > 0;
    for (int p : a.padEnd) padded = padded || p > 0;
    if (!a.global && a.op == PoolOp::Average && padded && !a.countPadding)
        return "average pooling whose divisor excludes the padding (a different divisor per border position)";
    return {};
}

std::string softmaxLegality(const Layer& l) {
    if (l.softmax.implementation == SoftmaxImpl::Legacy)
        return "softmax Implementation legacy (n^2 table lookups with truncating divisions; use the HLS "
               "backend, or Implementation stable, latency, argmax or tachyon)";
    return {};
}

std::string unsupportedReason(const Layer& l) { return ops::opInfo(l.kind).legality(l); }

std::vector<Sig> emitLayer(RtlContext& c, const Layer& l, const LoweredGraph& low, const std::vector<Sig>& in,
                           const FixedType& inT) {
    c.prefix = l.name + "_";
    c.delayConstraint = l.schedule.delayConstraint;
    for (char& ch : c.prefix)
        if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_') ch = '_';
    const LayerEmitter emit = ops::opInfo(l.kind).rtl;
    if (!emit) throw Error("Verilog backend: layer " + l.name + ": kind " + toString(l.kind) + " not supported");
    return emit(c, l, low, in, inT);
}

}  // namespace tachyon::verilog
