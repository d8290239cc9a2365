// The one vector loop behind two-level threshold layers (Quantize with one threshold, and
// BatchNorm folded with it): per channel c, out = hi[c] where in >= t[c], else lo[c]. The
// inputs and thresholds are exact integers below 2^53 held as doubles, so the compare is
// exact. AVX-512 (or AVX2) compares and blends where the CPU has them (GCC leaves this loop
// scalar); the same selects one value at a time elsewhere.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace tachyon {

// `rows` rows of `period` values; returns how many values took hi.
inline int64_t selectAtThresholds(const double* __restrict in, double* __restrict out, size_t rows, size_t period,
                                  const double* __restrict t, const double* __restrict lo,
                                  const double* __restrict hi) {
    int64_t ups = 0;
    for (size_t r = 0; r < rows; ++r, in += period, out += period) {
        size_t c = 0;
#if defined(__AVX512F__)
        for (; c + 8 <= period; c += 8) {
            const __mmask8 up = _mm512_cmp_pd_mask(_mm512_loadu_pd(in + c), _mm512_loadu_pd(t + c), _CMP_GE_OQ);
            _mm512_storeu_pd(out + c, _mm512_mask_blend_pd(up, _mm512_loadu_pd(lo + c), _mm512_loadu_pd(hi + c)));
            ups += __builtin_popcount(unsigned(up));
        }
#elif defined(__AVX2__)
        for (; c + 4 <= period; c += 4) {   // the same four at a time (AVX2 machines)
            const __m256d up = _mm256_cmp_pd(_mm256_loadu_pd(in + c), _mm256_loadu_pd(t + c), _CMP_GE_OQ);
            _mm256_storeu_pd(out + c, _mm256_blendv_pd(_mm256_loadu_pd(lo + c), _mm256_loadu_pd(hi + c), up));
            ups += __builtin_popcount(unsigned(_mm256_movemask_pd(up)));
        }
#endif
        for (; c < period; ++c) {
            const bool up = in[c] >= t[c];
            out[c] = up ? hi[c] : lo[c];
            ups += up;
        }
    }
    return ups;
}

// selectAtThresholds that also calls fix(k, c) for every value in[k] (channel c) outside
// [okLo[c], okHi[c]], after its select: the values the thresholds do not decide.
template <class Fix>
inline void selectAtThresholdsChecked(const double* __restrict in, double* __restrict out, size_t rows, size_t period,
                                      const double* __restrict t, const double* __restrict lo,
                                      const double* __restrict hi, const double* __restrict okLo,
                                      const double* __restrict okHi, Fix&& fix) {
    for (size_t r = 0; r < rows; ++r) {
        const double* x = in + r * period;
        double* y = out + r * period;
        size_t c = 0;
#if defined(__AVX512F__)
        for (; c + 8 <= period; c += 8) {
            const __m512d v = _mm512_loadu_pd(x + c);
            const __mmask8 up = _mm512_cmp_pd_mask(v, _mm512_loadu_pd(t + c), _CMP_GE_OQ);
            _mm512_storeu_pd(y + c, _mm512_mask_blend_pd(up, _mm512_loadu_pd(lo + c), _mm512_loadu_pd(hi + c)));
            unsigned outside = unsigned(_mm512_cmp_pd_mask(v, _mm512_loadu_pd(okLo + c), _CMP_LT_OQ)) |
                               unsigned(_mm512_cmp_pd_mask(v, _mm512_loadu_pd(okHi + c), _CMP_GT_OQ));
            for (; outside; outside &= outside - 1) {
                const size_t lane = size_t(__builtin_ctz(outside));
                fix(r * period + c + lane, c + lane);
            }
        }
#elif defined(__AVX2__)
        for (; c + 4 <= period; c += 4) {
            const __m256d v = _mm256_loadu_pd(x + c);
            const __m256d up = _mm256_cmp_pd(v, _mm256_loadu_pd(t + c), _CMP_GE_OQ);
            _mm256_storeu_pd(y + c, _mm256_blendv_pd(_mm256_loadu_pd(lo + c), _mm256_loadu_pd(hi + c), up));
            const __m256d undecided = _mm256_or_pd(_mm256_cmp_pd(v, _mm256_loadu_pd(okLo + c), _CMP_LT_OQ),
                                             _mm256_cmp_pd(v, _mm256_loadu_pd(okHi + c), _CMP_GT_OQ));
            for (unsigned outside = unsigned(_mm256_movemask_pd(undecided)); outside; outside &= outside - 1) {
                const size_t lane = size_t(__builtin_ctz(outside));
                fix(r * period + c + lane, c + lane);
            }
        }
#endif
        for (; c < period; ++c) {
            y[c] = x[c] >= t[c] ? hi[c] : lo[c];
            if (x[c] < okLo[c] || x[c] > okHi[c]) fix(r * period + c, c);
        }
    }
}

}  // namespace tachyon
