// The AVX2 16-bit pair multiply-accumulate of Dense layers (Int16Pair.h).
#include "ops/mac/Int16Pair.h"

#include <algorithm>
#include <cstring>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace tachyon {

Int16PairMac::Int16PairMac(const std::vector<int64_t>& wRaw, int nIn, int nOut, int s, int32_t h)
    : nIn_(nIn), nOut_(nOut), nPairs_((nIn + 1) / 2), nBlocks_((nOut + 7) / 8), shift_(s), half_(h) {
    w_.assign(size_t(nPairs_) * size_t(nBlocks_) * 16, 0);
    for (int i = 0; i < nIn; ++i)
        for (int j = 0; j < nOut; ++j)
            w_[(size_t(i / 2) * size_t(nBlocks_) + size_t(j / 8)) * 16 + size_t(j % 8) * 2 + size_t(i % 2)] =
                int16_t(wRaw[size_t(i) * size_t(nOut) + size_t(j)]);
}

void packInt16Rows(const double* in, size_t rows, int nIn, size_t stride, int16_t* out) {
    for (size_t r = 0; r < rows; ++r) {
        const double* x = in + r * size_t(nIn);
        int16_t* y = out + r * stride;
        for (int i = 0; i < nIn; ++i) y[i] = int16_t(int32_t(x[i]));
        for (size_t i = size_t(nIn); i < stride; ++i) y[i] = 0;
    }
}

#if defined(__AVX2__)
namespace {

struct RowPairs {
    const int32_t* val;   // the row's nonzero input pairs (input 2k in the low half)
    const int32_t* idx;   // and their pair indices
    int n;
};

// Blocks b0 .. b0+NB-1 (8 outputs each) of one row. `run`: how many pairs' remainders the
// 16-bit lanes may add before they are widened (each remainder is below 2^s, a run's sum
// stays below 2^15 so that vpmaddwd reads it as a positive int16).
template <bool Truncates, bool HalfUp, int NB>
inline void rowBlocks(const int16_t* w, int nBlocks, RowPairs p, int b0, int s, int32_t h, int run,
                      const int32_t* bias, int32_t* acc, int nOut) {
    __m256i dot[NB];
    for (int v = 0; v < NB; ++v) dot[v] = _mm256_setzero_si256();
    const __m256i mask = _mm256_set1_epi16(int16_t((1 << s) - 1));
    const __m256i hv = _mm256_set1_epi16(int16_t(h));
    const __m256i ones = _mm256_set1_epi16(1);
    for (int t0 = 0; t0 < p.n; t0 += run) {
        const int t1 = std::min(p.n, t0 + run);
        __m256i low[NB];
        for (int v = 0; v < NB; ++v) low[v] = _mm256_setzero_si256();
        for (int t = t0; t < t1; ++t) {
            const __m256i xb = _mm256_set1_epi32(p.val[t]);
            const int16_t* wp = w + (size_t(p.idx[t]) * size_t(nBlocks) + size_t(b0)) * 16;
            for (int v = 0; v < NB; ++v) {
                const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp + v * 16));
                dot[v] = _mm256_add_epi32(dot[v], _mm256_madd_epi16(xb, wv));
                if constexpr (Truncates) {
                    __m256i lo = _mm256_mullo_epi16(xb, wv);   // the product's low 16 bits
                    if constexpr (HalfUp) lo = _mm256_add_epi16(lo, hv);
                    low[v] = _mm256_add_epi16(low[v], _mm256_and_si256(lo, mask));
                }
            }
        }
        if constexpr (Truncates)
            for (int v = 0; v < NB; ++v) dot[v] = _mm256_sub_epi32(dot[v], _mm256_madd_epi16(low[v], ones));
    }
    // (sum p + n h - sum remainders) is a multiple of 2^s; its 32-bit pattern shifted
    // arithmetically is the sum of quotients modulo 2^(32-s).
    const __m256i nh = _mm256_set1_epi32(int32_t(uint32_t(2 * p.n) * uint32_t(h)));
    const __m128i count = _mm_cvtsi32_si128(s);
    for (int v = 0; v < NB; ++v) {
        __m256i q = dot[v];
        if constexpr (Truncates) q = _mm256_sra_epi32(HalfUp ? _mm256_add_epi32(q, nh) : q, count);
        const int j0 = (b0 + v) * 8;
        if (bias) q = _mm256_add_epi32(q, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias + j0)));
        if (j0 + 8 <= nOut) {
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + j0), q);
        } else {   // the last, partial block: lanes past nOut are the next row's
            const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            _mm256_maskstore_epi32(acc + j0, _mm256_cmpgt_epi32(_mm256_set1_epi32(nOut - j0), lane), q);
        }
    }
}

template <bool Truncates, bool HalfUp>
void rows(const int16_t* w, int nBlocks, int nPairs, int nOut, int s, int32_t h, const int16_t* x, size_t nRows,
          const int32_t* bias, int32_t* acc) {
    static thread_local std::vector<int32_t> val, idx;
    val.resize(size_t(nPairs));
    idx.resize(size_t(nPairs));
    const int run = Truncates ? std::max(1, 32767 / ((1 << s) - 1)) : nPairs + 1;
    for (size_t r = 0; r < nRows; ++r) {
        const int16_t* row = x + r * size_t(nPairs) * 2;
        int n = 0;
        for (int k = 0; k < nPairs; ++k) {   // branch-free: zeros after ReLU are unpredictable
            int32_t v;
            std::memcpy(&v, row + 2 * k, sizeof v);
            val[size_t(n)] = v;
            idx[size_t(n)] = k;
            n += v != 0;
        }
        const RowPairs p{val.data(), idx.data(), n};
        int32_t* a = acc + r * size_t(nOut);
        int b0 = 0;
        for (; b0 + 4 <= nBlocks; b0 += 4) rowBlocks<Truncates, HalfUp, 4>(w, nBlocks, p, b0, s, h, run, bias, a, nOut);
        switch (nBlocks - b0) {
        case 3: rowBlocks<Truncates, HalfUp, 3>(w, nBlocks, p, b0, s, h, run, bias, a, nOut); break;
        case 2: rowBlocks<Truncates, HalfUp, 2>(w, nBlocks, p, b0, s, h, run, bias, a, nOut); break;
        case 1: rowBlocks<Truncates, HalfUp, 1>(w, nBlocks, p, b0, s, h, run, bias, a, nOut); break;
        default: break;
        }
    }
}

}  // namespace

void Int16PairMac::run(const int16_t* x, size_t nRows, const int32_t* bias, int32_t* acc) const {
    const int16_t* w = w_.data();
    if (shift_ == 0) rows<false, false>(w, nBlocks_, nPairs_, nOut_, 0, 0, x, nRows, bias, acc);
    else if (half_ == 0) rows<true, false>(w, nBlocks_, nPairs_, nOut_, shift_, 0, x, nRows, bias, acc);
    else rows<true, true>(w, nBlocks_, nPairs_, nOut_, shift_, half_, x, nRows, bias, acc);
}
#else
void Int16PairMac::run(const int16_t*, size_t, const int32_t*, int32_t*) const {}   // never chosen
#endif

}  // namespace tachyon
