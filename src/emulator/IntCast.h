// The accumulator -> result cast on int32 accumulators, fused into the integer MAC kernels'
// epilogue (ops/mac/Kernel.cpp): shift with the result type's rounding, wrap or
// saturate, the fused ReLU, and the overflow count, all in 32-bit integer lanes that the
// compiler vectorises, instead of converting every accumulator to double and casting in a
// second pass. Exactly Caster (emulator/Cast.h) for every value it accepts; `usable()` says
// whether the bounds given at construction allow it. Optionally it first wraps the int32
// sum to a wrapping accumulator type (modular: right whenever the sum is right modulo 2^32),
// counting the sums that left the accumulator's range as the double kernels do.
#pragma once

#include "fixed/FixedType.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace tachyon {

class IntCaster {
public:
    IntCaster() = default;
    // dst: the result type; srcFrac: the accumulator's fractional bits; maxAbsIn: a bound on
    // |accumulator raw| (every input is an int32 within it). wrapAccum: the accumulator type
    // to wrap every input to first (AP_WRAP), or nullptr when the sums never overflow it.
    IntCaster(const FixedType& dst, int srcFrac, double maxAbsIn, const FixedType* wrapAccum = nullptr) : dst_(dst) {
        bool wrapOk = true;
        if (wrapAccum) {
            wrap_ = true;
            accWidth_ = wrapAccum->width;
            accSigned_ = wrapAccum->isSigned;
            wrapOk = wrapAccum->overflow == Overflow::WRAP && wrapAccum->satBits == 0 && accWidth_ >= 1 && accWidth_ <= 31;
            if (wrapOk) {
                accLo_ = int32_t(int64_t(wrapAccum->minRaw()));
                accHi_ = int32_t(int64_t(wrapAccum->maxRaw()));
                maxAbsIn = std::ldexp(1.0, accWidth_);   // after the wrap
            }
        }
        shift_ = srcFrac - dst.frac();
        lo_ = dst.width <= 31 ? int32_t(int64_t(dst.minRaw())) : 0;
        hi_ = dst.width <= 31 ? int32_t(int64_t(dst.maxRaw())) : 0;
        // Widths up to 31 keep the range and the wrap in int32; a left shift must not leave
        // int32 for any accepted input.
        usable_ = wrapOk && dst.satBits == 0 && dst.width >= 1 && dst.width <= 31 && shift_ <= 31 && shift_ >= -30 &&
                  maxAbsIn < std::ldexp(1.0, 31) &&
                  (shift_ >= 0 || maxAbsIn * std::ldexp(1.0, -shift_) < std::ldexp(1.0, 31));
        pick();
    }
    bool usable() const { return usable_; }

    // out[k] = double(raw(cast<dst>(in[k]))), max(., 0) after it with `relu`. Returns the
    // number of overflows (a negative value the ReLU zeroes anyway is not counted); adds the
    // accumulator's to accOverflows.
    uint64_t run(const int32_t* in, double* out, size_t n, bool relu, uint64_t& accOverflows) const {
        return (relu ? loopRelu_ : loop_)(*this, in, out, n, accOverflows);
    }
    // The same into int16 raws, for a result type of at most 16 bits (the int16 activations
    // between chained Dense layers, ops/mac/Int16Pair.h).
    uint64_t run(const int32_t* in, int16_t* out, size_t n, bool relu, uint64_t& accOverflows) const {
        return (relu ? loopRelu16_ : loop16_)(*this, in, out, n, accOverflows);
    }

private:
    template <class Out>
    using Loop = uint64_t (*)(const IntCaster&, const int32_t*, Out*, size_t, uint64_t&);

    // The low `width` bits of v, sign-extended for a signed type: v itself when in range.
    static int32_t wrapBits(int32_t v, int width, bool isSigned) {
        const int up = 32 - width;
        return isSigned ? int32_t(uint32_t(v) << up) >> up : int32_t(uint32_t(v) & ((uint32_t(1) << width) - 1));
    }

    template <Quant Q>
    static int32_t shifted(int32_t a, int s) {
        if (s == 0) return a;
        if (s < 0) return int32_t(uint32_t(a) << -s);   // in range: bounded at construction
        const int32_t q = a >> s;
        const int32_t rem = int32_t(uint32_t(a) & ((uint32_t(1) << s) - 1)), half = int32_t(uint32_t(1) << (s - 1));
        switch (Q) {
        case Quant::TRN: return q;
        case Quant::TRN_ZERO: return q + (a < 0 && rem != 0);
        case Quant::RND: return q + (rem >= half);
        case Quant::RND_MIN_INF: return q + (rem > half);
        case Quant::RND_ZERO: return q + (rem > half || (rem == half && a < 0));
        case Quant::RND_INF: return q + (rem > half || (rem == half && a >= 0));
        case Quant::RND_CONV: return q + (rem > half || (rem == half && (q & 1)));
        }
        return q;
    }

    template <Quant Q, Overflow O, bool Relu, bool WrapAcc, class Out>
    static uint64_t loop(const IntCaster& c, const int32_t* __restrict in, Out* __restrict out, size_t n,
                         uint64_t& accOverflows) {
        const int s = c.shift_, w = c.dst_.width;
        const int32_t lo = c.lo_, hi = c.hi_;
        const int32_t symLo = c.dst_.isSigned ? -hi : 0;
        const bool isSigned = c.dst_.isSigned;
        const int accW = c.accWidth_;
        const bool accSigned = c.accSigned_;
        const int32_t accLo = c.accLo_;
        const uint32_t accRange = uint32_t(c.accHi_) - uint32_t(c.accLo_), range = uint32_t(hi) - uint32_t(lo);
        uint64_t ov = 0, accOv = 0;
        // Blocks of 64: int32 lanes only in the cast loop, then the conversion to double, so
        // that both vectorise (GCC gives up on one loop mixing them), with 32-bit counters.
        constexpr size_t kBlock = 64;
        int32_t qs[kBlock];
        for (size_t k0 = 0; k0 < n; k0 += kBlock) {
            const size_t m = std::min(kBlock, n - k0);
            uint32_t blockOv = 0, blockAccOv = 0;
            for (size_t k = 0; k < m; ++k) {
                int32_t a = in[k0 + k];
                if constexpr (WrapAcc) {
                    blockAccOv += uint32_t(a) - uint32_t(accLo) > accRange ? 1u : 0u;   // one compare: it vectorises
                    a = wrapBits(a, accW, accSigned);
                }
                int32_t q = shifted<Q>(a, s);
                const bool outside = uint32_t(q) - uint32_t(lo) > range;   // q < lo or q > hi
                if constexpr (O == Overflow::WRAP) {
                    q = wrapBits(q, w, isSigned);
                } else if constexpr (O == Overflow::SAT) {
                    q = q < lo ? lo : (q > hi ? hi : q);
                } else if constexpr (O == Overflow::SAT_ZERO) {
                    q = outside ? 0 : q;
                } else {   // SAT_SYM: the range made symmetric (the most negative raw too)
                    q = q < symLo ? symLo : (q > hi ? hi : q);
                }
                if constexpr (Relu) {
                    q = q < 0 ? 0 : q;
                    blockOv += outside && !(a < 0 && q == 0) ? 1u : 0u;
                } else {
                    blockOv += outside ? 1u : 0u;
                }
                qs[k] = q;
            }
            for (size_t k = 0; k < m; ++k) out[k0 + k] = Out(qs[k]);
            ov += blockOv;
            accOv += blockAccOv;
        }
        accOverflows += accOv;
        return ov;
    }

    template <Quant Q, Overflow O>
    void pickRelu() {
        loop_ = wrap_ ? &loop<Q, O, false, true, double> : &loop<Q, O, false, false, double>;
        loopRelu_ = wrap_ ? &loop<Q, O, true, true, double> : &loop<Q, O, true, false, double>;
        loop16_ = wrap_ ? &loop<Q, O, false, true, int16_t> : &loop<Q, O, false, false, int16_t>;
        loopRelu16_ = wrap_ ? &loop<Q, O, true, true, int16_t> : &loop<Q, O, true, false, int16_t>;
    }
    template <Quant Q>
    void pickOverflow() {
        switch (dst_.overflow) {
        case Overflow::WRAP: pickRelu<Q, Overflow::WRAP>(); break;
        case Overflow::SAT: pickRelu<Q, Overflow::SAT>(); break;
        case Overflow::SAT_ZERO: pickRelu<Q, Overflow::SAT_ZERO>(); break;
        case Overflow::SAT_SYM: pickRelu<Q, Overflow::SAT_SYM>(); break;
        }
    }
    void pick() {
        switch (dst_.quant) {
        case Quant::TRN: pickOverflow<Quant::TRN>(); break;
        case Quant::TRN_ZERO: pickOverflow<Quant::TRN_ZERO>(); break;
        case Quant::RND: pickOverflow<Quant::RND>(); break;
        case Quant::RND_ZERO: pickOverflow<Quant::RND_ZERO>(); break;
        case Quant::RND_INF: pickOverflow<Quant::RND_INF>(); break;
        case Quant::RND_MIN_INF: pickOverflow<Quant::RND_MIN_INF>(); break;
        case Quant::RND_CONV: pickOverflow<Quant::RND_CONV>(); break;
        }
    }

    FixedType dst_;
    int shift_ = 0;
    int32_t lo_ = 0, hi_ = 0;
    bool wrap_ = false, accSigned_ = true;   // the accumulator wrap stage
    int accWidth_ = 32;
    int32_t accLo_ = 0, accHi_ = 0;
    bool usable_ = false;
    Loop<double> loop_ = nullptr, loopRelu_ = nullptr;
    Loop<int16_t> loop16_ = nullptr, loopRelu16_ = nullptr;
};

}  // namespace tachyon
