// Recurrent layers unrolled in time. Each step is the cell of src/ops/recurrent/Kernel.cpp
// built from the shared blocks: the two multiply-accumulates are Dense's (macRtl: shift-add
// graphs of the constant kernels), the gate functions are the emulator's own tables (ROM
// lookups) or exact piecewise-linear logic, and the gate products are variable x variable
// multipliers followed by the exact casts. The state before the first step is zero, so the
// first step's recurrent products are left out (its recurrent accumulators are the cast
// biases, constants).
#include "ops/recurrent/Rtl.h"

#include "ops/mac/Rtl.h"
#include "util/Error.h"

#include <algorithm>

namespace tachyon::verilog {

namespace {

constexpr Sig kZero = -1;   // a state value that is still the initial 0

class RecurrentBuilder {
public:
    RecurrentBuilder(RtlContext& c, const Layer& l, const LoweredGraph& low)
        : c_(c), l_(l), low_(low), a_(l.as<RecurrentAttrs>()), A_(l.type("accum")),
          S_(l.hasType("state") ? l.type("state") : l.type("result")) {}

    std::vector<Sig> build(const std::vector<Sig>& in, const FixedType& inT) {
        const int n = a_.units, G = a_.gates(), T = a_.steps, nIn = a_.nIn;
        if (int(in.size()) != T * nIn)
            throw Error("Verilog backend: layer " + l_.name + ": expected " + std::to_string(T * nIn) +
                        " input values (steps x features), got " + std::to_string(in.size()));
        const FixedType& wT = l_.type("weight");
        const FixedType& rT = l_.hasType("recurrent_weight") ? l_.type("recurrent_weight") : wT;
        const FixedType& bT = l_.type("bias");
        const FixedType& rbT = l_.hasType("recurrent_bias") ? l_.type("recurrent_bias") : bT;
        const auto& W = low_.weightRaw(l_.name);
        const auto& B = low_.biasRaw(l_.name);
        const auto& R = low_.recurrentWeightRaw(l_.name);
        const auto& RB = low_.recurrentBiasRaw(l_.name);
        const bool before = a_.cell == RnnCell::GRU && !a_.resetAfter;
        // GRU reset_before: the candidate's recurrent product reads r*h, a MAC of its own.
        const MacSpec macX = columns(W, wT.frac(), B, bT.frac(), nIn, G * n, 0, G * n);
        const MacSpec macH = columns(R, rT.frac(), RB, rbT.frac(), n, G * n, 0, before ? 2 * n : G * n);
        const MacSpec macRh = columns(R, rT.frac(), RB, rbT.frac(), n, G * n, 2 * n, 3 * n);

        std::vector<Sig> h(size_t(n), kZero), cell(size_t(n), kZero);
        std::vector<Sig> out(size_t(a_.returnSequences ? T * n : n));
        for (int k = 0; k < T; ++k) {
            const int t = a_.goBackwards ? T - 1 - k : k;
            const std::vector<Sig> x(in.begin() + ptrdiff_t(t) * nIn, in.begin() + ptrdiff_t(t + 1) * nIn);
            const std::vector<Sig> ax = macRtl(c_, macX, x, inT);
            const std::vector<Sig> ah = mac(macH, h);
            switch (a_.cell) {
            case RnnCell::SimpleRNN:
                for (int j = 0; j < n; ++j)
                    h[size_t(j)] = castTo(c_, act(a_.activation, Table::Activation, pre(ax, ah, j), fa()), fa(), S_);
                break;
            case RnnCell::LSTM: lstmStep(ax, ah, h, cell); break;
            case RnnCell::GRU: gruStep(ax, ah, macRh, h); break;
            }
            if (a_.returnSequences) {
                const int slot = a_.goBackwards && a_.outputInInputOrder ? t : k;
                for (int j = 0; j < n; ++j) out[size_t(slot * n + j)] = castTo(c_, h[size_t(j)], fs(), l_.type("result"));
            }
        }
        if (!a_.returnSequences)
            for (int j = 0; j < n; ++j) out[size_t(j)] = castTo(c_, h[size_t(j)], fs(), l_.type("result"));
        return out;
    }

private:
    using Table = LoweredGraph::RecurrentTable;

    int fa() const { return A_.frac(); }
    int fs() const { return S_.frac(); }

    // Columns [c0, c1) of a [rows][stride] kernel and its bias as one Dense accumulation
    // into A (result type A: macOutputs' cast is the identity).
    MacSpec columns(const std::vector<int64_t>& w, int wFrac, const std::vector<int64_t>& b, int bFrac, int rows,
                    int stride, int c0, int c1) const {
        MacSpec s;
        s.nIn = rows;
        s.nOut = c1 - c0;
        for (int i = 0; i < rows; ++i)
            for (int j = c0; j < c1; ++j) s.weight.push_back(w[size_t(i) * size_t(stride) + size_t(j)]);
        for (int j = c0; j < c1; ++j) s.bias.push_back(b.empty() ? 0 : b[size_t(j)]);
        s.accum = A_;
        s.result = A_;
        s.weightFrac = wFrac;
        s.biasFrac = bFrac;
        return s;
    }

    // MAC over state values (raw of S); over the zero initial state it is the cast biases.
    std::vector<Sig> mac(const MacSpec& spec, const std::vector<Sig>& state) {
        if (state[0] != kZero) return macRtl(c_, spec, state, S_);
        std::vector<Sig> acc;
        for (int64_t b : spec.bias) acc.push_back(constant(c_, A_.castRaw(Int128(b), spec.biasFrac)));
        return acc;
    }

    // pre_j = cast<A>(ax_j + ah_j)
    Sig pre(const std::vector<Sig>& ax, const std::vector<Sig>& ah, int j) {
        return castTo(c_, add(c_, ax[size_t(j)], ah[size_t(j)]), fa(), A_);
    }

    // act_A(key) = cast<A>(f(key)), the key a raw at frac keyFrac (Recurrent.cpp's ActEval).
    Sig act(ActKind kind, Table which, Sig key, int keyFrac) {
        switch (kind) {
        case ActKind::Linear: return castTo(c_, key, keyFrac, A_);
        case ActKind::ReLU:
            return castTo(c_, clampConst(c_, key, 0, std::max<Int128>(c_.nl.node(key).hi, 0)), keyFrac, A_);
        case ActKind::HardSigmoid: {
            // clip(slope x + offset, 0, 1) exactly, at frac param + max(keyFrac, 0).
            const std::vector<int64_t>& p = low_.paramRaw(l_.name);   // {slope, offset}
            const int up = std::max(0, -keyFrac), offUp = std::max(keyFrac, 0);
            const int f = l_.type("param").frac() + offUp;
            Sig v = linearMap(c_, {up ? shiftLeft(c_, key, up) : key}, {p.at(0)}, 1, 1, {Int128(p.at(1)) << offUp})[0];
            return castTo(c_, clampConst(c_, v, 0, Int128(1) << f), f, A_);
        }
        default: {
            const LookupTable* t = low_.recurrentTable(l_.name, which);
            if (!t)
                throw Error("Verilog backend: layer " + l_.name + " has no " + toString(kind) +
                            " table in the emulator");
            const char* tag = which == Table::Activation ? "act" : which == Table::StateActivation ? "sact" : "ract";
            return castTo(c_, romLookup(c_, key, *t, c_.prefix + tag), t->valueType.frac(), A_);
        }
        }
    }

    // c = cast<S>(g*i + c*f), h = cast<S>(o * act_A(c)); gates i, f, g, o in that order.
    void lstmStep(const std::vector<Sig>& ax, const std::vector<Sig>& ah, std::vector<Sig>& h, std::vector<Sig>& cell) {
        const int n = a_.units;
        std::vector<Sig> gate(size_t(4 * n));
        for (int j = 0; j < 4 * n; ++j) {
            const bool candidate = j >= 2 * n && j < 3 * n;
            gate[size_t(j)] = candidate ? act(a_.activation, Table::Activation, pre(ax, ah, j), fa())
                                        : act(a_.recurrentActivation, Table::RecurrentActivation, pre(ax, ah, j), fa());
        }
        const int cFrac = std::max(2 * fa(), fs() + fa());
        for (int j = 0; j < n; ++j) {
            Sig v = shiftLeft(c_, multiply(c_, gate[size_t(2 * n + j)], gate[size_t(j)]), cFrac - 2 * fa());
            if (cell[size_t(j)] != kZero)
                v = add(c_, v, shiftLeft(c_, multiply(c_, cell[size_t(j)], gate[size_t(n + j)]), cFrac - fs() - fa()));
            cell[size_t(j)] = castTo(c_, v, cFrac, S_);
            const Sig ac = act(a_.activation, Table::StateActivation, cell[size_t(j)], fs());
            h[size_t(j)] = castTo(c_, multiply(c_, gate[size_t(3 * n + j)], ac), 2 * fa(), S_);
        }
    }

    // z, r = ract(pre); candidate hh = act(cast<A>(ax_h + r-gated recurrent term));
    // h = cast<S>(hh*(1-z) + h*z).
    void gruStep(const std::vector<Sig>& ax, const std::vector<Sig>& ah, const MacSpec& macRh, std::vector<Sig>& h) {
        const int n = a_.units;
        std::vector<Sig> gate(static_cast<size_t>(2 * n)), ahh(static_cast<size_t>(n));
        for (int j = 0; j < 2 * n; ++j)
            gate[size_t(j)] = act(a_.recurrentActivation, Table::RecurrentActivation, pre(ax, ah, j), fa());
        if (a_.resetAfter) {
            for (int j = 0; j < n; ++j) {
                const Sig rah = castTo(c_, multiply(c_, gate[size_t(n + j)], ah[size_t(2 * n + j)]), 2 * fa(), A_);
                ahh[size_t(j)] = castTo(c_, add(c_, ax[size_t(2 * n + j)], rah), fa(), A_);
            }
        } else {
            std::vector<Sig> rh(size_t(n), kZero);
            if (h[0] != kZero)
                for (int j = 0; j < n; ++j)
                    rh[size_t(j)] = castTo(c_, multiply(c_, gate[size_t(n + j)], h[size_t(j)]), fa() + fs(), S_);
            const std::vector<Sig> acc = mac(macRh, rh);
            for (int j = 0; j < n; ++j) ahh[size_t(j)] = castTo(c_, add(c_, ax[size_t(2 * n + j)], acc[size_t(j)]), fa(), A_);
        }
        const int F = std::max(2 * fa(), fs() + fa());
        const Sig one = constant(c_, Int128(1) << fa());
        for (int j = 0; j < n; ++j) {
            const Sig hh = act(a_.activation, Table::Activation, ahh[size_t(j)], fa());
            const Sig z = gate[size_t(j)];
            Sig v = shiftLeft(c_, multiply(c_, hh, add(c_, one, z, true)), F - 2 * fa());
            if (h[size_t(j)] != kZero) v = add(c_, v, shiftLeft(c_, multiply(c_, h[size_t(j)], z), F - fs() - fa()));
            h[size_t(j)] = castTo(c_, v, F, S_);
        }
    }

    RtlContext& c_;
    const Layer& l_;
    const LoweredGraph& low_;
    const RecurrentAttrs a_;
    const FixedType A_, S_;
};

}  // namespace

std::vector<Sig> recurrentRtl(RtlContext& c, const Layer& l, const LoweredGraph& low, const std::vector<Sig>& in,
                              const FixedType& inT) {
    return RecurrentBuilder(c, l, low).build(in, inT);
}

}  // namespace tachyon::verilog
