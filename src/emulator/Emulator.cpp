#include "emulator/Emulator.h"

#include "config/Config.h"
#include "util/Error.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <thread>

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
#include <immintrin.h>
#define TACHYON_VNNI 1
constexpr bool kHavePairKernel = true;
#else
constexpr bool kHavePairKernel = false;
#endif

namespace tachyon {

// Raw fixed-point values travel between layers as doubles holding exact integers: every
// raw this emulator handles is below 2^53, and doubles let the compiler use SIMD floating
// point (with FMA) for the multiply-accumulate, which is exact under the bounds checked
// in `DenseKernel::fast`.

namespace {

// Rounds the exact value t to an integer with quantisation mode q. Valid when t came from
// an integer below 2^52 scaled by 2^-s with s <= 50, so t +- 0.5 is exact.
inline double roundMode(double t, Quant q) {
    switch (q) {
    case Quant::TRN: return std::floor(t);
    case Quant::TRN_ZERO: return std::trunc(t);
    case Quant::RND: return std::floor(t + 0.5);
    case Quant::RND_MIN_INF: return std::ceil(t - 0.5);
    case Quant::RND_ZERO: return t >= 0 ? std::ceil(t - 0.5) : std::floor(t + 0.5);
    case Quant::RND_INF: return t >= 0 ? std::floor(t + 0.5) : std::ceil(t - 0.5);
    case Quant::RND_CONV: return std::nearbyint(t);
    }
    return t;
}

// cast<dst>(a * 2^-srcFrac) for int64 a; the common modes inline, the rest via castRaw.
struct Caster {
    FixedType dst;
    int srcFrac = 0;
    int shift = 0;  // srcFrac - dst.frac()
    int64_t lo = 0, hi = 0;
    bool generic = false;

    Caster() = default;
    Caster(const FixedType& d, int sf) : dst(d), srcFrac(sf), shift(sf - d.frac()) {
        lo = int64_t(d.minRaw());
        hi = int64_t(d.maxRaw());
        generic = d.satBits != 0 || d.width > 62 || shift > 62 || shift < -62;
    }

    int64_t operator()(int64_t a, uint64_t& overflows) const {
        if (generic) {
            CastStatus st;
            int64_t r = int64_t(dst.castRaw(Int128(a), srcFrac, &st));
            overflows += st.overflow;
            return r;
        }
        int64_t q;
        if (shift > 0) {
            q = a >> shift;
            const int64_t rem = a - (q << shift), half = int64_t(1) << (shift - 1);
            switch (dst.quant) {
            case Quant::TRN: break;
            case Quant::TRN_ZERO: q += (a < 0 && rem != 0); break;
            case Quant::RND: q += (rem >= half); break;
            case Quant::RND_MIN_INF: q += (rem > half); break;
            case Quant::RND_ZERO: q += (rem > half || (rem == half && a < 0)); break;
            case Quant::RND_INF: q += (rem > half || (rem == half && a >= 0)); break;
            case Quant::RND_CONV: q += (rem > half || (rem == half && (q & 1))); break;
            }
        } else if (shift < 0) {
            const int up = -shift;
            if (a >= (int64_t(1) << (62 - up)) || a <= -(int64_t(1) << (62 - up))) {
                CastStatus st;
                int64_t r = int64_t(dst.castRaw(Int128(a), srcFrac, &st));
                overflows += st.overflow;
                return r;
            }
            q = a * (int64_t(1) << up);
        } else {
            q = a;
        }
        if (q >= lo && q <= hi) {
            if (dst.overflow == Overflow::SAT_SYM && dst.isSigned && q == lo) return -hi;
            return q;
        }
        ++overflows;
        switch (dst.overflow) {
        case Overflow::SAT: return q < lo ? lo : hi;
        case Overflow::SAT_ZERO: return 0;
        case Overflow::SAT_SYM: return q < lo ? (dst.isSigned ? -hi : 0) : hi;
        case Overflow::WRAP: {
            const int w = dst.width;
            uint64_t bits = uint64_t(q) & ((uint64_t(1) << w) - 1);
            if (dst.isSigned && (bits >> (w - 1))) return int64_t(bits) - (int64_t(1) << w);
            return int64_t(bits);
        }
        }
        return q;
    }
};

// Vectorised cast of many values held as doubles: out = raw(cast<dst>(in * 2^-shift)),
// optionally followed by max(., 0). Exact when |in * 2^-shift| < 2^51 and dst is at
// most 50 bits wide (checked at construction from a bound on |in|); otherwise every
// value goes through the scalar Caster. Returns how many values overflowed.
class DoubleCaster {
public:
    DoubleCaster() = default;
    // maxAbsIn: bound on |in|; srcFrac: fractional bits of the input (its values need not
    // be integers: the float input of the model is cast with srcFrac = 0).
    DoubleCaster(const FixedType& dst, int srcFrac, double maxAbsIn)
        : scalar_(dst, srcFrac), dst_(dst), scale_(std::ldexp(1.0, dst.frac() - srcFrac)) {
        lo_ = double(int64_t(dst.minRaw()));
        hi_ = double(int64_t(dst.maxRaw()));
        modulus_ = std::ldexp(1.0, std::min(dst.width, 60));
        vector_ = dst.satBits == 0 && dst.width <= 50 && std::isfinite(maxAbsIn * scale_) &&
                  maxAbsIn * scale_ < std::ldexp(1.0, 51) && dst.frac() - srcFrac > -60 &&
                  dst.frac() - srcFrac < 60;
    }
    bool vectorised() const { return vector_; }

    uint64_t run(const double* in, double* out, size_t n, bool relu) const {
        if (!vector_) {
            uint64_t ov = 0;
            for (size_t k = 0; k < n; ++k) {
                int64_t q = scalar_(int64_t(in[k]), ov);
                out[k] = double(relu && q < 0 ? 0 : q);
            }
            return ov;
        }
        return dispatchQuant(in, out, n, relu);
    }

private:
    template <Quant Q, Overflow O>
    uint64_t loop(const double* __restrict in, double* __restrict out, size_t n, bool relu) const {
        const double scale = scale_, lo = lo_, hi = hi_, m = modulus_, invM = 1.0 / modulus_;
        const double symLo = dst_.isSigned ? -hi : 0.0;
        uint64_t ov = 0;
        for (size_t k = 0; k < n; ++k) {
            double q = roundMode(in[k] * scale, Q);
            const bool outside = q < lo || q > hi;
            ov += outside;
            if constexpr (O == Overflow::WRAP) q -= m * std::floor((q - lo) * invM);
            else if constexpr (O == Overflow::SAT) q = std::min(std::max(q, lo), hi);
            else if constexpr (O == Overflow::SAT_ZERO) q = outside ? 0.0 : q;
            else q = std::min(std::max(q, symLo), hi);  // SAT_SYM: the range is made symmetric
            out[k] = relu ? std::max(q, 0.0) : q;
        }
        return ov;
    }
    template <Quant Q>
    uint64_t dispatchOverflow(const double* in, double* out, size_t n, bool relu) const {
        switch (dst_.overflow) {
        case Overflow::WRAP: return loop<Q, Overflow::WRAP>(in, out, n, relu);
        case Overflow::SAT: return loop<Q, Overflow::SAT>(in, out, n, relu);
        case Overflow::SAT_ZERO: return loop<Q, Overflow::SAT_ZERO>(in, out, n, relu);
        case Overflow::SAT_SYM: return loop<Q, Overflow::SAT_SYM>(in, out, n, relu);
        }
        return 0;
    }
    uint64_t dispatchQuant(const double* in, double* out, size_t n, bool relu) const {
        switch (dst_.quant) {
        case Quant::TRN: return dispatchOverflow<Quant::TRN>(in, out, n, relu);
        case Quant::TRN_ZERO: return dispatchOverflow<Quant::TRN_ZERO>(in, out, n, relu);
        case Quant::RND: return dispatchOverflow<Quant::RND>(in, out, n, relu);
        case Quant::RND_ZERO: return dispatchOverflow<Quant::RND_ZERO>(in, out, n, relu);
        case Quant::RND_INF: return dispatchOverflow<Quant::RND_INF>(in, out, n, relu);
        case Quant::RND_MIN_INF: return dispatchOverflow<Quant::RND_MIN_INF>(in, out, n, relu);
        case Quant::RND_CONV: return dispatchOverflow<Quant::RND_CONV>(in, out, n, relu);
        }
        return 0;
    }

    Caster scalar_;
    FixedType dst_;
    double scale_ = 1, lo_ = 0, hi_ = 0, modulus_ = 1;
    bool vector_ = false;
};

int64_t maxAbsRaw(const FixedType& t) {
    return int64_t(std::max(-t.minRaw(), t.maxRaw()));
}

std::vector<int64_t> quantizeAll(const std::vector<double>& v, const FixedType& t) {
    std::vector<int64_t> out(v.size());
    for (size_t i = 0; i < v.size(); ++i) out[i] = int64_t(t.castDouble(v[i]));
    return out;
}

}  // namespace

// One compiled layer: constants quantised, casts prepared, fast paths decided.
struct CompiledLayer {
    const Layer* layer = nullptr;
    FixedType inT, outT;
    int nIn = 0, nOut = 0;

    // Dense
    std::vector<int64_t> wRaw, bRaw;
    std::vector<double> wScaled;   // wRaw * 2^-prodShift (exact), row-major [nIn][nOut]
    std::vector<double> biasAcc;   // cast<accum>(bias), raw
    FixedType accT;
    int prodShift = 0;             // (Fx + Fw) - Fa
    bool fast = false;             // double SIMD path is exact
    // 32-bit integer path: every product and the (modular) sum fit 32-bit lanes, so the
    // cast of each product is (x*w + h) >> s on 16 SIMD lanes at a time.
    bool int32Path = false;
    std::vector<int32_t> w32, bias32;
    int32_t roundHalf = 0;
    // 16-bit pair path (AVX-512 VNNI): operands fit int16 and s <= 15. The sum of
    // floor((p + h) / 2^s) over products p equals (sum p + n*h - sum((p + h) mod 2^s)) / 2^s,
    // and both sums are 16x16->32-bit dot products over input pairs (32 products per
    // instruction); the low s bits of each product come from a 16-bit multiply.
    bool pairPath = false;
    int nOutPadded = 0;
    std::vector<int16_t> wPairs;   // [pair k][output block v][16 outputs][2 inputs]
    bool accumCanOverflow = true;
    Caster accToOut;
    DoubleCaster accWrap, accToOutVec;   // fast path: wrap the exact sum, then cast to result

    // BatchNorm
    std::vector<int64_t> scaleRaw, shiftRaw;
    int bnFrac = 0;                // common frac of x*scale + shift

    // Activations
    int64_t paramA = 0, paramB = 0;  // leaky alpha / hard_sigmoid slope, offset (raw of `param`)
    std::vector<int64_t> params;     // the same, for backends
    int paramFrac = 0;
    LookupTable table;
    SoftmaxTables softmax;
    Caster resultCast;             // from the layer's natural exact frac to result
    DoubleCaster resultVec;        // the same cast, vectorised (linear/relu/reshape)
};

struct Emulator::Impl {
    std::vector<CompiledLayer> layers;   // index = graph layer index
    std::map<std::string, size_t> index;
};

namespace {

void compileDense(CompiledLayer& c, const Layer& l) {
    c.accT = l.type("accum");
    const FixedType& wT = l.type("weight");
    const FixedType& bT = l.type("bias");
    c.wRaw = quantizeAll(l.weight, wT);
    c.bRaw = quantizeAll(l.bias, bT);
    c.prodShift = (c.inT.frac() + wT.frac()) - c.accT.frac();
    c.biasAcc.resize(size_t(c.nOut));
    for (int j = 0; j < c.nOut; ++j)
        c.biasAcc[size_t(j)] = double(int64_t(c.accT.castRaw(Int128(c.bRaw[size_t(j)]), bT.frac())));
    c.accToOut = Caster(c.outT, c.accT.frac());

    // Interval bound on every partial sum, in accumulator LSBs: if it fits, no cast in the
    // accumulation can overflow, whatever the overflow mode.
    const double maxX = double(maxAbsRaw(c.inT));
    const double scale = std::ldexp(1.0, -c.prodShift);
    double worst = 0.0, maxW = 0.0;
    bool fits = true;
    for (int j = 0; j < c.nOut; ++j) {
        double bound = std::fabs(c.biasAcc[size_t(j)]);
        for (int i = 0; i < c.nIn; ++i) {
            double w = std::fabs(double(c.wRaw[size_t(i) * c.nOut + j]));
            maxW = std::max(maxW, w);
            if (w != 0) bound += maxX * w * scale + 1.0;
        }
        worst = std::max(worst, bound);
        if (bound > double(c.accT.maxRaw()) || -bound < double(c.accT.minRaw())) fits = false;
    }
    c.accumCanOverflow = !fits;
    const bool modular = c.accT.satBits == 0 && (c.accT.overflow == Overflow::WRAP || fits);
    const bool exact = maxX * maxW < std::ldexp(1.0, 52) && c.prodShift <= 50 &&
                       worst + std::ldexp(1.0, std::min(c.accT.width, 60)) < std::ldexp(1.0, 52) &&
                       c.accT.width <= 62;
    c.fast = modular && exact;
    // The 32-bit path: s in [0, 30], TRN or RND products (h = 0 or 2^(s-1)), every
    // |x*w| + h below 2^31, and a sum that is right modulo 2^32: enough for a wrapping
    // accumulator of at most 32 bits, or for one that provably stays within +-2^31.
    const int s = c.prodShift;
    const bool q32 = c.accT.quant == Quant::TRN || c.accT.quant == Quant::RND;
    const bool range32 = (c.accT.overflow == Overflow::WRAP && c.accT.width <= 32) ||
                         (fits && worst < std::ldexp(1.0, 31));
    c.int32Path = c.fast && q32 && range32 && s >= 0 && s <= 30 && maxX * maxW + std::ldexp(1.0, s) < std::ldexp(1.0, 31);
    if (c.int32Path) {
        c.w32.assign(c.wRaw.begin(), c.wRaw.end());
        for (double b : c.biasAcc) c.bias32.push_back(int32_t(int64_t(b)));
        c.roundHalf = (c.accT.quant == Quant::RND && s > 0) ? (1 << (s - 1)) : 0;
        worst = std::max(worst, std::ldexp(1.0, 33));  // the modular sum may be anywhere in 32 bits
        auto fits16 = [](int64_t v) { return v >= -32768 && v <= 32767; };
        const auto [wMin, wMax] = std::minmax_element(c.wRaw.begin(), c.wRaw.end());
        // TACHYON_EMULATOR_KERNEL=portable forces the portable kernels (tests use it to
        // check both on machines that have the pair kernel).
        const char* kernel = std::getenv("TACHYON_EMULATOR_KERNEL");
        const bool portable = kernel && std::string(kernel) == "portable";
        c.pairPath = kHavePairKernel && !portable && s <= 15 && fits16(int64_t(c.inT.minRaw())) && fits16(int64_t(c.inT.maxRaw())) &&
                     !c.wRaw.empty() && fits16(*wMin) && fits16(*wMax);
        if (c.pairPath) {
            const int nPairs = (c.nIn + 1) / 2, nVec = (c.nOut + 15) / 16;
            c.nOutPadded = nVec * 16;
            c.wPairs.assign(size_t(nPairs) * nVec * 32, 0);
            for (int i = 0; i < c.nIn; ++i)
                for (int j = 0; j < c.nOut; ++j)
                    c.wPairs[(size_t(i / 2) * nVec + size_t(j / 16)) * 32 + size_t(j % 16) * 2 + size_t(i % 2)] =
                        int16_t(c.wRaw[size_t(i) * c.nOut + j]);
        }
    }
    c.accWrap = DoubleCaster(c.accT, c.accT.frac(), worst);
    c.accToOutVec = DoubleCaster(c.outT, c.accT.frac(), c.accumCanOverflow ? double(maxAbsRaw(c.accT)) : worst);
    c.wScaled.resize(c.wRaw.size());
    for (size_t k = 0; k < c.wRaw.size(); ++k) c.wScaled[k] = std::ldexp(double(c.wRaw[k]), -c.prodShift);
}

void compileLayer(CompiledLayer& c, const Layer& l, const FixedType& inT) {
    c.layer = &l;
    c.inT = inT;
    c.outT = l.type("result");
    c.nOut = l.outSize();
    c.nIn = l.kind == LayerKind::Input ? c.nOut : l.nIn ? l.nIn : c.nOut;
    switch (l.kind) {
    case LayerKind::Input:
    case LayerKind::Reshape:
        c.resultCast = Caster(c.outT, inT.frac());
        c.resultVec = DoubleCaster(c.outT, inT.frac(), double(maxAbsRaw(inT)));
        break;
    case LayerKind::Dense:
        compileDense(c, l);
        break;
    case LayerKind::BatchNorm: {
        const FixedType& sT = l.type("scale");
        const FixedType& hT = l.type("shift");
        c.scaleRaw = quantizeAll(l.scale, sT);
        c.shiftRaw = quantizeAll(l.shift, hT);
        c.bnFrac = std::max(inT.frac() + sT.frac(), hT.frac());
        c.resultCast = Caster(c.outT, c.bnFrac);
        break;
    }
    case LayerKind::Activation: {
        switch (l.activation) {
        case ActKind::Sigmoid:
        case ActKind::Tanh:
            c.table = buildActivationTable(l, inT);
            c.resultCast = Caster(c.outT, c.table.valueType.frac());
            break;
        case ActKind::LeakyReLU:
        case ActKind::HardSigmoid: {
            const FixedType& p = l.type("param");
            c.paramFrac = p.frac();
            if (l.activation == ActKind::LeakyReLU) {
                c.paramA = int64_t(p.castDouble(l.alpha));
                c.params = {c.paramA};
                c.resultCast = Caster(c.outT, inT.frac() + p.frac());
            } else {
                c.paramA = int64_t(p.castDouble(l.hardSlope));
                c.paramB = int64_t(p.castDouble(l.hardOffset));
                c.params = {c.paramA, c.paramB};
                // slope*x + offset exactly: at frac pf + max(fx, 0).
                c.resultCast = Caster(c.outT, p.frac() + std::max(inT.frac(), 0));
            }
            break;
        }
        default:
            c.resultCast = Caster(c.outT, std::max(inT.frac(), 0));
            c.resultVec = DoubleCaster(c.outT, inT.frac(), double(maxAbsRaw(inT)));
            break;
        }
        break;
    }
    case LayerKind::Softmax:
        c.softmax = buildSoftmaxTables(l, inT, c.nOut);
        // y = e * r: exact product of the two table entries.
        c.resultCast = Caster(c.outT, c.softmax.exp.valueType.frac() + c.softmax.inv.valueType.frac());
        break;
    }
}

// ---- fixed-point layer kernels over a chunk of rows (in/out are raw values as doubles) ----

// The one multiply-accumulate kernel, shared by float and fixed mode: for every row,
// a = bias + sum_i round(x_i * w_i) with w already scaled by 2^-prodShift (exact). Zero
// inputs are skipped (common after ReLU), and four inputs are combined per pass over `a`
// so that the accumulator row is loaded and stored a quarter as often.
template <class T, class Round>
void denseRows(const T* in, T* acc, size_t rows, int nIn, int nOut, const T* wAll, const T* bias, Round round) {
    std::vector<int> idx(size_t(nIn) + 4);
    std::vector<T> xv(size_t(nIn) + 4);
    for (size_t r = 0; r < rows; ++r) {
        T* __restrict a = acc + r * nOut;
        std::copy(bias, bias + nOut, a);
        const T* x = in + r * nIn;
        int nz = 0;
        for (int i = 0; i < nIn; ++i) {  // branch-free: zeros after ReLU are unpredictable
            idx[size_t(nz)] = i;
            xv[size_t(nz)] = x[i];
            nz += x[i] != 0;
        }
        int k = 0;
        for (; k + 4 <= nz; k += 4) {
            const T x0 = xv[size_t(k)], x1 = xv[size_t(k) + 1], x2 = xv[size_t(k) + 2], x3 = xv[size_t(k) + 3];
            const T* __restrict w0 = wAll + size_t(idx[size_t(k)]) * nOut;
            const T* __restrict w1 = wAll + size_t(idx[size_t(k) + 1]) * nOut;
            const T* __restrict w2 = wAll + size_t(idx[size_t(k) + 2]) * nOut;
            const T* __restrict w3 = wAll + size_t(idx[size_t(k) + 3]) * nOut;
            for (int j = 0; j < nOut; ++j)
                a[j] += (round(x0 * w0[j]) + round(x1 * w1[j])) + (round(x2 * w2[j]) + round(x3 * w3[j]));
        }
        for (; k < nz; ++k) {
            const T x0 = xv[size_t(k)];
            const T* __restrict w0 = wAll + size_t(idx[size_t(k)]) * nOut;
            for (int j = 0; j < nOut; ++j) a[j] += round(x0 * w0[j]);
        }
    }
}

#ifdef TACHYON_VNNI
void densePairRows(const CompiledLayer& c, const double* in, double* acc, size_t rows) {
    const int nIn = c.nIn, nOut = c.nOut, nPairs = (nIn + 1) / 2, nVec = c.nOutPadded / 16;
    const __m512i h = _mm512_set1_epi16(int16_t(c.roundHalf));
    const __m512i mask = _mm512_set1_epi16(int16_t((1 << c.prodShift) - 1));
    const __m512i ones = _mm512_set1_epi16(1);
    const __m512i shift = _mm512_set1_epi32(c.prodShift);
    static thread_local std::vector<int32_t> pairVal, pairIdx;
    pairVal.resize(size_t(nPairs));
    pairIdx.resize(size_t(nPairs));
    alignas(64) int32_t lane[16];
    for (size_t r = 0; r < rows; ++r) {
        const double* x = in + r * nIn;
        int np = 0;
        for (int k = 0; k < nPairs; ++k) {  // pack inputs in pairs; skip all-zero pairs
            const uint32_t lo = uint16_t(int16_t(x[2 * k]));
            const uint32_t hi = 2 * k + 1 < nIn ? uint16_t(int16_t(x[2 * k + 1])) : 0;
            pairVal[size_t(np)] = int32_t(lo | (hi << 16));
            pairIdx[size_t(np)] = k;
            np += (lo | hi) != 0;
        }
        const __m512i nh = _mm512_set1_epi32(int32_t(uint32_t(2 * np) * uint32_t(c.roundHalf)));
        for (int v = 0; v < nVec; ++v) {
            __m512i dot = _mm512_setzero_si512(), low = _mm512_setzero_si512();
            for (int t = 0; t < np; ++t) {
                const __m512i xb = _mm512_set1_epi32(pairVal[size_t(t)]);
                const __m512i w = _mm512_loadu_si512(c.wPairs.data() + (size_t(pairIdx[size_t(t)]) * nVec + v) * 32);
                dot = _mm512_dpwssd_epi32(dot, xb, w);
                const __m512i l = _mm512_and_si512(_mm512_add_epi16(_mm512_mullo_epi16(xb, w), h), mask);
                low = _mm512_dpwssd_epi32(low, l, ones);
            }
            // (dot + n*h - low) is an exact multiple of 2^s; its 32-bit pattern shifted
            // arithmetically is right modulo 2^(32-s), enough for the accumulator. (The
            // all-lanes mask only keeps GCC 12 from warning about an "undefined" operand.)
            const __m512i q = _mm512_maskz_srav_epi32(0xFFFF, _mm512_sub_epi32(_mm512_add_epi32(dot, nh), low), shift);
            _mm512_store_si512(lane, q);
            const int base = v * 16, n = std::min(16, nOut - base);
            for (int j = 0; j < n; ++j) acc[r * nOut + base + j] = c.biasAcc[size_t(base + j)] + double(lane[j]);
        }
    }
}
#else
void densePairRows(const CompiledLayer&, const double*, double*, size_t) {}
#endif

struct NoRound {
    template <class T>
    T operator()(T v) const { return v; }
};
// (p + h) >> s on 32-bit lanes: floor (h = 0) or round-half-up (h = 2^(s-1)) of p / 2^s.
// The sum wraps modulo 2^32 (unsigned), which a wrapping accumulator allows.
struct ShiftRound {
    uint32_t h;
    int s;
    uint32_t operator()(uint32_t p) const { return uint32_t(int32_t(p + h) >> s); }
};
template <Quant Q>
struct RoundWith {
    double operator()(double v) const { return roundMode(v, Q); }
};

template <Quant Q>
void denseFastRows(const CompiledLayer& c, const double* in, double* acc, size_t rows) {
    if (c.pairPath) {
        densePairRows(c, in, acc, rows);
        return;
    }
    if (c.int32Path) {
        static thread_local std::vector<uint32_t> x32, a32;
        x32.resize(rows * size_t(c.nIn));
        a32.resize(rows * size_t(c.nOut));
        for (size_t k = 0; k < x32.size(); ++k) x32[k] = uint32_t(int32_t(in[k]));
        denseRows(x32.data(), a32.data(), rows, c.nIn, c.nOut, reinterpret_cast<const uint32_t*>(c.w32.data()),
                  reinterpret_cast<const uint32_t*>(c.bias32.data()), ShiftRound{uint32_t(c.roundHalf), c.prodShift});
        for (size_t k = 0; k < a32.size(); ++k) acc[k] = double(int32_t(a32[k]));
        return;
    }
    if (c.prodShift <= 0)
        denseRows(in, acc, rows, c.nIn, c.nOut, c.wScaled.data(), c.biasAcc.data(), NoRound{});
    else
        denseRows(in, acc, rows, c.nIn, c.nOut, c.wScaled.data(), c.biasAcc.data(), RoundWith<Q>{});
}

void denseFixed(const CompiledLayer& c, const double* in, double* out, size_t rows, LayerStats& st,
                std::vector<double>& scratch) {
    const int nIn = c.nIn, nOut = c.nOut;
    const Layer& l = *c.layer;
    const bool relu = l.activation == ActKind::ReLU;
    uint64_t accOv = 0, resOv = 0;
    if (c.fast) {
        scratch.resize(rows * size_t(nOut));
        double* acc = scratch.data();
        switch (c.accT.quant) {
        case Quant::TRN: denseFastRows<Quant::TRN>(c, in, acc, rows); break;
        case Quant::TRN_ZERO: denseFastRows<Quant::TRN_ZERO>(c, in, acc, rows); break;
        case Quant::RND: denseFastRows<Quant::RND>(c, in, acc, rows); break;
        case Quant::RND_ZERO: denseFastRows<Quant::RND_ZERO>(c, in, acc, rows); break;
        case Quant::RND_INF: denseFastRows<Quant::RND_INF>(c, in, acc, rows); break;
        case Quant::RND_MIN_INF: denseFastRows<Quant::RND_MIN_INF>(c, in, acc, rows); break;
        case Quant::RND_CONV: denseFastRows<Quant::RND_CONV>(c, in, acc, rows); break;
        }
        const size_t n = rows * size_t(nOut);
        // Wrapping is modular, so wrapping the exact sum once equals wrapping every step.
        if (c.accumCanOverflow) accOv += c.accWrap.run(acc, acc, n, false);
        resOv += c.accToOutVec.run(acc, out, n, relu);
    } else {
        // Exact step-by-step semantics with 128-bit products.
        const FixedType& accT = c.accT;
        const int fa = accT.frac();
        const int fp = c.inT.frac() + l.type("weight").frac();
        for (size_t r = 0; r < rows; ++r) {
            const double* x = in + r * nIn;
            for (int j = 0; j < nOut; ++j) {
                CastStatus cs;
                Int128 a = Int128(int64_t(c.biasAcc[size_t(j)]));
                for (int i = 0; i < nIn; ++i) {
                    const int64_t w = c.wRaw[size_t(i) * nOut + j];
                    if (w == 0) continue;
                    Int128 p = accT.castRaw(Int128(int64_t(x[i])) * w, fp, &cs);
                    a = accT.castRaw(a + p, fa, &cs);
                }
                accOv += cs.overflow;
                int64_t z = c.accToOut(int64_t(a), resOv);
                if (relu && z < 0) z = 0;
                out[r * nOut + j] = double(z);
            }
        }
    }
    st.accumOverflows += accOv;
    st.resultOverflows += resOv;
}

void softmaxFixed(const CompiledLayer& c, const double* in, double* out, size_t rows, LayerStats& st) {
    const int n = c.nOut;
    const SoftmaxTables& t = c.softmax;
    std::vector<int64_t> e(size_t(n), 0);
    uint64_t ov = 0;
    for (size_t r = 0; r < rows; ++r) {
        const double* x = in + r * n;
        int64_t m = int64_t(x[0]);
        for (int i = 1; i < n; ++i) m = std::max(m, int64_t(x[i]));
        int64_t sum = 0;
        for (int i = 0; i < n; ++i) {
            e[size_t(i)] = t.exp.lookup(m - int64_t(x[i]));
            sum += e[size_t(i)];
        }
        const int64_t inv = t.inv.lookup(sum);
        for (int i = 0; i < n; ++i) out[r * n + i] = double(c.resultCast(e[size_t(i)] * inv, ov));
    }
    st.resultOverflows += ov;
}

void activationFixed(const CompiledLayer& c, const double* in, double* out, size_t count, LayerStats& st) {
    const Layer& l = *c.layer;
    uint64_t ov = 0;
    const int fx = c.inT.frac();
    switch (l.activation) {
    case ActKind::Linear:
    case ActKind::ReLU:
        if (c.resultVec.vectorised()) {
            ov += c.resultVec.run(in, out, count, l.activation == ActKind::ReLU);
            break;
        }
        [[fallthrough]];
    case ActKind::ReLU6: {
        // resultCast reads at frac max(fx, 0); for fx < 0 shift the raw up first.
        const int up = std::max(fx, 0) - fx;
        const int64_t six = int64_t(6) << std::max(fx, 0);
        for (size_t k = 0; k < count; ++k) {
            int64_t x = int64_t(in[k]) << up;
            if (l.activation != ActKind::Linear && x < 0) x = 0;
            if (l.activation == ActKind::ReLU6 && x > six) x = six;
            out[k] = double(c.resultCast(x, ov));
        }
        break;
    }
    case ActKind::LeakyReLU:
        for (size_t k = 0; k < count; ++k) {
            int64_t x = int64_t(in[k]);
            int64_t v = x >= 0 ? x << c.paramFrac : x * c.paramA;
            out[k] = double(c.resultCast(v, ov));
        }
        break;
    case ActKind::HardSigmoid: {
        // Exact slope*x + offset at frac pf + max(fx, 0) (x*slope has frac fx + pf).
        const int up = std::max(0, -fx), offsetUp = std::max(fx, 0);
        const int64_t one = int64_t(1) << (c.paramFrac + offsetUp);
        for (size_t k = 0; k < count; ++k) {
            int64_t v = ((int64_t(in[k]) * c.paramA) << up) + (c.paramB << offsetUp);
            v = std::clamp<int64_t>(v, 0, one);
            out[k] = double(c.resultCast(v, ov));
        }
        break;
    }
    case ActKind::Sigmoid:
    case ActKind::Tanh:
        for (size_t k = 0; k < count; ++k) out[k] = double(c.resultCast(c.table.lookup(int64_t(in[k])), ov));
        break;
    }
    st.resultOverflows += ov;
}

void batchNormFixed(const CompiledLayer& c, const double* in, double* out, size_t rows, LayerStats& st) {
    const Layer& l = *c.layer;
    const int n = c.nOut;
    const int fp = c.inT.frac() + l.type("scale").frac();
    const int fs = l.type("shift").frac();
    uint64_t ov = 0;
    for (size_t r = 0; r < rows; ++r)
        for (int i = 0; i < n; ++i) {
            Int128 v = (Int128(int64_t(in[r * n + i])) * c.scaleRaw[size_t(i)]) << (c.bnFrac - fp);
            v += Int128(c.shiftRaw[size_t(i)]) << (c.bnFrac - fs);
            CastStatus cs;
            out[r * n + i] = double(int64_t(c.outT.castRaw(v, c.bnFrac, &cs)));
            ov += cs.overflow;
        }
    st.resultOverflows += ov;
}

// ---- float kernels ----

void layerFloat(const Layer& l, const double* in, double* out, size_t rows) {
    const int nOut = l.outSize();
    const int nIn = l.kind == LayerKind::Dense ? l.nIn : nOut;
    switch (l.kind) {
    case LayerKind::Input:
    case LayerKind::Reshape:
        std::copy(in, in + rows * nOut, out);
        return;
    case LayerKind::Dense:
        denseRows(in, out, rows, nIn, nOut, l.weight.data(), l.bias.data(), NoRound{});
        if (l.activation == ActKind::ReLU)
            for (size_t k = 0; k < rows * size_t(nOut); ++k) out[k] = std::max(out[k], 0.0);
        return;
    case LayerKind::BatchNorm:
        for (size_t r = 0; r < rows; ++r)
            for (int i = 0; i < nOut; ++i) out[r * nOut + i] = in[r * nOut + i] * l.scale[size_t(i)] + l.shift[size_t(i)];
        return;
    case LayerKind::Activation:
        for (size_t k = 0; k < rows * size_t(nOut); ++k) {
            const double x = in[k];
            double y = x;
            switch (l.activation) {
            case ActKind::Linear: break;
            case ActKind::ReLU: y = std::max(x, 0.0); break;
            case ActKind::ReLU6: y = std::clamp(x, 0.0, 6.0); break;
            case ActKind::LeakyReLU: y = x >= 0 ? x : l.alpha * x; break;
            case ActKind::HardSigmoid: y = std::clamp(l.hardSlope * x + l.hardOffset, 0.0, 1.0); break;
            case ActKind::Sigmoid: y = 1.0 / (1.0 + std::exp(-x)); break;
            case ActKind::Tanh: y = std::tanh(x); break;
            }
            out[k] = y;
        }
        return;
    case LayerKind::Softmax:
        for (size_t r = 0; r < rows; ++r) {
            const double* x = in + r * nOut;
            double m = *std::max_element(x, x + nOut), s = 0;
            for (int i = 0; i < nOut; ++i) s += (out[r * nOut + i] = std::exp(x[i] - m));
            for (int i = 0; i < nOut; ++i) out[r * nOut + i] /= s;
        }
        return;
    }
}

template <class Fn>
void parallelChunks(size_t rows, const EmulatorOptions& opt, Fn&& fn) {
    const size_t chunk = std::max<size_t>(1, opt.chunkRows);
    const size_t nChunks = (rows + chunk - 1) / chunk;
    unsigned threads = opt.threads > 0 ? unsigned(opt.threads) : std::max(1u, std::thread::hardware_concurrency());
    threads = unsigned(std::min<size_t>(threads, nChunks));
    std::atomic<size_t> next{0};
    auto worker = [&](unsigned tid) {
        for (size_t k; (k = next++) < nChunks;) {
            size_t begin = k * chunk;
            fn(tid, begin, std::min(rows, begin + chunk) - begin);
        }
    };
    if (threads <= 1) { worker(0); return; }
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) pool.emplace_back(worker, t);
    for (auto& th : pool) th.join();
}

}  // namespace

Emulator::Emulator(const Graph& g) : graph_(g), impl_(std::make_unique<Impl>()) {
    verify(graph_, true);
    requireEmulatedArithmetic(graph_);  // settings recorded from the config but not emulated yet
    impl_->layers.resize(graph_.layers.size());
    for (size_t k = 0; k < graph_.layers.size(); ++k) {
        const Layer& l = graph_.layers[k];
        impl_->index[l.name] = k;
        // The Input layer reads the float input; give it a frac for its own cast.
        FixedType inT = l.kind == LayerKind::Input ? l.type("result")
                                                    : graph_.layers[impl_->index.at(l.input)].type("result");
        compileLayer(impl_->layers[k], l, inT);
    }
}

Emulator::~Emulator() = default;

int Emulator::inputSize() const { return graph_.inputSize(); }
int Emulator::outputSize() const { return graph_.outputSize(); }

namespace {

// Runs one chunk through every layer. `trace`, when given, receives every layer's output.
void runChunkFixed(const Emulator::Impl& impl, const Graph& g, const double* inRaw, size_t rows,
                   double* outRaw, std::vector<LayerStats>& stats,
                   std::vector<std::vector<double>>* trace) {
    // Buffers live as long as the worker thread: chunks reuse them instead of asking the
    // allocator (and the kernel, for large blocks) for fresh pages every time.
    static thread_local std::vector<std::vector<double>> bufs;
    static thread_local std::vector<double> scratch;
    bufs.resize(g.layers.size());
    for (size_t k = 0; k < g.layers.size(); ++k) {
        const CompiledLayer& c = impl.layers[k];
        const Layer& l = g.layers[k];
        const double* in = k == 0 ? inRaw : bufs[impl.index.at(l.input)].data();
        bufs[k].resize(rows * size_t(c.nOut));
        double* out = bufs[k].data();
        LayerStats& st = stats[k];
        st.values += rows * size_t(c.nOut);
        switch (l.kind) {
        case LayerKind::Input:
            std::copy(in, in + rows * size_t(c.nOut), out);
            break;
        case LayerKind::Reshape:
            st.resultOverflows += c.resultVec.run(in, out, rows * size_t(c.nOut), false);
            break;
        case LayerKind::Dense: denseFixed(c, in, out, rows, st, scratch); break;
        case LayerKind::BatchNorm: batchNormFixed(c, in, out, rows, st); break;
        case LayerKind::Activation: activationFixed(c, in, out, rows * size_t(c.nOut), st); break;
        case LayerKind::Softmax: softmaxFixed(c, in, out, rows, st); break;
        }
    }
    const auto& last = bufs.back();
    std::copy(last.begin(), last.end(), outRaw);
    if (trace) *trace = bufs;
}

}  // namespace

namespace {

// Runs the fixed-point graph over row chunks in parallel. `fill(begin, n, dst)` writes the
// raw input values of rows [begin, begin+n) into dst and returns how many overflowed.
template <class Fill>
std::vector<LayerStats> runFixedChunks(const Emulator::Impl& impl, const Graph& g, size_t rows, int64_t* outRaw,
                                       const EmulatorOptions& opt, Fill&& fill) {
    const int nIn = g.inputSize(), nOut = g.outputSize();
    std::mutex m;
    std::vector<LayerStats> total(g.layers.size());
    for (size_t k = 0; k < total.size(); ++k) total[k].layer = g.layers[k].name;
    parallelChunks(rows, opt, [&](unsigned, size_t begin, size_t n) {
        static thread_local std::vector<double> in, out;
        in.resize(n * nIn);
        out.resize(n * nOut);
        std::vector<LayerStats> local(g.layers.size());
        local[0].resultOverflows += fill(begin, n, in.data());
        runChunkFixed(impl, g, in.data(), n, out.data(), local, nullptr);
        for (size_t i = 0; i < n * nOut; ++i) outRaw[begin * nOut + i] = int64_t(out[i]);
        std::lock_guard<std::mutex> lock(m);
        for (size_t k = 0; k < total.size(); ++k) {
            total[k].accumOverflows += local[k].accumOverflows;
            total[k].resultOverflows += local[k].resultOverflows;
            total[k].values += local[k].values;
        }
    });
    return total;
}

// Casts float inputs to the Input type: vectorised when the chunk's values allow it.
uint64_t castInputs(const FixedType& inT, const double* x, size_t n, double* dst) {
    double maxAbs = 0;
    bool finite = true;
    for (size_t i = 0; i < n; ++i) {
        maxAbs = std::max(maxAbs, std::fabs(x[i]));
        finite = finite && std::isfinite(x[i]);
    }
    DoubleCaster cast(inT, 0, finite ? maxAbs : INFINITY);  // NaN/inf take the scalar path
    if (cast.vectorised()) return cast.run(x, dst, n, false);
    uint64_t ov = 0;
    for (size_t i = 0; i < n; ++i) {
        CastStatus cs;
        dst[i] = double(int64_t(inT.castDouble(x[i], &cs)));
        ov += cs.overflow;
    }
    return ov;
}

}  // namespace

void Emulator::runFixedRaw(const int64_t* xRaw, size_t rows, int64_t* outRaw,
                           std::vector<LayerStats>* stats, const EmulatorOptions& opt) const {
    const size_t nIn = size_t(inputSize());
    auto total = runFixedChunks(*impl_, graph_, rows, outRaw, opt, [&](size_t begin, size_t n, double* dst) {
        for (size_t i = 0; i < n * nIn; ++i) dst[i] = double(xRaw[begin * nIn + i]);
        return uint64_t(0);
    });
    if (stats) *stats = std::move(total);
}

void Emulator::runFixed(const double* x, size_t rows, int64_t* outRaw, double* outValue,
                        std::vector<LayerStats>* stats, const EmulatorOptions& opt) const {
    const size_t nIn = size_t(inputSize()), nOut = size_t(outputSize());
    const FixedType& inT = graph_.input().type("result");
    auto total = runFixedChunks(*impl_, graph_, rows, outRaw, opt, [&](size_t begin, size_t n, double* dst) {
        return castInputs(inT, x + begin * nIn, n * nIn, dst);
    });
    if (stats) *stats = std::move(total);
    if (outValue) {
        const FixedType& outT = graph_.output().type("result");
        for (size_t i = 0; i < rows * nOut; ++i) outValue[i] = outT.toDouble(outRaw[i]);
    }
}

void Emulator::runFloat(const double* x, size_t rows, double* out, const EmulatorOptions& opt) const {
    const int nIn = inputSize(), nOut = outputSize();
    parallelChunks(rows, opt, [&](unsigned, size_t begin, size_t n) {
        static thread_local std::vector<std::vector<double>> bufs;
        bufs.resize(graph_.layers.size());
        for (size_t k = 0; k < graph_.layers.size(); ++k) {
            const Layer& l = graph_.layers[k];
            const double* in = k == 0 ? x + begin * nIn : bufs[impl_->index.at(l.input)].data();
            bufs[k].resize(n * size_t(l.outSize()));
            layerFloat(l, in, bufs[k].data(), n);
        }
        std::copy(bufs.back().begin(), bufs.back().end(), out + begin * nOut);
    });
}

std::vector<std::vector<double>> Emulator::traceFixed(const double* x, size_t rows) const {
    const FixedType& inT = graph_.input().type("result");
    std::vector<double> raw(rows * size_t(inputSize()));
    for (size_t i = 0; i < raw.size(); ++i) raw[i] = double(int64_t(inT.castDouble(x[i])));
    std::vector<double> out(rows * size_t(outputSize()));
    std::vector<LayerStats> stats(graph_.layers.size());
    std::vector<std::vector<double>> trace;
    runChunkFixed(*impl_, graph_, raw.data(), rows, out.data(), stats, &trace);
    for (size_t k = 0; k < trace.size(); ++k) {
        const FixedType& t = graph_.layers[k].type("result");
        for (double& v : trace[k]) v = t.toDouble(int64_t(v));
    }
    return trace;
}

std::vector<std::vector<double>> Emulator::traceFloat(const double* x, size_t rows) const {
    std::vector<std::vector<double>> bufs(graph_.layers.size());
    for (size_t k = 0; k < graph_.layers.size(); ++k) {
        const Layer& l = graph_.layers[k];
        const double* in = k == 0 ? x : bufs[impl_->index.at(l.input)].data();
        bufs[k].resize(rows * size_t(l.outSize()));
        layerFloat(l, in, bufs[k].data(), rows);
    }
    return bufs;
}

namespace {
const CompiledLayer& findCompiled(const Emulator::Impl& impl, const std::string& name) {
    auto it = impl.index.find(name);
    if (it == impl.index.end()) throw Error("emulator: no layer named '" + name + "'");
    return impl.layers[it->second];
}
}  // namespace

const std::vector<int64_t>& Emulator::weightRaw(const std::string& l) const { return findCompiled(*impl_, l).wRaw; }
const std::vector<int64_t>& Emulator::biasRaw(const std::string& l) const {
    const CompiledLayer& c = findCompiled(*impl_, l);
    return c.layer->kind == LayerKind::BatchNorm ? c.shiftRaw : c.bRaw;
}
const std::vector<int64_t>& Emulator::scaleRaw(const std::string& l) const { return findCompiled(*impl_, l).scaleRaw; }
const std::vector<int64_t>& Emulator::paramRaw(const std::string& l) const { return findCompiled(*impl_, l).params; }
const LookupTable* Emulator::activationTable(const std::string& l) const {
    const CompiledLayer& c = findCompiled(*impl_, l);
    return c.table.size ? &c.table : nullptr;
}
const SoftmaxTables* Emulator::softmaxTables(const std::string& l) const {
    const CompiledLayer& c = findCompiled(*impl_, l);
    return c.layer->kind == LayerKind::Softmax ? &c.softmax : nullptr;
}
const FixedType& Emulator::inputType(const std::string& l) const { return findCompiled(*impl_, l).inT; }

}  // namespace tachyon
