// SimpleRNN, LSTM and GRU over a [steps, features] sequence, in hls4ml's static form
// (docs/semantics.md, "Recurrent layers"). Types: x (input), A = accum, S = state,
// W = weight, R = recurrent_weight, B = bias, RB = recurrent_bias, T = table.
// Each step computes two multiply-accumulates with Dense's exact arithmetic
//   ax = MAC_A(x_t; W, B),  ah = MAC_A(h_{t-1}; R, RB)
// then the cell's gate arithmetic, every product exact and every stored value cast:
//   pre = cast<A>(ax + ah); gate = act_A(pre) = cast<A>(f(pre)) (f by table or exactly)
//   LSTM: c = cast<S>(g*i + c*f), h = cast<S>(o * act_A(c))   (act over c keyed on S)
//   GRU:  h = cast<S>(hh*(1-z) + h*z), hh = act_A(cast<A>(ax_h + cast<A>(r * ah_h)))  (reset_after)
//         reset_before: hh = act_A(cast<A>(ax_h + MAC_A(cast<S>(r*h); R_h, 0)))
//   SimpleRNN: h = cast<S>(act_A(pre))
// and the layer's output is cast<result>(h) (every step, or the last).
#include "emulator/Cast.h"
#include "emulator/Kernel.h"
#include "emulator/LaneCast.h"

#include "config/Config.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>

namespace tachyon {

namespace {

// Rows run in lock-step in blocks of kLanes: every per-step array is [element][lane].
constexpr int kLanes = 16;

// fn(offset, count) over `elems` elements' first m lanes: one call over the whole array when
// every lane holds a row (fewer, longer vector loops), else one call per element.
template <class F>
inline void forEachBlock(int elems, int m, F&& fn) {
    if (m == kLanes) {
        fn(0, elems * kLanes);
        return;
    }
    for (int e = 0; e < elems; ++e) fn(e * kLanes, m);
}

// cast<t>(v * 2^-frac) for a wide exact value: the inline Caster when v fits int64.
inline int64_t castWide(const Caster& c, Int128 v, uint64_t& ov) {
    if (v >= -(Int128(1) << 62) && v < (Int128(1) << 62)) return c(int64_t(v), ov);
    CastStatus st;
    const int64_t r = int64_t(c.dst.castRaw(v, c.srcFrac, &st));
    ov += st.overflow;
    return r;
}

// One multiply-accumulate of Dense's semantics over a small input vector, with the
// weights kept [nIn][nOut]: acc_j = cast<A>(b_j); acc_j = cast<A>(acc_j + cast<A>(x_i w_ij)).
struct RecMac {
    int nIn = 0, nOut = 0;
    std::vector<int64_t> w;        // raw, [nIn][nOut]
    std::vector<int64_t> biasAcc;  // cast<A>(bias), raw
    Caster prodCast, accCast;
    int shift = 0;                 // product frac - A frac
    bool trnFast = false;          // TRN and no overflow possible: acc += (x*w) >> shift
    bool exactFast = false;        // shift <= 0 and no overflow: acc += (x*w) << -shift
    // A wraps (AP_WRAP, no saturation bits): wrapping is modular, so wrapping every partial
    // sum equals wrapping the exact sum once (products exact or truncated as above).
    bool wrapFast = false;

    void build(const std::vector<int64_t>& wRaw, int wFrac, const std::vector<int64_t>& bRaw, int bFrac,
               const FixedType& inT, const FixedType& accT, int nInputs, int nOutputs, int colBegin, int colEnd,
               int stride) {
        nIn = nInputs;
        nOut = colEnd - colBegin;
        w.assign(size_t(nIn) * size_t(nOut), 0);
        biasAcc.assign(size_t(nOut), 0);
        for (int i = 0; i < nIn; ++i)
            for (int j = colBegin; j < colEnd; ++j) w[size_t(i) * nOut + size_t(j - colBegin)] = wRaw[size_t(i) * stride + size_t(j)];
        for (int j = colBegin; j < colEnd; ++j)
            biasAcc[size_t(j - colBegin)] = bRaw.empty() ? 0 : int64_t(accT.castRaw(Int128(bRaw[size_t(j)]), bFrac));
        (void)nOutputs;
        shift = inT.frac() + wFrac - accT.frac();
        prodCast = Caster(accT, inT.frac() + wFrac);
        accCast = Caster(accT, accT.frac());
        // Bound every partial sum: if it stays inside A, no cast in the sum can overflow.
        const double maxX = double(maxAbsRaw(inT));
        double worst = 0;
        for (int j = 0; j < nOut; ++j) {
            double s = std::fabs(double(biasAcc[size_t(j)]));
            for (int i = 0; i < nIn; ++i)
                s += std::ldexp(maxX * std::fabs(double(w[size_t(i) * nOut + j])), -shift) + 1;
            worst = std::max(worst, s);
        }
        const bool noOverflow = worst < double(maxAbsRaw(accT)) && !accCast.generic &&
                                !prodCast.generic;
        bool smallW = true;
        for (int64_t v : w) smallW = smallW && std::llabs(v) < (int64_t(1) << 30);
        const bool smallX = maxX < double(int64_t(1) << 30);
        trnFast = noOverflow && smallW && smallX && shift >= 0 && accT.quant == Quant::TRN;
        exactFast = noOverflow && smallW && smallX && shift <= 0 && shift > -20;
        const bool modular = accT.overflow == Overflow::WRAP && accT.satBits == 0 && accT.width <= 62 &&
                             !accCast.generic && double(nIn + 1) * std::ldexp(maxX * double(int64_t(1) << 30), -std::max(shift, 0)) < 1e18;
        wrapFast = !trnFast && !exactFast && smallW && smallX && modular &&
                   ((shift >= 0 && accT.quant == Quant::TRN) || (shift <= 0 && shift > -20));
    }

    // acc (nOut raws of A) from x (nIn raws of the input type).
    void run(const int64_t* x, int64_t* acc, uint64_t& ov) const {
        std::copy(biasAcc.begin(), biasAcc.end(), acc);
        if (trnFast || exactFast || wrapFast) {
            const bool down = shift >= 0;
            for (int i = 0; i < nIn; ++i) {
                const int64_t xi = x[i];
                const int64_t* wi = w.data() + size_t(i) * nOut;
                if (down)
                    for (int j = 0; j < nOut; ++j) acc[j] += (xi * wi[j]) >> shift;
                else
                    for (int j = 0; j < nOut; ++j) acc[j] += (xi * wi[j]) * (int64_t(1) << -shift);
            }
            if (wrapFast)
                for (int j = 0; j < nOut; ++j) acc[j] = accCast(acc[j], ov);
            return;
        }
        for (int i = 0; i < nIn; ++i) {
            const int64_t xi = x[i];
            const int64_t* wi = w.data() + size_t(i) * nOut;
            for (int j = 0; j < nOut; ++j) {
                const int64_t p = castWide(prodCast, Int128(xi) * wi[j], ov);
                acc[j] = accCast(acc[j] + p, ov);
            }
        }
    }

    // run() for m <= kLanes rows at once: x is [nIn][kLanes], acc [nOut][kLanes].
    void runLanes(const int64_t* x, int64_t* acc, int m, uint64_t& ov) const {
        for (int j = 0; j < nOut; ++j)
            for (int l = 0; l < kLanes; ++l) acc[j * kLanes + l] = biasAcc[size_t(j)];   // unused lanes stay bounded
        if (trnFast || exactFast || wrapFast) {
            const int down = std::max(shift, 0);
            const int64_t upScale = int64_t(1) << std::max(-shift, 0);
            for (int i = 0; i < nIn; ++i) {
                const int64_t* xi = x + i * kLanes;
                const int64_t* wi = w.data() + size_t(i) * nOut;
                for (int j = 0; j < nOut; ++j) {
                    const int64_t wij = wi[j];
                    int64_t* aj = acc + j * kLanes;
                    for (int l = 0; l < kLanes; ++l) aj[l] += ((xi[l] * wij) >> down) * upScale;
                }
            }
            if (wrapFast)
                forEachBlock(nOut, m, [&](int o, int cnt) { castLanes(accCast, acc + o, acc + o, cnt, ov); });
            return;
        }
        for (int i = 0; i < nIn; ++i)
            for (int j = 0; j < nOut; ++j)
                for (int l = 0; l < m; ++l) {
                    const int64_t p = castWide(prodCast, Int128(x[i * kLanes + l]) * w[size_t(i) * nOut + j], ov);
                    acc[j * kLanes + l] = accCast(acc[j * kLanes + l] + p, ov);
                }
    }
};

// act_A(key) = cast<A>(f(key)), the key a raw of type `keyT`.
struct ActEval {
    ActKind kind = ActKind::Linear;
    LookupTable table;
    Caster toAcc;
    int keyFrac = 0, paramFrac = 0;
    int64_t slope = 0, offset = 0;

    // `table` and `param` are the layer's lowered ones (ops/recurrent/Lower.cpp): the table of
    // this function over `keyT` (unused by functions computed without one), hard_sigmoid's
    // {slope, offset}.
    void build(const Layer& l, ActKind k, const FixedType& keyT, const FixedType& accT, const LookupTable& t,
               const std::vector<int64_t>& param) {
        kind = k;
        keyFrac = keyT.frac();
        switch (k) {
        case ActKind::Linear:
        case ActKind::ReLU: toAcc = Caster(accT, keyFrac); break;
        case ActKind::HardSigmoid:
            // Keras 2's hard_sigmoid: clip(0.2 x + 0.5, 0, 1), constants quantised to `param`.
            paramFrac = l.type("param").frac();
            slope = param.at(0);
            offset = param.at(1);
            toAcc = Caster(accT, paramFrac + std::max(keyFrac, 0));
            break;
        case ActKind::Sigmoid:
        case ActKind::Tanh:
        case ActKind::Softsign:
        case ActKind::Softplus:
            table = t;
            toAcc = Caster(accT, table.valueType.frac());
            break;
        default:
            throw Error("layer '" + l.name + "': activation " + toString(k) +
                        " is not supported in a recurrent layer (linear, relu, sigmoid, tanh, hard_sigmoid, "
                        "softsign, softplus)");
        }
    }

    int64_t operator()(int64_t x, uint64_t& ov) const {
        switch (kind) {
        case ActKind::Linear: return toAcc(x, ov);
        case ActKind::ReLU: return toAcc(x < 0 ? 0 : x, ov);
        case ActKind::HardSigmoid: {
            const int up = std::max(0, -keyFrac), offUp = std::max(keyFrac, 0);
            int64_t v = ((x * slope) << up) + (offset << offUp);
            v = std::clamp<int64_t>(v, 0, int64_t(1) << (paramFrac + offUp));
            return toAcc(v, ov);
        }
        default: return toAcc(table.lookup(x), ov);
        }
    }

    // out[l] = (*this)(x[l], ov) for l < count; out may be x.
    void lanes(const int64_t* x, int64_t* out, int count, uint64_t& ov) const {
        switch (kind) {
        case ActKind::Linear: castLanes(toAcc, x, out, count, ov); return;
        case ActKind::ReLU:
            for (int l = 0; l < count; ++l) out[l] = std::max<int64_t>(x[l], 0);
            break;
        case ActKind::HardSigmoid: {
            const int up = std::max(0, -keyFrac), offUp = std::max(keyFrac, 0);
            const int64_t top = int64_t(1) << (paramFrac + offUp), off = offset << offUp;
            for (int l = 0; l < count; ++l) out[l] = std::clamp<int64_t>(((x[l] * slope) << up) + off, 0, top);
            break;
        }
        default:
            for (int l = 0; l < count; ++l) out[l] = table.values[size_t(table.index(x[l]))];
        }
        castLanes(toAcc, out, out, count, ov);
    }

    static double real(ActKind k, double x) {
        switch (k) {
        case ActKind::Linear: return x;
        case ActKind::ReLU: return std::max(x, 0.0);
        case ActKind::HardSigmoid: return std::clamp(0.2 * x + 0.5, 0.0, 1.0);
        case ActKind::Sigmoid: return 1.0 / (1.0 + std::exp(-x));
        case ActKind::Tanh: return std::tanh(x);
        case ActKind::Softsign: return x / (1.0 + std::fabs(x));
        case ActKind::Softplus: return x > 30 ? x : std::log1p(std::exp(x));
        default: return x;
        }
    }
};

class RecurrentKernel : public Kernel {
public:
    RecurrentKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c) : Kernel(l, std::move(ins), c) {
        a_ = l.as<RecurrentAttrs>();
        const int n = a_.units, G = a_.gates();
        inT_ = ins_[0].type;
        accT_ = l.type("accum");
        stateT_ = l.hasType("state") ? l.type("state") : l.type("result");
        const FixedType& wT = l.type("weight");
        const FixedType& rT = l.hasType("recurrent_weight") ? l.type("recurrent_weight") : wT;
        const FixedType& bT = l.type("bias");
        const FixedType& rbT = l.hasType("recurrent_bias") ? l.type("recurrent_bias") : bT;
        macX_.build(consts_.weight, wT.frac(), consts_.bias, bT.frac(), inT_, accT_, a_.nIn, G * n, 0, G * n, G * n);
        const bool before = a_.cell == RnnCell::GRU && !a_.resetAfter;
        // GRU reset_before: the candidate's recurrent product reads r*h, so it is separate.
        macH_.build(consts_.recurrentWeight, rT.frac(), consts_.recurrentBias, rbT.frac(), stateT_, accT_, n, G * n, 0,
                    before ? 2 * n : G * n, G * n);
        if (before)
            macRh_.build(consts_.recurrentWeight, rT.frac(), consts_.recurrentBias, rbT.frac(), stateT_, accT_, n, G * n,
                         2 * n, 3 * n, G * n);
        act_.build(l, a_.activation, accT_, accT_, consts_.actTable, consts_.param);
        if (a_.cell != RnnCell::SimpleRNN)
            ract_.build(l, a_.recurrentActivation, accT_, accT_, consts_.recurrentTable, consts_.param);
        if (a_.cell == RnnCell::LSTM) stateAct_.build(l, a_.activation, stateT_, accT_, consts_.stateActTable, consts_.param);
        const int fa = accT_.frac(), fs = stateT_.frac();
        accCast_ = Caster(accT_, fa);
        prodAcc_ = Caster(accT_, 2 * fa);                         // r * ah
        // LSTM c: g*i (frac 2fa) + c*f (frac fs+fa), summed at the finer frac.
        cFrac_ = std::max(2 * fa, fs + fa);
        toStateC_ = Caster(stateT_, cFrac_);
        toStateProd_ = Caster(stateT_, 2 * fa);                   // LSTM h = o * act(c)
        toStateGru_ = Caster(stateT_, std::max(2 * fa, fs + fa)); // GRU mix
        toStateRh_ = Caster(stateT_, fa + fs);                    // r * h
        toStateAcc_ = Caster(stateT_, fa);                        // SimpleRNN h = act(pre)
        toResult_ = Caster(l.type("result"), fs);
        lockStep_ = emulatorKernelChoice() != "reference";
        // The cell's exact sums fit int64 (below 2^61, so castWide would not widen them):
        // LSTM c = g*i << (cFrac-2fa) + c*f << (cFrac-fs-fa), h = o*act(c);
        // GRU (hh*(1-z)) << (F-2fa) + h*z << (F-fs-fa), r*ah, r*h.
        const int wa = accT_.width, ws = stateT_.width;
        lstmNarrow_ = wa <= 30 && ws <= 30 && std::max(2 * wa + cFrac_ - 2 * fa, wa + ws + cFrac_ - fs - fa) <= 60;
        const int F = std::max(2 * fa, fs + fa);
        const int oneMinusZ = std::max(wa, fa) + 1;   // bits of |2^fa - z|
        gruNarrow_ = wa <= 30 && ws <= 30 && fa <= 30 &&
                     std::max(wa + oneMinusZ + F - 2 * fa, wa + ws + F - fs - fa) <= 60;
    }

    void fixed(const std::vector<const double*>& inputs, double* out, size_t rows, LayerStats& st) const override {
        if (lockStep_)
            fixedLockStep(inputs[0], out, rows, st);
        else
            fixedReference(inputs[0], out, rows, st);
    }

    // One row at a time, every value cast by the scalar Caster (TACHYON_EMULATOR_KERNEL=reference).
    void fixedReference(const double* input, double* out, size_t rows, LayerStats& st) const {
        const int n = a_.units, G = a_.gates(), T = a_.steps, nIn = a_.nIn;
        std::vector<int64_t> x(static_cast<size_t>(nIn)), h(static_cast<size_t>(n)), c(static_cast<size_t>(n)), ax(static_cast<size_t>(G * n)), ah(static_cast<size_t>(G * n)),
            gate(static_cast<size_t>(G * n)), rh(static_cast<size_t>(n)), ahh(static_cast<size_t>(n));
        uint64_t ov = 0, accOv = 0;
        const size_t outPerRow = size_t(layer_.outSize());
        const int fa = accT_.frac(), fs = stateT_.frac();
        for (size_t r = 0; r < rows; ++r) {
            const double* in = input + r * size_t(T * nIn);
            double* y = out + r * outPerRow;
            std::fill(h.begin(), h.end(), 0);
            std::fill(c.begin(), c.end(), 0);
            for (int k = 0; k < T; ++k) {
                const int t = a_.goBackwards ? T - 1 - k : k;
                for (int i = 0; i < nIn; ++i) x[size_t(i)] = int64_t(in[size_t(t * nIn + i)]);
                macX_.run(x.data(), ax.data(), accOv);
                macH_.run(h.data(), ah.data(), accOv);
                switch (a_.cell) {
                case RnnCell::SimpleRNN:
                    for (int j = 0; j < n; ++j) {
                        const int64_t pre = accCast_(ax[size_t(j)] + ah[size_t(j)], accOv);
                        h[size_t(j)] = toStateAcc_(act_(pre, accOv), ov);
                    }
                    break;
                case RnnCell::LSTM:
                    for (int j = 0; j < 4 * n; ++j) {
                        const int64_t pre = accCast_(ax[size_t(j)] + ah[size_t(j)], accOv);
                        gate[size_t(j)] = (j >= 2 * n && j < 3 * n) ? act_(pre, accOv) : ract_(pre, accOv);
                    }
                    for (int j = 0; j < n; ++j) {
                        const Int128 gi = Int128(gate[size_t(2 * n + j)]) * gate[size_t(j)];
                        const Int128 cf = Int128(c[size_t(j)]) * gate[size_t(n + j)];
                        const Int128 v = gi * (Int128(1) << (cFrac_ - 2 * fa)) + cf * (Int128(1) << (cFrac_ - fs - fa));
                        c[size_t(j)] = castWide(toStateC_, v, ov);
                        const int64_t ac = stateAct_(c[size_t(j)], accOv);
                        h[size_t(j)] = castWide(toStateProd_, Int128(gate[size_t(3 * n + j)]) * ac, ov);
                    }
                    break;
                case RnnCell::GRU: {
                    for (int j = 0; j < 2 * n; ++j)
                        gate[size_t(j)] = ract_(accCast_(ax[size_t(j)] + ah[size_t(j)], accOv), accOv);
                    if (a_.resetAfter) {
                        for (int j = 0; j < n; ++j) {
                            const int64_t rah = castWide(prodAcc_, Int128(gate[size_t(n + j)]) * ah[size_t(2 * n + j)], accOv);
                            ahh[size_t(j)] = accCast_(ax[size_t(2 * n + j)] + rah, accOv);
                        }
                    } else {
                        for (int j = 0; j < n; ++j)
                            rh[size_t(j)] = castWide(toStateRh_, Int128(gate[size_t(n + j)]) * h[size_t(j)], ov);
                        macRh_.run(rh.data(), ahh.data(), accOv);
                        for (int j = 0; j < n; ++j) ahh[size_t(j)] = accCast_(ax[size_t(2 * n + j)] + ahh[size_t(j)], accOv);
                    }
                    const int F = std::max(2 * fa, fs + fa);
                    const Int128 one = Int128(1) << fa;
                    for (int j = 0; j < n; ++j) {
                        const int64_t hh = act_(ahh[size_t(j)], accOv);
                        const int64_t z = gate[size_t(j)];
                        const Int128 v = Int128(hh) * (one - z) * (Int128(1) << (F - 2 * fa)) +
                                         Int128(h[size_t(j)]) * z * (Int128(1) << (F - fs - fa));
                        h[size_t(j)] = castWide(toStateGru_, v, ov);
                    }
                    break;
                }
                }
                if (a_.returnSequences) {
                    const int slot = a_.goBackwards && a_.outputInInputOrder ? t : k;
                    for (int j = 0; j < n; ++j) y[size_t(slot * n + j)] = double(toResult_(h[size_t(j)], ov));
                }
            }
            if (!a_.returnSequences)
                for (int j = 0; j < n; ++j) y[size_t(j)] = double(toResult_(h[size_t(j)], ov));
        }
        st.resultOverflows += ov;
        st.accumOverflows += accOv;
    }

    // fixedReference's arithmetic on kLanes rows at once, each per-step array [element][lane]:
    // the multiply-accumulates and casts run over the rows' lanes (the recurrence is
    // sequential only in time). Products of the cell that fit 62 bits skip Int128.
    void fixedLockStep(const double* input, double* out, size_t rows, LayerStats& st) const {
        const int n = a_.units, G = a_.gates(), T = a_.steps, nIn = a_.nIn, L = kLanes;
        auto buf = [L](int k) { return std::vector<int64_t>(size_t(k) * size_t(L), 0); };
        std::vector<int64_t> x = buf(nIn), h = buf(n), c = buf(n), ax = buf(G * n), ah = buf(G * n), gate = buf(G * n),
                             rh = buf(n), ahh = buf(n), v = buf(n), hc = buf(n);
        uint64_t ov = 0, accOv = 0;
        const size_t outPerRow = size_t(layer_.outSize()), inPerRow = size_t(T * nIn);
        const int fa = accT_.frac(), fs = stateT_.frac();
        const int F = std::max(2 * fa, fs + fa);
        // Cast an exact value per lane: int64 when the bound allows, else castWide on Int128.
        // Cast an exact value per lane; value(W{}, l) computes it in W: int64_t when the bound
        // allows (vector code), else Int128 through castWide. dst may be one of value's inputs
        // at the same index.
        auto castVals = [&](const Caster& cs, bool narrow, auto&& value, int64_t* dst, int m, uint64_t& counter) {
            if (narrow) {
                for (int l = 0; l < m; ++l) dst[l] = value(int64_t{}, l);
                castLanes(cs, dst, dst, m, counter);
            } else {
                for (int l = 0; l < m; ++l) dst[l] = castWide(cs, value(Int128{}, l), counter);
            }
        };
        for (size_t r0 = 0; r0 < rows; r0 += size_t(L)) {
            const int m = int(std::min<size_t>(size_t(L), rows - r0));
            std::fill(h.begin(), h.end(), 0);
            std::fill(c.begin(), c.end(), 0);
            auto emit = [&](int slot) {
                for (int j = 0; j < n; ++j) {
                    int64_t res[kLanes];
                    castLanes(toResult_, &h[size_t(j * L)], res, m, ov);
                    for (int l = 0; l < m; ++l) out[(r0 + size_t(l)) * outPerRow + size_t(slot * n + j)] = double(res[l]);
                }
            };
            for (int k = 0; k < T; ++k) {
                const int t = a_.goBackwards ? T - 1 - k : k;
                for (int l = 0; l < m; ++l) {
                    const double* in = input + (r0 + size_t(l)) * inPerRow + size_t(t * nIn);
                    for (int i = 0; i < nIn; ++i) x[size_t(i * L + l)] = int64_t(in[i]);
                }
                macX_.runLanes(x.data(), ax.data(), m, accOv);
                macH_.runLanes(h.data(), ah.data(), m, accOv);
                // pre = cast<A>(ax + ah) over the first `count` elements, into gate.
                auto preacts = [&](int count) {
                    for (int e = 0; e < count * L; ++e) gate[size_t(e)] = ax[size_t(e)] + ah[size_t(e)];
                    forEachBlock(count, m, [&](int o, int cnt) { castLanes(accCast_, &gate[size_t(o)], &gate[size_t(o)], cnt, accOv); });
                };
                // f over elements [e0, e1) of gate, in place.
                auto activate = [&](const ActEval& f, int e0, int e1) {
                    int64_t* g = &gate[size_t(e0 * L)];
                    forEachBlock(e1 - e0, m, [&](int o, int cnt) { f.lanes(g + o, g + o, cnt, accOv); });
                };
                switch (a_.cell) {
                case RnnCell::SimpleRNN:
                    preacts(n);
                    activate(act_, 0, n);
                    forEachBlock(n, m, [&](int o, int cnt) { castLanes(toStateAcc_, &gate[size_t(o)], &h[size_t(o)], cnt, ov); });
                    break;
                case RnnCell::LSTM:
                    preacts(4 * n);
                    activate(ract_, 0, 2 * n);
                    activate(act_, 2 * n, 3 * n);
                    activate(ract_, 3 * n, 4 * n);
                    {
                        // Element e of [0, n*L) is unit e/L, row e%L, in every gate's block.
                        const int64_t *gi = &gate[0], *gf = &gate[size_t(n * L)], *gg = &gate[size_t(2 * n * L)],
                                      *go = &gate[size_t(3 * n * L)];
                        int64_t *cs = c.data(), *hs = h.data(), *act = hc.data();
                        forEachBlock(n, m, [&](int o, int cnt) {
                            castVals(toStateC_, lstmNarrow_, [&](auto w, int l) {
                                using W = decltype(w);
                                return W(gg[o + l]) * gi[o + l] * (W(1) << (cFrac_ - 2 * fa)) +
                                       W(cs[o + l]) * gf[o + l] * (W(1) << (cFrac_ - fs - fa));
                            }, cs + o, cnt, ov);
                            stateAct_.lanes(cs + o, act + o, cnt, accOv);
                            castVals(toStateProd_, lstmNarrow_,
                                     [&](auto w, int l) { return decltype(w)(go[o + l]) * act[o + l]; }, hs + o, cnt, ov);
                        });
                    }
                    break;
                case RnnCell::GRU: {
                    preacts(2 * n);
                    activate(ract_, 0, 2 * n);
                    if (a_.resetAfter) {
                        for (int j = 0; j < n; ++j) {
                            const int64_t *rr = &gate[size_t((n + j) * L)], *ahj = &ah[size_t((2 * n + j) * L)];
                            int64_t* d = &ahh[size_t(j * L)];
                            castVals(prodAcc_, gruNarrow_, [&](auto w, int l) { return decltype(w)(rr[l]) * ahj[l]; }, d,
                                     m, accOv);
                            for (int l = 0; l < m; ++l) d[l] += ax[size_t((2 * n + j) * L + l)];
                            castLanes(accCast_, d, d, m, accOv);
                        }
                    } else {
                        for (int j = 0; j < n; ++j) {
                            const int64_t *rr = &gate[size_t((n + j) * L)], *hj = &h[size_t(j * L)];
                            castVals(toStateRh_, gruNarrow_, [&](auto w, int l) { return decltype(w)(rr[l]) * hj[l]; },
                                     &rh[size_t(j * L)], m, ov);
                        }
                        macRh_.runLanes(rh.data(), ahh.data(), m, accOv);
                        for (int j = 0; j < n; ++j) {
                            int64_t* d = &ahh[size_t(j * L)];
                            for (int l = 0; l < m; ++l) d[l] += ax[size_t((2 * n + j) * L + l)];
                            castLanes(accCast_, d, d, m, accOv);
                        }
                    }
                    for (int j = 0; j < n; ++j) {
                        int64_t* hh = &v[size_t(j * L)];
                        act_.lanes(&ahh[size_t(j * L)], hh, m, accOv);
                        const int64_t* z = &gate[size_t(j * L)];
                        int64_t* hj = &h[size_t(j * L)];
                        castVals(toStateGru_, gruNarrow_, [&](auto w, int l) {
                            using W = decltype(w);
                            return W(hh[l]) * ((W(1) << fa) - z[l]) * (W(1) << (F - 2 * fa)) +
                                   W(hj[l]) * z[l] * (W(1) << (F - fs - fa));
                        }, hj, m, ov);
                    }
                    break;
                }
                }
                if (a_.returnSequences) emit(a_.goBackwards && a_.outputInInputOrder ? t : k);
            }
            if (!a_.returnSequences) emit(0);
        }
        st.resultOverflows += ov;
        st.accumOverflows += accOv;
    }

    void real(const std::vector<const double*>& inputs, double* out, size_t rows) const override {
        const int n = a_.units, G = a_.gates(), T = a_.steps, nIn = a_.nIn;
        const auto& W = layer_.param("weight");
        const auto& R = layer_.param("recurrent_weight");
        const auto& B = layer_.param("bias");
        const auto& RB = layer_.param("recurrent_bias");
        std::vector<double> h(static_cast<size_t>(n)), c(static_cast<size_t>(n)), ax(static_cast<size_t>(G * n)), ah(static_cast<size_t>(G * n)), rh(static_cast<size_t>(n));
        std::vector<double> z(static_cast<size_t>(n)), rr(static_cast<size_t>(n)), hh(static_cast<size_t>(n));
        const size_t outPerRow = size_t(layer_.outSize());
        const ActKind fa = a_.activation, fr = a_.recurrentActivation;
        auto mac = [](const double* x, int nx, const std::vector<double>& w, const std::vector<double>& b, int stride,
                      int c0, int c1, double* acc) {
            for (int j = c0; j < c1; ++j) acc[j] = b[size_t(j)];
            for (int i = 0; i < nx; ++i)
                for (int j = c0; j < c1; ++j) acc[j] += x[i] * w[size_t(i) * size_t(stride) + size_t(j)];
        };
        for (size_t r = 0; r < rows; ++r) {
            const double* in = inputs[0] + r * size_t(T * nIn);
            double* y = out + r * outPerRow;
            std::fill(h.begin(), h.end(), 0.0);
            std::fill(c.begin(), c.end(), 0.0);
            for (int k = 0; k < T; ++k) {
                const int t = a_.goBackwards ? T - 1 - k : k;
                const double* x = in + size_t(t * nIn);
                mac(x, nIn, W, B, G * n, 0, G * n, ax.data());
                const bool before = a_.cell == RnnCell::GRU && !a_.resetAfter;
                mac(h.data(), n, R, RB, G * n, 0, before ? 2 * n : G * n, ah.data());
                switch (a_.cell) {
                case RnnCell::SimpleRNN:
                    for (int j = 0; j < n; ++j) h[size_t(j)] = ActEval::real(fa, ax[size_t(j)] + ah[size_t(j)]);
                    break;
                case RnnCell::LSTM:
                    for (int j = 0; j < n; ++j) {
                        const double i = ActEval::real(fr, ax[size_t(j)] + ah[size_t(j)]);
                        const double f = ActEval::real(fr, ax[size_t(n + j)] + ah[size_t(n + j)]);
                        const double g = ActEval::real(fa, ax[size_t(2 * n + j)] + ah[size_t(2 * n + j)]);
                        const double o = ActEval::real(fr, ax[size_t(3 * n + j)] + ah[size_t(3 * n + j)]);
                        c[size_t(j)] = f * c[size_t(j)] + i * g;
                        h[size_t(j)] = o * ActEval::real(fa, c[size_t(j)]);
                    }
                    break;
                case RnnCell::GRU: {
                    for (int j = 0; j < n; ++j) {
                        z[size_t(j)] = ActEval::real(fr, ax[size_t(j)] + ah[size_t(j)]);
                        rr[size_t(j)] = ActEval::real(fr, ax[size_t(n + j)] + ah[size_t(n + j)]);
                    }
                    if (a_.resetAfter) {
                        for (int j = 0; j < n; ++j)
                            hh[size_t(j)] = ActEval::real(fa, ax[size_t(2 * n + j)] + rr[size_t(j)] * ah[size_t(2 * n + j)]);
                    } else {
                        for (int j = 0; j < n; ++j) rh[size_t(j)] = rr[size_t(j)] * h[size_t(j)];
                        mac(rh.data(), n, R, RB, G * n, 2 * n, 3 * n, ah.data());
                        for (int j = 0; j < n; ++j)
                            hh[size_t(j)] = ActEval::real(fa, ax[size_t(2 * n + j)] + ah[size_t(2 * n + j)]);
                    }
                    for (int j = 0; j < n; ++j)
                        h[size_t(j)] = hh[size_t(j)] * (1.0 - z[size_t(j)]) + h[size_t(j)] * z[size_t(j)];
                    break;
                }
                }
                if (a_.returnSequences) {
                    const int slot = a_.goBackwards && a_.outputInInputOrder ? t : k;
                    std::copy(h.begin(), h.end(), y + size_t(slot * n));
                }
            }
            if (!a_.returnSequences) std::copy(h.begin(), h.end(), y);
        }
    }

private:
    RecurrentAttrs a_;
    FixedType inT_, accT_, stateT_;
    RecMac macX_, macH_, macRh_;
    ActEval act_, ract_, stateAct_;
    Caster accCast_, prodAcc_, toStateC_, toStateProd_, toStateGru_, toStateRh_, toStateAcc_, toResult_;
    int cFrac_ = 0;
    bool lockStep_ = true;                     // fixedLockStep, unless TACHYON_EMULATOR_KERNEL=reference
    bool lstmNarrow_ = false, gruNarrow_ = false;   // the cell's products fit int64 (fixedLockStep)
};

}  // namespace

std::unique_ptr<Kernel> makeRecurrentKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c) {
    return std::make_unique<RecurrentKernel>(l, std::move(ins), c);
}

}  // namespace tachyon
