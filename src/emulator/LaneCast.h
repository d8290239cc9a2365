// Caster over a short array of independent values (rows run in lock-step by the recurrent
// kernel): the same result and overflow count as calling the Caster on each value, written
// without branches per value so that the compiler turns the loop into vector code. Casts the
// branch-free form does not cover (128-bit types, left shifts, AP_SAT_SYM) call the Caster.
#pragma once

#include "emulator/Cast.h"

namespace tachyon {

namespace lanecast {

// Rounding increment of Caster::operator() for a right shift: q = a >> s, rem = a - (q << s).
template <Quant Q>
inline int64_t roundUp(int64_t a, int64_t q, int64_t rem, int64_t half) {
    switch (Q) {
    case Quant::TRN: return 0;
    case Quant::TRN_ZERO: return (a < 0) & (rem != 0);
    case Quant::RND: return rem >= half;
    case Quant::RND_MIN_INF: return rem > half;
    case Quant::RND_ZERO: return (rem > half) | ((rem == half) & (a < 0));
    case Quant::RND_INF: return (rem > half) | ((rem == half) & (a >= 0));
    case Quant::RND_CONV: return (rem > half) | ((rem == half) & (q & 1));
    }
    return 0;
}

template <Quant Q>
inline void castLoop(const Caster& c, const int64_t* in, int64_t* out, int m, uint64_t& ov) {
    const int s = c.shift;
    const int64_t lo = c.lo, hi = c.hi, half = s > 0 ? int64_t(1) << (s - 1) : 0;
    const Overflow mode = c.dst.overflow;
    const int up = 64 - c.dst.width;
    const bool sign = c.dst.isSigned;
    const int64_t mask = c.dst.width >= 64 ? -1 : int64_t((uint64_t(1) << c.dst.width) - 1);
    uint64_t count = 0;
    for (int l = 0; l < m; ++l) {
        const int64_t a = in[l];
        int64_t q = a;
        if (s > 0) {
            q = a >> s;
            q += roundUp<Q>(a, q, a - int64_t(uint64_t(q) << s), half);
        }
        const bool inside = (q >= lo) & (q <= hi);
        count += !inside;
        int64_t r;
        if (mode == Overflow::WRAP)
            r = sign ? int64_t(uint64_t(q) << up) >> up : (q & mask);
        else if (mode == Overflow::SAT_ZERO)
            r = inside ? q : 0;
        else
            r = q < lo ? lo : (q > hi ? hi : q);
        out[l] = r;
    }
    ov += count;
}

}  // namespace lanecast

// out[l] = c(in[l], ov) for l < m (in and out may be the same array).
inline void castLanes(const Caster& c, const int64_t* in, int64_t* out, int m, uint64_t& ov) {
    const Overflow mode = c.dst.overflow;
    const bool branchFree = !c.generic && c.shift >= 0 && c.dst.width < 64 &&
                            (mode == Overflow::WRAP || mode == Overflow::SAT || mode == Overflow::SAT_ZERO);
    if (!branchFree) {
        for (int l = 0; l < m; ++l) out[l] = c(in[l], ov);
        return;
    }
    switch (c.dst.quant) {
    case Quant::TRN: lanecast::castLoop<Quant::TRN>(c, in, out, m, ov); break;
    case Quant::TRN_ZERO: lanecast::castLoop<Quant::TRN_ZERO>(c, in, out, m, ov); break;
    case Quant::RND: lanecast::castLoop<Quant::RND>(c, in, out, m, ov); break;
    case Quant::RND_MIN_INF: lanecast::castLoop<Quant::RND_MIN_INF>(c, in, out, m, ov); break;
    case Quant::RND_ZERO: lanecast::castLoop<Quant::RND_ZERO>(c, in, out, m, ov); break;
    case Quant::RND_INF: lanecast::castLoop<Quant::RND_INF>(c, in, out, m, ov); break;
    case Quant::RND_CONV: lanecast::castLoop<Quant::RND_CONV>(c, in, out, m, ov); break;
    }
}

}  // namespace tachyon
