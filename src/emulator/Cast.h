// Exact fixed-point casts for the emulator's kernels: `Caster` (one int64 raw at a time)
// and `DoubleCaster` (many raws held as doubles, vectorised). Both compute exactly
// FixedType::castRaw, the Vitis ap_fixed conversion; the fast paths are only taken where
// the bounds checked at construction make them exact.
#pragma once

#include "fixed/FixedType.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace tachyon {

// Raw fixed-point values travel between layers as doubles holding exact integers: every
// raw this emulator handles is below 2^53, and doubles let the compiler use SIMD floating
// point (with FMA) for the multiply-accumulate, which is exact under the bounds checked
// in `DenseKernel::fast`.

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

    // max(cast<dst>(a), 0): a ReLU fused after the cast (Dense/Conv with ReLU). A value
    // that overflowed only because it is negative, and that the ReLU then maps to 0 anyway
    // (saturated to 0 or below), is not an overflow of the layer's output: not counted.
    int64_t relu(int64_t a, uint64_t& overflows) const {
        uint64_t ov = 0;
        int64_t q = (*this)(a, ov);
        if (q < 0) q = 0;
        if (!(a < 0 && q == 0)) overflows += ov;
        return q;
    }
};

// Vectorised cast of many values held as doubles: out = raw(cast<dst>(in * 2^-shift)),
// optionally followed by max(., 0) (`relu`: a ReLU fused after the cast) or preceded by it
// (`clampFirst`: the ReLU layer, cast<result>(max(x, 0)), where negatives never overflow).
// Overflow counts exclude negative values that the fused ReLU maps to 0 anyway. Exact when |in * 2^-shift| < 2^51 and dst is at
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

    uint64_t run(const double* in, double* out, size_t n, bool relu, bool clampFirst = false) const {
        if (!vector_) {
            uint64_t ov = 0;
            for (size_t k = 0; k < n; ++k) {
                int64_t x = int64_t(in[k]);
                if (clampFirst && x < 0) x = 0;
                out[k] = double(relu ? scalar_.relu(x, ov) : scalar_(x, ov));
            }
            return ov;
        }
        return clampFirst ? dispatchQuant<true>(in, out, n, relu) : dispatchQuant<false>(in, out, n, relu);
    }

private:
    template <bool ClampFirst, Quant Q, Overflow O>
    uint64_t loop(const double* __restrict in, double* __restrict out, size_t n, bool relu) const {
        const double scale = scale_, lo = lo_, hi = hi_, m = modulus_, invM = 1.0 / modulus_;
        const double symLo = dst_.isSigned ? -hi : 0.0;
        uint64_t ov = 0;
        for (size_t k = 0; k < n; ++k) {
            const double x = ClampFirst ? std::max(in[k], 0.0) : in[k];
            double q = roundMode(x * scale, Q);
            const bool outside = q < lo || q > hi;
            if constexpr (O == Overflow::WRAP) q -= m * std::floor((q - lo) * invM);
            else if constexpr (O == Overflow::SAT) q = std::min(std::max(q, lo), hi);
            else if constexpr (O == Overflow::SAT_ZERO) q = outside ? 0.0 : q;
            else q = std::min(std::max(q, symLo), hi);  // SAT_SYM: the range is made symmetric
            q = relu ? std::max(q, 0.0) : q;
            // A negative value the fused ReLU zeroes anyway is not an overflow of the output.
            ov += outside && !(relu && x < 0 && q == 0.0);
            out[k] = q;
        }
        return ov;
    }
    template <bool ClampFirst, Quant Q>
    uint64_t dispatchOverflow(const double* in, double* out, size_t n, bool relu) const {
        switch (dst_.overflow) {
        case Overflow::WRAP: return loop<ClampFirst, Q, Overflow::WRAP>(in, out, n, relu);
        case Overflow::SAT: return loop<ClampFirst, Q, Overflow::SAT>(in, out, n, relu);
        case Overflow::SAT_ZERO: return loop<ClampFirst, Q, Overflow::SAT_ZERO>(in, out, n, relu);
        case Overflow::SAT_SYM: return loop<ClampFirst, Q, Overflow::SAT_SYM>(in, out, n, relu);
        }
        return 0;
    }
    template <bool ClampFirst>
    uint64_t dispatchQuant(const double* in, double* out, size_t n, bool relu) const {
        switch (dst_.quant) {
        case Quant::TRN: return dispatchOverflow<ClampFirst, Quant::TRN>(in, out, n, relu);
        case Quant::TRN_ZERO: return dispatchOverflow<ClampFirst, Quant::TRN_ZERO>(in, out, n, relu);
        case Quant::RND: return dispatchOverflow<ClampFirst, Quant::RND>(in, out, n, relu);
        case Quant::RND_ZERO: return dispatchOverflow<ClampFirst, Quant::RND_ZERO>(in, out, n, relu);
        case Quant::RND_INF: return dispatchOverflow<ClampFirst, Quant::RND_INF>(in, out, n, relu);
        case Quant::RND_MIN_INF: return dispatchOverflow<ClampFirst, Quant::RND_MIN_INF>(in, out, n, relu);
        case Quant::RND_CONV: return dispatchOverflow<ClampFirst, Quant::RND_CONV>(in, out, n, relu);
        }
        return 0;
    }

    Caster scalar_;
    FixedType dst_;
    double scale_ = 1, lo_ = 0, hi_ = 0, modulus_ = 1;
    bool vector_ = false;
};

inline int64_t maxAbsRaw(const FixedType& t) {
    return int64_t(std::max(-t.minRaw(), t.maxRaw()));
}

inline std::vector<int64_t> quantizeAll(const std::vector<double>& v, const FixedType& t) {
    std::vector<int64_t> out(v.size());
    for (size_t i = 0; i < v.size(); ++i) out[i] = int64_t(t.castDouble(v[i]));
    return out;
}

// cast<t>(num * 2^-frac / den) for den >= 1, exactly (average pooling and merges divide by
// window sizes that need not be powers of two). With q = floor(v * 2^F) at t's frac F and
// the remainder's position against half an LSB, the dyadic value 4q + {0,1,2,3} at frac
// F + 2 rounds and overflows exactly as v does in every mode, so castRaw decides.
inline Int128 castRational(const FixedType& t, Int128 num, int frac, Int128 den, CastStatus* st = nullptr) {
    if (den == 1) return t.castRaw(num, frac, st);
    const int f = t.frac();
    Int128 n = num, d = den;
    if (f >= frac) n *= Int128(1) << (f - frac);
    else d *= Int128(1) << (frac - f);
    Int128 q = n / d, r = n % d;
    if (r < 0) q -= 1, r += d;   // floor division
    const int where = r == 0 ? 0 : (2 * r < d ? 1 : (2 * r == d ? 2 : 3));
    return t.castRaw(4 * q + where, f + 2, st);
}

// A threshold t on a fixed-point input with `frac` fractional bits, as a bound on the raw
// integer (Quantize layers in Threshold mode; the HLS writer uses the same bounds):
// x >= t  <=>  raw >= ceil(t * 2^frac);  x > t (strict)  <=>  raw >= floor(t * 2^frac) + 1.
inline int64_t thresholdRaw(double t, int frac, bool strict) {
    const double s = std::ldexp(t, frac);
    const double lim = 9.0e18;
    return int64_t(std::clamp(strict ? std::floor(s) + 1 : std::ceil(s), -lim, lim));
}

}  // namespace tachyon
