#include "passes/BinaryMac.h"

namespace tachyon {

namespace {

// +-A when every value the layer can produce is +A or -A (raw of its result type): a
// Threshold-mode Quantize whose levels, cast to the result type as the emulator casts
// them, are all +-A. 0 otherwise.
int64_t bipolarLevel(const Layer& p) {
    if (p.kind != LayerKind::Quantize || !p.hasType("result")) return 0;
    const auto& a = p.as<QuantizeAttrs>();
    if (a.mode != QuantizeMode::Threshold || a.levels.empty()) return 0;
    const FixedType& t = p.type("result");
    int64_t level = 0;
    for (double v : a.levels) {
        const Int128 raw = t.castDouble(v);
        const Int128 mag = raw < 0 ? -raw : raw;
        if (mag == 0 || mag >= (Int128(1) << 30) || (level != 0 && int64_t(mag) != level)) return 0;
        level = int64_t(mag);
    }
    return level;
}

// The level A (raw of `l`'s result type) when the tensor `l` produces holds only +A and
// -A: `l` is a binary Quantize, or a layer that only moves values (Reshape/Flatten,
// Transpose/Permute) of such a tensor, cast to its own result type on the way (the cast
// of +-A must again be +-A', both signs, exactly). 0 otherwise.
int64_t binaryLevel(const Graph& g, const Layer& l) {
    if (l.kind == LayerKind::Quantize) return bipolarLevel(l);
    if ((l.kind != LayerKind::Reshape && l.kind != LayerKind::Transpose) || l.inputs.size() != 1 ||
        !l.hasType("result"))
        return 0;
    const Layer* from = g.find(l.input());
    if (!from || !from->hasType("result")) return 0;
    const int64_t a = binaryLevel(g, *from);
    if (a == 0) return 0;
    const FixedType& t = l.type("result");
    const int frac = from->type("result").frac();
    const Int128 up = t.castRaw(Int128(a), frac), down = t.castRaw(-Int128(a), frac);
    if (up <= 0 || down != -up || up >= (Int128(1) << 30)) return 0;
    return int64_t(up);
}

}  // namespace

std::optional<BinaryMac> binaryMacForm(const Graph& g, const Layer& l) {
    if ((l.kind != LayerKind::Dense && l.kind != LayerKind::Conv) || l.inputs.size() != 1) return std::nullopt;
    if (l.kind == LayerKind::Conv && l.as<ConvAttrs>().depthwise) return std::nullopt;
    for (const char* v : {"weight", "bias", "accum", "result"})
        if (!l.hasType(v)) return std::nullopt;
    const Layer* producer = g.find(l.input());
    if (!producer || !producer->hasType("result")) return std::nullopt;
    BinaryMac f;
    f.inputLevel = binaryLevel(g, *producer);
    if (f.inputLevel == 0) return std::nullopt;
    const MacDims d = macDims(l);
    f.nIn = d.nIn;
    f.nOut = d.nOut;
    if (f.nIn <= 0 || f.nOut <= 0 || f.nIn >= (1 << 24)) return std::nullopt;

    // Weights +-H_j per output, as the emulator quantises them.
    const FixedType& wT = l.type("weight");
    const std::vector<double>& w = l.param("weight");
    if (w.size() != size_t(f.nIn) * size_t(f.nOut)) return std::nullopt;
    f.weightBit.resize(w.size());
    f.weightLevel.assign(size_t(f.nOut), 0);
    for (size_t k = 0; k < w.size(); ++k) {
        const Int128 raw = wT.castDouble(w[k]);
        const Int128 mag = raw < 0 ? -raw : raw;
        int64_t& h = f.weightLevel[k % size_t(f.nOut)];
        if (mag == 0 || mag >= (Int128(1) << 30) || (h != 0 && int64_t(mag) != h)) return std::nullopt;
        h = int64_t(mag);
        f.weightBit[k] = raw > 0;
    }

    // Each product +-A H_j must be exact in the accumulator, and no partial sum of the
    // ascending accumulation (bias first) may leave its range: then every cast of the
    // generic accumulation is the identity and the sum is the exact one. A window with
    // padded inputs sums fewer products, so the bound for N real ones covers it.
    const FixedType& accT = l.type("accum");
    const FixedType& bT = l.type("bias");
    const FixedType& inT = producer->type("result");
    const int up = accT.frac() - (inT.frac() + wT.frac());   // product LSB -> accumulator LSB
    const Int128 accLo = accT.minRaw() + ((accT.overflow == Overflow::SAT_SYM && accT.isSigned) ? 1 : 0);
    const Int128 accHi = accT.maxRaw();
    const std::vector<double>& b = l.param("bias");
    for (int j = 0; j < f.nOut; ++j) {
        Int128 s = Int128(f.inputLevel) * f.weightLevel[size_t(j)];   // |product| at the product LSB
        if (up >= 0) {
            if (up > 60) return std::nullopt;
            s <<= up;
        } else {
            if (-up > 60 || s % (Int128(1) << -up) != 0) return std::nullopt;
            s >>= -up;
        }
        const Int128 bias = accT.castRaw(bT.castDouble(b[size_t(j)]), bT.frac());
        const Int128 reach = s * f.nIn;
        if (s >= (Int128(1) << 40) || bias - reach < accLo || bias + reach > accHi) return std::nullopt;
        f.step.push_back(int64_t(2 * s));
        f.offset.push_back(int64_t(bias - reach));
    }

    // Padded window inputs per output position (convWindowIndex: -1 over padding).
    if (l.kind == LayerKind::Conv) {
        const std::vector<int> window = convWindowIndex(l.as<ConvAttrs>(), producer->shape, l.shape, false);
        bool any = false;
        for (int k : window) any = any || k < 0;
        if (any) {
            f.paddedInput.resize(window.size());
            for (size_t k = 0; k < window.size(); ++k) f.paddedInput[k] = window[k] < 0;
            for (size_t p = 0; p < window.size(); p += size_t(f.nIn)) {
                int n = 0;
                for (int i = 0; i < f.nIn; ++i) n += f.paddedInput[p + size_t(i)];
                f.padded.push_back(n);
            }
        }
    }
    return f;
}

}  // namespace tachyon
