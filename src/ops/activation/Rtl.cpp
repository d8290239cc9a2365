// Activations as netlist blocks: clamps and shifts for the exact ones, a ROM of the lowered
// graph's table (and a multiplier or a sign select) for the others.
#include "ops/activation/Rtl.h"

#include "util/Error.h"

#include <algorithm>
#include <string>
#include <vector>

namespace tachyon::verilog {

namespace {

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
        // As Kernel.cpp: elu/selu x >= 0 exactly (selu: lambda * x), x < 0 the table;
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

}  // namespace

std::vector<Sig> activationRtl(RtlContext& c, const Layer& l, const LoweredGraph& low, const std::vector<Sig>& in,
                               const FixedType& inT) {
    return activation(c, l, low, in, inT);
}

}  // namespace tachyon::verilog
