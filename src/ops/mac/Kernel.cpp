// Dense and Conv: y_j = act(cast<result>(acc_j)), acc_j = cast<accum>(b_j) followed by
// acc_j = cast<accum>(acc_j + cast<accum>(x_i * w_ij)) for the window's inputs i in order
// (docs/semantics.md). A convolution is the same multiply-accumulate over each output
// position's window (im2col, hls4ml's order: kernel positions row-major, then channels),
// so both share one MAC core and its fast paths; a depthwise convolution has one weight
// column per channel and runs the step-by-step form. A Dense or Conv whose input and
// weights are both binary (passes/BinaryMac.h) runs as XNOR-popcount on packed bits instead.
#include "emulator/Cast.h"
#include "ops/mac/Int16Pair.h"
#include "emulator/IntCast.h"
#include "emulator/Kernel.h"
#include "emulator/KernelPath.h"
#include "ops/mac/Lanes.h"

#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
#include <immintrin.h>
#define TACHYON_VNNI 1
constexpr bool kHavePairKernel = true;
#else
constexpr bool kHavePairKernel = false;
#endif

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>   // the sign-bit packing of XNOR layers
#endif

namespace tachyon {

namespace {

// The compiled weight matrix of one layer: constants quantised, casts prepared, fast
// paths decided.
struct MacCore {
    FixedType inT, outT, accT;
    int nIn = 0, nOut = 0;
    bool relu = false;             // fused ReLU
    int wFrac = 0;
    std::vector<int64_t> wRaw, bRaw;
    std::vector<double> wScaled;   // wRaw * 2^-prodShift (exact), row-major [nIn][nOut]
    std::vector<double> biasAcc;   // cast<accum>(bias), raw
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
    // Few outputs (at most half of the 16 lanes in use): the pair kernel runs over 16 rows
    // at a time instead, one output per instruction, every lane busy.
    bool pairOverRows = false;
    std::vector<int32_t> wPairsByOutput;   // [pair k][output j]: inputs 2k and 2k+1 as one int32
    // The same pair arithmetic on AVX2 (ops/mac/Int16Pair.h), where the VNNI kernel is not
    // built or TACHYON_EMULATOR_KERNEL=avx2 asks for it; its input rows are int16.
    bool int16Pair = false;
    Int16PairMac pair16;
    std::vector<int32_t> bias32Padded;     // bias32, zero-padded to whole blocks of 8
    bool accumCanOverflow = true;
    Caster accToOut;
    DoubleCaster accWrap, accToOutVec;   // fast path: wrap the exact sum, then cast to result
    // Integer paths whose int32 accumulator is the exact sum (it cannot overflow): the cast
    // to the result type runs on it in the MAC epilogue (emulator/IntCast.h), no doubles.
    bool fusedCast = false;
    IntCaster accToOutInt;
};

// TACHYON_EMULATOR_KERNEL=portable forces the portable kernels (tests use it to check both
// on machines that have the pair kernel); =reference forces the step-by-step 128-bit form.
std::string kernelChoice() { return emulatorKernelChoice(); }

// wRaw, bRaw: the layer's lowered weights and biases (ops/mac/Lower.cpp).
void compileMac(MacCore& c, const Layer& l, const std::vector<int64_t>& wRaw, const std::vector<int64_t>& bRaw) {
    c.accT = l.type("accum");
    const FixedType& wT = l.type("weight");
    const FixedType& bT = l.type("bias");
    c.wRaw = wRaw;
    c.bRaw = bRaw;
    c.wFrac = wT.frac();
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
    double worstProducts = 0.0;   // the same bound without the bias
    bool fits = true;
    for (int j = 0; j < c.nOut; ++j) {
        double bound = std::fabs(c.biasAcc[size_t(j)]);
        for (int i = 0; i < c.nIn; ++i) {
            double w = std::fabs(double(c.wRaw[size_t(i) * c.nOut + j]));
            maxW = std::max(maxW, w);
            if (w != 0) bound += maxX * w * scale + 1.0;
        }
        worst = std::max(worst, bound);
        worstProducts = std::max(worstProducts, bound - std::fabs(c.biasAcc[size_t(j)]));
        if (bound > double(c.accT.maxRaw()) || -bound < double(c.accT.minRaw())) fits = false;
    }
    c.accumCanOverflow = !fits;
    const double worstFits = worst;
    const std::string kernel = kernelChoice();
    const bool modular = c.accT.satBits == 0 && (c.accT.overflow == Overflow::WRAP || fits);
    const bool exact = maxX * maxW < std::ldexp(1.0, 52) && c.prodShift <= 50 &&
                       worst + std::ldexp(1.0, std::min(c.accT.width, 60)) < std::ldexp(1.0, 52) &&
                       c.accT.width <= 62;
    c.fast = modular && exact && kernel != "reference";
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
        // The pair kernel's shifted 32-bit sum is the sum of the products' quotients modulo
        // 2^(32-s): exact when that sum provably stays within +-2^(31-s); else enough for a
        // wrapping accumulator of at most 32-s bits that may overflow (accWrap then wraps
        // bias + sum; a non-overflowing one takes bias + sum as it is, so it needs exact).
        const bool pairSumExact = worstProducts < std::ldexp(1.0, 31 - s) ||
                                  (!fits && c.accT.overflow == Overflow::WRAP && c.accT.width <= 32 - s);
        const bool pairOk = s <= 15 && pairSumExact && fits16(int64_t(c.inT.minRaw())) &&
                            fits16(int64_t(c.inT.maxRaw())) && !c.wRaw.empty() && fits16(*wMin) && fits16(*wMax);
        c.pairPath = kHavePairKernel && kernel != "portable" && kernel != "avx2" && pairOk;
        c.int16Pair = kHaveInt16PairKernel && !c.pairPath && kernel != "portable" && pairOk;
        if (c.int16Pair) {
            c.pair16 = Int16PairMac(c.wRaw, c.nIn, c.nOut, s, c.roundHalf);
            c.bias32Padded = c.bias32;
            c.bias32Padded.resize(c.pair16.paddedOutputs(), 0);
        }
        c.pairOverRows = c.pairPath && c.nOut <= 8;
        if (c.pairOverRows) {
            const int nPairs = (c.nIn + 1) / 2;
            c.wPairsByOutput.assign(size_t(nPairs) * size_t(c.nOut), 0);
            for (int i = 0; i < c.nIn; ++i)
                for (int j = 0; j < c.nOut; ++j) {
                    const uint32_t w = uint16_t(int16_t(c.wRaw[size_t(i) * c.nOut + j]));
                    c.wPairsByOutput[size_t(i / 2) * c.nOut + size_t(j)] |= int32_t(i % 2 ? w << 16 : w);
                }
        }
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
    // The fused cast takes the int32 sum as the exact accumulator when it cannot overflow;
    // a wrapping one that may overflow is wrapped in the epilogue (right modulo 2^w from a sum
    // right modulo 2^(32-s) >= 2^w), with its overflows counted on bias + sum as the double
    // kernels count them, which needs that value in int32: |bias| + 2^(31-s) <= 2^31 for the
    // pair kernel (the portable one already adds the bias modulo 2^32, as before).
    double maxBias = 0.0;
    for (double b : c.biasAcc) maxBias = std::max(maxBias, std::fabs(b));
    if (c.int32Path && kernel != "unfused") {
        if (fits && worstFits < std::ldexp(1.0, 31)) {
            c.accToOutInt = IntCaster(c.outT, c.accT.frac(), worstFits);
        } else if (c.accT.overflow == Overflow::WRAP &&
                   (!(c.pairPath || c.int16Pair) || maxBias + std::ldexp(1.0, 31 - s) <= std::ldexp(1.0, 31))) {
            c.accToOutInt = IntCaster(c.outT, c.accT.frac(), 0.0, &c.accT);
        }
        c.fusedCast = c.accToOutInt.usable();
    }
    c.accWrap = DoubleCaster(c.accT, c.accT.frac(), worst);
    c.accToOutVec = DoubleCaster(c.outT, c.accT.frac(), c.accumCanOverflow ? double(maxAbsRaw(c.accT)) : worst);
    c.wScaled.resize(c.wRaw.size());
    for (size_t k = 0; k < c.wRaw.size(); ++k) c.wScaled[k] = std::ldexp(double(c.wRaw[k]), -c.prodShift);
}

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
// NV blocks of 16 outputs of one row (blocks v0 .. v0+NV-1) into lanes (without the bias).
// `Truncates`: some product loses low bits (s > 0), so the correction term is needed; with
// s = 0 every product is exact and the dot product alone is the sum. Pairs alternate
// between two sets of accumulators, so 2*NV independent chains hide the instruction latency
// (the int32 sums are modular: any order gives the same bits).
template <bool Truncates, int NV>
inline void pairRowBlocks(const MacCore& c, const int32_t* pairVal, const int32_t* pairIdx, int np, int v0,
                          int32_t* lanes) {
    const int nVec = c.nOutPadded / 16;
    const __m512i h = _mm512_set1_epi16(int16_t(c.roundHalf));
    const __m512i mask = _mm512_set1_epi16(int16_t((1 << c.prodShift) - 1));
    const __m512i ones = _mm512_set1_epi16(1);
    __m512i dot[2][NV], low[2][NV];
    for (int u = 0; u < 2; ++u)
        for (int v = 0; v < NV; ++v) dot[u][v] = low[u][v] = _mm512_setzero_si512();
    auto step = [&](int u, int t) {
        const __m512i xb = _mm512_set1_epi32(pairVal[t]);
        const int16_t* w = c.wPairs.data() + (size_t(pairIdx[t]) * nVec + v0) * 32;
        for (int v = 0; v < NV; ++v) {
            const __m512i wv = _mm512_loadu_si512(w + v * 32);
            dot[u][v] = _mm512_dpwssd_epi32(dot[u][v], xb, wv);
            if constexpr (Truncates) {
                const __m512i l = _mm512_and_si512(_mm512_add_epi16(_mm512_mullo_epi16(xb, wv), h), mask);
                low[u][v] = _mm512_dpwssd_epi32(low[u][v], l, ones);
            }
        }
    };
    int t = 0;
    for (; t + 2 <= np; t += 2) {
        step(0, t);
        step(1, t + 1);
    }
    if (t < np) step(0, t);
    const __m512i shift = _mm512_set1_epi32(c.prodShift);
    const __m512i nh = _mm512_set1_epi32(int32_t(uint32_t(2 * np) * uint32_t(c.roundHalf)));
    for (int v = 0; v < NV; ++v) {
        const __m512i d = _mm512_add_epi32(dot[0][v], dot[1][v]);
        // (dot + n*h - low) is an exact multiple of 2^s; its 32-bit pattern shifted
        // arithmetically is right modulo 2^(32-s), enough for the accumulator (pairSumExact).
        // (The all-lanes mask only keeps GCC 12 from warning about an "undefined" operand.)
        const __m512i q = Truncates ? _mm512_maskz_srav_epi32(
                                          0xFFFF, _mm512_sub_epi32(_mm512_add_epi32(d, nh), _mm512_add_epi32(low[0][v], low[1][v])), shift)
                                    : d;
        _mm512_storeu_si512(lanes + (v0 + v) * 16, q);
    }
}

// One row's accumulators, 16 outputs per block, into lanes[0, nOutPadded) (without the bias).
template <bool Truncates>
inline void pairRow(const MacCore& c, const int32_t* pairVal, const int32_t* pairIdx, int np, int32_t* lanes) {
    const int nVec = c.nOutPadded / 16;
    int v0 = 0;
    for (; v0 + 4 <= nVec; v0 += 4) pairRowBlocks<Truncates, 4>(c, pairVal, pairIdx, np, v0, lanes);
    switch (nVec - v0) {
    case 3: pairRowBlocks<Truncates, 3>(c, pairVal, pairIdx, np, v0, lanes); break;
    case 2: pairRowBlocks<Truncates, 2>(c, pairVal, pairIdx, np, v0, lanes); break;
    case 1: pairRowBlocks<Truncates, 1>(c, pairVal, pairIdx, np, v0, lanes); break;
    default: break;
    }
}

// One row's inputs (exact integers that fit int16, as doubles) packed in pairs, input 2k in
// the low half of pair k; pairs that are all zero (common after ReLU) left out. Writes the
// kept pairs and their indices; returns how many. 16 inputs per step.
inline int packPairs(const double* x, int nIn, int32_t* pairVal, int32_t* pairIdx) {
    int np = 0;
    const __m256i step = _mm256_set1_epi32(8);
    __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int i = 0; i < nIn; i += 16) {
        const int left = std::min(16, nIn - i);
        const __mmask8 m0 = __mmask8(left >= 8 ? 0xFF : (1u << left) - 1);
        const __mmask8 m1 = __mmask8(left >= 16 ? 0xFF : left > 8 ? (1u << (left - 8)) - 1 : 0);
        const __m256i a = _mm512_maskz_cvttpd_epi32(0xFF, _mm512_maskz_loadu_pd(m0, x + i));
        const __m256i b = _mm512_maskz_cvttpd_epi32(0xFF, _mm512_maskz_loadu_pd(m1, x + i + 8));
        // 16 int32 -> 16 int16 (they fit: no saturation) = 8 pairs of (low input, high input);
        // packs interleaves the 128-bit halves, the permute puts them back in order.
        const __m256i pairs = _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xD8);
        const __mmask8 nonzero = _mm256_test_epi32_mask(pairs, pairs);
        _mm256_mask_compressstoreu_epi32(pairVal + np, nonzero, pairs);
        _mm256_mask_compressstoreu_epi32(pairIdx + np, nonzero, idx);
        np += __builtin_popcount(nonzero);
        idx = _mm256_add_epi32(idx, step);
    }
    return np;
}

// The pair kernel over `rows` rows. Fused: the int32 accumulators (bias added) are cast to
// the result type in the epilogue, straight into `out`; else `out` receives the accumulators.
template <bool Truncates, bool Fused>
uint64_t densePairRows(const MacCore& c, const double* in, double* out, size_t rows, uint64_t& accOv) {
    const int nIn = c.nIn, nOut = c.nOut, nPairs = (nIn + 1) / 2;
    static thread_local std::vector<int32_t> pairVal, pairIdx;
    static thread_local std::vector<int32_t> lanes;
    pairVal.resize(size_t(nPairs) + 8);   // room for a whole step of 8 pairs
    pairIdx.resize(size_t(nPairs) + 8);
    lanes.resize(size_t(c.nOutPadded));
    uint64_t resOv = 0;
    for (size_t r = 0; r < rows; ++r) {
        const int np = packPairs(in + r * nIn, nIn, pairVal.data(), pairIdx.data());
        pairRow<Truncates>(c, pairVal.data(), pairIdx.data(), np, lanes.data());
        if constexpr (Fused) {
            for (int j = 0; j < nOut; ++j) lanes[size_t(j)] += c.bias32[size_t(j)];
            resOv += c.accToOutInt.run(lanes.data(), out + r * nOut, size_t(nOut), c.relu, accOv);
        } else {
            for (int j = 0; j < nOut; ++j) out[r * nOut + j] = c.biasAcc[size_t(j)] + double(lanes[size_t(j)]);
        }
    }
    return resOv;
}

// The pair kernel for layers with few outputs: 16 rows per vector. The rows' inputs are packed
// as [pair k][row t][2 inputs]; each output j is one dot product per pair over all 16 rows,
// with the same truncation correction as pairRow. Rows past the end and the odd input's
// partner are zeros: their products are 0 and their correction term h cancels in n*h.
template <bool Truncates, bool Fused>
uint64_t densePairOverRows(const MacCore& c, const double* in, double* out, size_t rows, uint64_t& accOv) {
    const int nIn = c.nIn, nOut = c.nOut, nPairs = (nIn + 1) / 2;
    static thread_local std::vector<int32_t> packed, tile;
    packed.resize(size_t(nPairs) * 16);
    tile.resize(size_t(16) * nOut);
    const __m512i h = _mm512_set1_epi16(int16_t(c.roundHalf));
    const __m512i mask = _mm512_set1_epi16(int16_t((1 << c.prodShift) - 1));
    const __m512i ones = _mm512_set1_epi16(1);
    const __m512i shift = _mm512_set1_epi32(c.prodShift);
    const __m512i nh = _mm512_set1_epi32(int32_t(uint32_t(2 * nPairs) * uint32_t(c.roundHalf)));
    alignas(64) int32_t lanes[16];
    uint64_t resOv = 0;
    for (size_t r0 = 0; r0 < rows; r0 += 16) {
        const int m = int(std::min<size_t>(16, rows - r0));
        for (int t = 0; t < 16; ++t) {
            const double* x = in + (r0 + size_t(t)) * nIn;
            for (int k = 0; k < nPairs; ++k) {
                const uint32_t lo = t < m ? uint16_t(int16_t(x[2 * k])) : 0;
                const uint32_t hi = t < m && 2 * k + 1 < nIn ? uint16_t(int16_t(x[2 * k + 1])) : 0;
                packed[size_t(k) * 16 + size_t(t)] = int32_t(lo | (hi << 16));
            }
        }
        for (int j = 0; j < nOut; ++j) {
            __m512i dot = _mm512_setzero_si512(), low = _mm512_setzero_si512();
            for (int k = 0; k < nPairs; ++k) {
                const __m512i xv = _mm512_loadu_si512(packed.data() + size_t(k) * 16);
                const __m512i w = _mm512_set1_epi32(c.wPairsByOutput[size_t(k) * nOut + size_t(j)]);
                dot = _mm512_dpwssd_epi32(dot, xv, w);
                if constexpr (Truncates) {
                    const __m512i l = _mm512_and_si512(_mm512_add_epi16(_mm512_mullo_epi16(xv, w), h), mask);
                    low = _mm512_dpwssd_epi32(low, l, ones);
                }
            }
            const __m512i q = Truncates ? _mm512_maskz_srav_epi32(0xFFFF, _mm512_sub_epi32(_mm512_add_epi32(dot, nh), low), shift)
                                        : dot;
            _mm512_store_si512(lanes, q);
            for (int t = 0; t < m; ++t) {
                if constexpr (Fused) tile[size_t(t) * nOut + size_t(j)] = lanes[t] + c.bias32[size_t(j)];
                else out[(r0 + size_t(t)) * nOut + size_t(j)] = c.biasAcc[size_t(j)] + double(lanes[t]);
            }
        }
        if constexpr (Fused) resOv += c.accToOutInt.run(tile.data(), out + r0 * nOut, size_t(m) * nOut, c.relu, accOv);
    }
    return resOv;
}

// Returns the result overflows (fused) and adds the accumulator's to accOv.
uint64_t pairRows(const MacCore& c, const double* in, double* out, size_t rows, bool fused, uint64_t& accOv) {
    const bool t = c.prodShift > 0;
    if (c.pairOverRows) {
        if (fused) return t ? densePairOverRows<true, true>(c, in, out, rows, accOv) : densePairOverRows<false, true>(c, in, out, rows, accOv);
        return t ? densePairOverRows<true, false>(c, in, out, rows, accOv) : densePairOverRows<false, false>(c, in, out, rows, accOv);
    }
    if (fused) return t ? densePairRows<true, true>(c, in, out, rows, accOv) : densePairRows<false, true>(c, in, out, rows, accOv);
    return t ? densePairRows<true, false>(c, in, out, rows, accOv) : densePairRows<false, false>(c, in, out, rows, accOv);
}
#else
uint64_t pairRows(const MacCore&, const double*, double*, size_t, bool, uint64_t&) { return 0; }
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

// The portable 32-bit path: int32 accumulators (bias included) of `rows` rows into a32.
void int32Rows(const MacCore& c, const double* in, std::vector<uint32_t>& a32, size_t rows) {
    static thread_local std::vector<uint32_t> x32;
    x32.resize(rows * size_t(c.nIn));
    a32.resize(rows * size_t(c.nOut));
    for (size_t k = 0; k < x32.size(); ++k) x32[k] = uint32_t(int32_t(in[k]));
    const auto* w = reinterpret_cast<const uint32_t*>(c.w32.data());
    const auto* b = reinterpret_cast<const uint32_t*>(c.bias32.data());
    if (c.prodShift == 0)   // exact products: no rounding step at all
        denseRows(x32.data(), a32.data(), rows, c.nIn, c.nOut, w, b, NoRound{});
    else
        denseRows(x32.data(), a32.data(), rows, c.nIn, c.nOut, w, b, ShiftRound{uint32_t(c.roundHalf), c.prodShift});
}

// The AVX2 pair kernel on `rows` rows of doubles: the int32 accumulators, the bias added
// modulo 2^32 when `withBias`.
void int16PairAcc(const MacCore& c, const double* in, size_t rows, bool withBias, std::vector<int32_t>& acc) {
    static thread_local std::vector<int16_t> x16;
    const size_t stride = c.pair16.paddedInputs();
    x16.resize(rows * stride);
    packInt16Rows(in, rows, c.nIn, stride, x16.data());
    acc.resize(rows * size_t(c.nOut));
    c.pair16.run(x16.data(), rows, withBias ? c.bias32Padded.data() : nullptr, acc.data());
}

// The integer paths with the result cast fused: accumulators to result raws, no doubles in
// between. Returns the number of result overflows, adds the accumulator's to accOv.
uint64_t fusedRows(const MacCore& c, const double* in, double* out, size_t rows, uint64_t& accOv) {
    if (c.pairPath) return pairRows(c, in, out, rows, true, accOv);
    if (c.int16Pair) {
        static thread_local std::vector<int32_t> acc;
        int16PairAcc(c, in, rows, true, acc);
        return c.accToOutInt.run(acc.data(), out, acc.size(), c.relu, accOv);
    }
    static thread_local std::vector<uint32_t> a32;
    int32Rows(c, in, a32, rows);
    return c.accToOutInt.run(reinterpret_cast<const int32_t*>(a32.data()), out, a32.size(), c.relu, accOv);
}

template <Quant Q>
void denseFastRows(const MacCore& c, const double* in, double* acc, size_t rows) {
    if (c.pairPath) {
        uint64_t none = 0;   // the double kernels count accumulator overflows afterwards
        pairRows(c, in, acc, rows, false, none);
        return;
    }
    if (c.int16Pair) {
        static thread_local std::vector<int32_t> a32;
        int16PairAcc(c, in, rows, false, a32);
        for (size_t k = 0; k < a32.size(); ++k) acc[k] = c.biasAcc[k % size_t(c.nOut)] + double(a32[k]);
        return;
    }
    if (c.int32Path) {
        static thread_local std::vector<uint32_t> a32;
        int32Rows(c, in, a32, rows);
        for (size_t k = 0; k < a32.size(); ++k) acc[k] = double(int32_t(a32[k]));
        return;
    }
    if (c.prodShift <= 0)
        denseRows(in, acc, rows, c.nIn, c.nOut, c.wScaled.data(), c.biasAcc.data(), NoRound{});
    else
        denseRows(in, acc, rows, c.nIn, c.nOut, c.wScaled.data(), c.biasAcc.data(), RoundWith<Q>{});
}

// The epilogue of the 32-bit kernels on n int32 accumulators (bias included): the fused
// integer cast, or (unfused) as doubles through the wrap and the vectorised double cast.
void int32Epilogue(const MacCore& c, const int32_t* a32, double* out, size_t n, LayerStats& st,
                   std::vector<double>& scratch) {
    uint64_t accOv = 0, resOv = 0;
    if (c.fusedCast) {
        resOv += c.accToOutInt.run(a32, out, n, c.relu, accOv);
    } else {
        scratch.resize(n);
        double* acc = scratch.data();
        for (size_t k = 0; k < n; ++k) acc[k] = double(a32[k]);
        if (c.accumCanOverflow) accOv += c.accWrap.run(acc, acc, n, false);
        resOv += c.accToOutVec.run(acc, out, n, c.relu);
    }
    st.accumOverflows += accOv;
    st.resultOverflows += resOv;
}

// A convolution with fewer than 16 filters on the portable 32-bit path runs over output
// positions (ConvLanes, ops/mac/Lanes.h) instead of outputs. Where the AVX-512 pair
// kernel applies it keeps it (its over-rows form already fills the lanes).
// TACHYON_EMULATOR_KERNEL=nolanes keeps the output-major kernel (tests compare the two).
bool convLanesApply(const MacCore& c, const Layer& l) {
    return l.kind == LayerKind::Conv && c.int32Path && !c.pairPath && c.nOut < 16 && kernelChoice() != "nolanes";
}

void denseFixed(const MacCore& c, const double* in, double* out, size_t rows, LayerStats& st,
                std::vector<double>& scratch) {
    const int nIn = c.nIn, nOut = c.nOut;
    const bool relu = c.relu;
    uint64_t accOv = 0, resOv = 0;
    if (c.fusedCast) {
        resOv += fusedRows(c, in, out, rows, accOv);
    } else if (c.fast) {
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
        const int fp = c.inT.frac() + c.wFrac;
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
                const int64_t z = relu ? c.accToOut.relu(int64_t(a), resOv) : c.accToOut(int64_t(a), resOv);
                out[r * nOut + j] = double(z);
            }
        }
    }
    st.accumOverflows += accOv;
    st.resultOverflows += resOv;
}

// A binary x binary Dense or Conv (passes/BinaryMac.h) as XNOR-popcount: each MAC row's
// input signs packed 64 per word, each output's weight signs likewise; the number of
// disagreeing bits d_j = popcount(x XOR w_j) over the real (not padded) inputs gives
// acc_j = bias_j + A H_j (R - 2 d_j) with R real inputs, i.e. acc_j = accAllAgree_j -
// (step_j / 2) P - step_j d_j with P = N - R padded ones: exactly the generic accumulation.
struct XnorCore {
    int nIn = 0, nOut = 0, nWords = 0, positions = 1;
    std::vector<uint64_t> weightWords;   // [nOut][nWords], bit i%64 of word i/64 = c_ij; padding 0
    std::vector<int64_t> accAllAgree;    // offset_j + step_j N
    std::vector<int64_t> step;
    // Conv with padding: [position][nWords] the real inputs' bits, and the padded count.
    std::vector<uint64_t> realWords;
    std::vector<int> padded;
    // cast<result>: vectorised over a block of accumulators held as doubles when they are
    // exact there (|acc| < 2^52), else one int64 at a time.
    bool viaDouble = true;
    DoubleCaster accToOutVec;
    Caster accToOut;
};

XnorCore compileXnor(const BinaryMac& f, int positions, const FixedType& accT, const FixedType& outT) {
    XnorCore x;
    x.nIn = f.nIn;
    x.nOut = f.nOut;
    x.nWords = (f.nIn + 63) / 64;
    x.positions = positions;
    x.weightWords.assign(size_t(x.nOut) * size_t(x.nWords), 0);
    for (int i = 0; i < f.nIn; ++i)
        for (int j = 0; j < f.nOut; ++j)
            if (f.weightBit[size_t(i) * size_t(f.nOut) + size_t(j)])
                x.weightWords[size_t(j) * size_t(x.nWords) + size_t(i / 64)] |= uint64_t(1) << (i % 64);
    double maxAbsAcc = 0.0;   // every accumulator lies within offset_j .. offset_j + step_j N
    for (int j = 0; j < f.nOut; ++j) {
        x.step.push_back(f.step[size_t(j)]);
        x.accAllAgree.push_back(f.offset[size_t(j)] + f.step[size_t(j)] * f.nIn);
        maxAbsAcc = std::max({maxAbsAcc, std::fabs(double(f.offset[size_t(j)])), std::fabs(double(x.accAllAgree.back()))});
    }
    x.viaDouble = maxAbsAcc < std::ldexp(1.0, 52);
    x.accToOutVec = DoubleCaster(outT, accT.frac(), maxAbsAcc);
    x.accToOut = Caster(outT, accT.frac());
    if (f.hasPadding()) {
        x.padded = f.padded;
        x.realWords.assign(size_t(positions) * size_t(x.nWords), 0);
        for (int p = 0; p < positions; ++p)
            for (int i = 0; i < f.nIn; ++i)
                if (!f.paddedInput[size_t(p) * size_t(f.nIn) + size_t(i)])
                    x.realWords[size_t(p) * size_t(x.nWords) + size_t(i / 64)] |= uint64_t(1) << (i % 64);
    }
    return x;
}

// `rows` MAC rows (samples x positions, position-major within a sample): the accumulators
// into `acc`, then one vectorised cast of the block into `out` (or each cast directly).
void xnorFixed(const XnorCore& x, bool relu, const double* in, double* out, size_t rows, LayerStats& st,
               std::vector<double>& acc) {
    acc.resize(x.viaDouble ? rows * size_t(x.nOut) : 0);
    uint64_t resOv = 0;
    std::vector<uint64_t> bits(size_t(x.nWords));
    const bool masked = !x.padded.empty();
    for (size_t r = 0; r < rows; ++r) {
        const double* row = in + r * size_t(x.nIn);
        for (int k = 0; k < x.nWords; ++k) {   // one word in a register at a time
            const double* v = row + size_t(k) * 64;
            const int n = std::min(64, x.nIn - k * 64);
            uint64_t word = 0;
            for (int b = 0; b < n; ++b) word |= uint64_t(v[b] > 0) << b;
            bits[size_t(k)] = word;
        }
        const size_t p = r % size_t(x.positions);
        const uint64_t* real = masked ? x.realWords.data() + p * size_t(x.nWords) : nullptr;
        const int64_t padded = masked ? x.padded[p] : 0;
        double* a = x.viaDouble ? acc.data() + r * size_t(x.nOut) : out + r * size_t(x.nOut);
        for (int j = 0; j < x.nOut; ++j) {
            const uint64_t* w = x.weightWords.data() + size_t(j) * size_t(x.nWords);
            int64_t disagree = 0;
            if (masked)
                for (int k = 0; k < x.nWords; ++k) disagree += __builtin_popcountll((bits[size_t(k)] ^ w[k]) & real[k]);
            else
                for (int k = 0; k < x.nWords; ++k) disagree += __builtin_popcountll(bits[size_t(k)] ^ w[k]);
            const int64_t s = x.step[size_t(j)];
            const int64_t sum = x.accAllAgree[size_t(j)] - (s / 2) * padded - s * disagree;
            a[j] = x.viaDouble ? double(sum) : double(relu ? x.accToOut.relu(sum, resOv) : x.accToOut(sum, resOv));
        }
    }
    if (x.viaDouble) resOv += x.accToOutVec.run(acc.data(), out, acc.size(), relu);
    st.resultOverflows += resOv;
}

// A binary layer with its elementwise followers folded in (FINN's thresholds, generalised):
// the accumulator takes one of 2N+1 values per output, acc_j(t) = accAllAgree_j - (step_j/2) t
// with t = P + 2 d (P padded inputs, d disagreeing bits), so the whole chain Dense result cast
// (fused ReLU included) -> BatchNorm -> sign/threshold is a table over t per output, built by
// running each layer's own element arithmetic on every accumulator value. Bit-exact by
// construction; overflow flags per entry keep every layer's count.
struct FoldedTable {
    int followers = 0;
    size_t span = 0;                 // 2N + 1 entries per output
    std::vector<double> value;       // [output j][t]: the last follower's raw
    // [output j][t]: 1 << (16 f) where layer f of the group overflows (f = 0: this layer's
    // result cast, f >= 1: follower f), so that one row's flags add up without carries.
    std::vector<uint64_t> packedOverflow;
    std::vector<int64_t> start;      // [output j]: j * span, where output j's entries begin
};

FoldedTable foldTable(const XnorCore& x, bool relu, const std::vector<const Kernel*>& followers) {
    FoldedTable t;
    t.followers = int(followers.size());
    t.span = size_t(2 * x.nIn + 1);
    t.value.resize(size_t(x.nOut) * t.span);
    t.packedOverflow.resize(t.value.size());
    for (int j = 0; j < x.nOut; ++j) t.start.push_back(int64_t(j) * int64_t(t.span));
    for (int j = 0; j < x.nOut; ++j)
        for (size_t k = 0; k < t.span; ++k) {
            const int64_t acc = x.accAllAgree[size_t(j)] - (x.step[size_t(j)] / 2) * int64_t(k);
            uint64_t ov = 0;
            int64_t y = relu ? x.accToOut.relu(acc, ov) : x.accToOut(acc, ov);
            uint64_t flags = ov ? 1 : 0;
            for (size_t f = 0; f < followers.size(); ++f) {
                bool o = false;
                followers[f]->fixedElement(y, size_t(j), y, o);
                flags |= uint64_t(o) << (16 * (f + 1));
            }
            t.value[size_t(j) * t.span + k] = double(y);
            t.packedOverflow[size_t(j) * t.span + k] = flags;
        }
    return t;
}

// The sign bits (v > 0) of n <= 64 doubles as one word, bit b for v[b].
inline uint64_t signWord(const double* v, int n) {
    uint64_t word = 0;
    int b = 0;
#if defined(__AVX512F__)
    const __m512d zero = _mm512_setzero_pd();
    for (; b + 8 <= n; b += 8) word |= uint64_t(_mm512_cmp_pd_mask(_mm512_loadu_pd(v + b), zero, _CMP_GT_OQ)) << b;
#elif defined(__AVX2__)
    const __m256d zero = _mm256_setzero_pd();
    for (; b + 4 <= n; b += 4)
        word |= uint64_t(unsigned(_mm256_movemask_pd(_mm256_cmp_pd(_mm256_loadu_pd(v + b), zero, _CMP_GT_OQ)))) << b;
#endif
    for (; b < n; ++b) word |= uint64_t(v[b] > 0) << b;
    return word;
}

// xnorFixed with the followers folded in: each output a table lookup at t = P + 2 d. The
// overflow flags of an entry are pre-spread into 16-bit counters of one word (packedOverflow),
// so counting is one add per output, unpacked once per row.
void xnorFolded(const XnorCore& x, const FoldedTable& table, const double* in, double* out, size_t rows,
                LayerStats* st) {
    uint64_t ov[8] = {};
    std::vector<uint64_t> bits(size_t(x.nWords));
    const bool masked = !x.padded.empty();
    const double* value = table.value.data();
    const uint64_t* packed = table.packedOverflow.data();
    for (size_t r = 0; r < rows; ++r) {
        const double* row = in + r * size_t(x.nIn);
        for (int k = 0; k < x.nWords; ++k) bits[size_t(k)] = signWord(row + size_t(k) * 64, std::min(64, x.nIn - k * 64));
        const size_t p = r % size_t(x.positions);
        const uint64_t* real = masked ? x.realWords.data() + p * size_t(x.nWords) : nullptr;
        const size_t padded = masked ? size_t(x.padded[p]) : 0;
        double* y = out + r * size_t(x.nOut);
        uint64_t rowOverflow = 0;
        if (x.nWords == 1 && !masked) {
            // The common case (at most 64 inputs, no padding): vectorisable over outputs.
            const uint64_t b = bits[0];
            const uint64_t* w = x.weightWords.data();
            int j = 0;
#if defined(__AVX512F__) && defined(__AVX512VPOPCNTDQ__)
            // Eight outputs a step: popcounts, table indices and both lookups as vectors.
            const __m512i vb = _mm512_set1_epi64(int64_t(b));
            __m512i overflowSum = _mm512_setzero_si512();
            for (; j + 8 <= x.nOut; j += 8) {
                const __m512i d = _mm512_popcnt_epi64(_mm512_xor_si512(vb, _mm512_loadu_si512(w + j)));
                const __m512i e = _mm512_add_epi64(_mm512_loadu_si512(table.start.data() + j), _mm512_slli_epi64(d, 1));
                _mm512_storeu_pd(y + j, _mm512_i64gather_pd(e, value, 8));
                overflowSum = _mm512_add_epi64(overflowSum, _mm512_i64gather_epi64(e, packed, 8));
            }
            rowOverflow += uint64_t(_mm512_reduce_add_epi64(overflowSum));
#endif
            for (; j < x.nOut; ++j) {
                const size_t e = size_t(j) * table.span + 2 * size_t(__builtin_popcountll(b ^ w[j]));
                y[j] = value[e];
                rowOverflow += packed[e];
            }
        } else {
            for (int j = 0; j < x.nOut; ++j) {
                const uint64_t* w = x.weightWords.data() + size_t(j) * size_t(x.nWords);
                size_t disagree = 0;
                if (masked)
                    for (int k = 0; k < x.nWords; ++k)
                        disagree += size_t(__builtin_popcountll((bits[size_t(k)] ^ w[k]) & real[k]));
                else
                    for (int k = 0; k < x.nWords; ++k) disagree += size_t(__builtin_popcountll(bits[size_t(k)] ^ w[k]));
                const size_t e = size_t(j) * table.span + padded + 2 * disagree;
                y[j] = value[e];
                rowOverflow += packed[e];
            }
        }
        for (int f = 0; f <= table.followers; ++f) ov[f] += (rowOverflow >> (16 * f)) & 0xffff;
    }
    for (int f = 0; f <= table.followers; ++f) st[f].resultOverflows += ov[f];
}

class MacKernel : public Kernel {
public:
    MacKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c)
        : Kernel(l, std::move(ins), c), window_(c.window) {
        const auto [nIn, nOut] = macDims(l);
        core_.inT = ins_[0].type;
        core_.outT = l.type("result");
        core_.nIn = nIn;
        core_.nOut = nOut;
        core_.relu = l.activation() == ActKind::ReLU;
        compileMac(core_, l, consts_.weight, consts_.bias);
        if (l.kind == LayerKind::Conv) {
            positions_ = int(window_.size() / size_t(nIn));
        } else {
            positions_ = l.outSize() / nOut;   // Dense over the last axis of an N-D tensor
        }
        if (consts_.binaryMac) {
            xnor_ = compileXnor(*consts_.binaryMac, positions_, core_.accT, core_.outT);
        } else if (convLanesApply(core_, l)) {
            lanes_.emplace(window_, int(inputSize()), nIn, nOut, core_.w32, core_.bias32, core_.roundHalf, core_.prodShift);
        }
    }

    void fixed(const std::vector<const double*>& in, double* out, size_t rows, LayerStats& st) const override {
        if (xnor_) {
            forBlocks(in[0], out, rows, [&](const double* x, double* y, size_t n) {
                xnorFixed(*xnor_, core_.relu, x, y, n * size_t(positions_), st, scratch(1));
            });
            return;
        }
        if (lanes_) {
            // Blocks of samples whose accumulators stay within about 32 KB.
            const size_t per = size_t(positions_) * size_t(core_.nOut), inSize = inputSize();
            const size_t block = std::max<size_t>(1, 8192 / per);
            static thread_local std::vector<int32_t> a32;
            for (size_t r = 0; r < rows; r += block) {
                const size_t n = std::min(block, rows - r);
                lanes_->run(in[0] + r * inSize, n, a32);
                int32Epilogue(core_, a32.data(), out + r * size_t(layer_.outSize()), n * per, st, scratch(1));
            }
            return;
        }
        forBlocks(in[0], out, rows, [&](const double* x, double* y, size_t n) {
            denseFixed(core_, x, y, n * size_t(positions_), st, scratch(1));
        });
    }

    bool foldFollowers(const std::vector<const Kernel*>& followers) override {
        if (!xnor_) return chainFollowers(followers);
        // At most 3 followers and 65,535 outputs: the packed 16-bit overflow counters of a row.
        if (!xnor_ || followers.empty() || followers.size() > 3 || core_.nOut > 65535 || kernelChoice() == "unfolded" ||
            kernelChoice() == "reference")
            return false;
        for (const Kernel* f : followers) {
            const size_t period = f->elementPeriod();
            if (period == 0 || size_t(core_.nOut) % period != 0) return false;   // not per output channel
        }
        folded_ = foldTable(*xnor_, core_.relu, followers);
        return true;
    }

    void fixedFolded(const std::vector<const double*>& in, double* out, size_t rows, LayerStats* st) const override {
        if (!chain_.empty()) return chainFixed(in[0], out, rows, st);
        if (!folded_) return fixed(in, out, rows, st[0]);
        forBlocks(in[0], out, rows, [&](const double* x, double* y, size_t n) {
            xnorFolded(*xnor_, *folded_, x, y, n * size_t(positions_), st);
        });
    }

    void real(const std::vector<const double*>& in, double* out, size_t rows) const override {
        const auto& w = layer_.param("weight");
        const auto& b = layer_.param("bias");
        forBlocks(in[0], out, rows, [&](const double* x, double* y, size_t n) {
            denseRows(x, y, n * size_t(positions_), core_.nIn, core_.nOut, w.data(), b.data(), NoRound{});
            if (core_.relu) {
                const size_t count = n * size_t(layer_.outSize());   // not re-read every value
                for (size_t k = 0; k < count; ++k) y[k] = std::max(y[k], 0.0);
            }
        });
    }

    // Whether this layer can be a link of such a chain (chainFollowers).
    bool integerChainable() const {
        return !xnor_ && window_.empty() && positions_ == 1 && core_.int16Pair && core_.fusedCast;
    }

private:
    // Chained Dense layers: this one and `followers`, all on the AVX2 pair kernel with the cast
    // fused, each reading only the one before. A follower's input type is this layer's result
    // type, which its pair kernel needs to fit int16: the activations between the links stay
    // int16 rows, cast straight from the accumulators.
    bool chainFollowers(const std::vector<const Kernel*>& followers) {
        const std::string choice = kernelChoice();
        if (!integerChainable() || choice == "unfolded" || choice == "reference") return false;
        std::vector<const MacKernel*> chain;
        for (const Kernel* f : followers) {
            const auto* m = dynamic_cast<const MacKernel*>(f);
            if (!m || !m->integerChainable()) return false;
            chain.push_back(m);
        }
        chain_ = std::move(chain);
        return true;
    }

    void chainFixed(const double* in, double* out, size_t rows, LayerStats* st) const {
        static thread_local std::vector<int16_t> x, y, packed;
        static thread_local std::vector<int32_t> acc;
        x.resize(rows * core_.pair16.paddedInputs());
        packInt16Rows(in, rows, core_.nIn, core_.pair16.paddedInputs(), x.data());
        for (size_t f = 0; f <= chain_.size(); ++f) {
            const MacCore& c = f == 0 ? core_ : chain_[f - 1]->core_;
            const size_t nOut = size_t(c.nOut), n = rows * nOut;
            acc.resize(n);
            c.pair16.run(x.data(), rows, c.bias32Padded.data(), acc.data());
            uint64_t accOv = 0, resOv = 0;
            if (f == chain_.size()) {
                resOv = c.accToOutInt.run(acc.data(), out, n, c.relu, accOv);
            } else {
                const size_t stride = chain_[f]->core_.pair16.paddedInputs();
                y.resize(rows * stride);
                if (stride == nOut) {
                    resOv = c.accToOutInt.run(acc.data(), y.data(), n, c.relu, accOv);
                } else {   // an odd width: each row gets its zero partner
                    packed.resize(n);
                    resOv = c.accToOutInt.run(acc.data(), packed.data(), n, c.relu, accOv);
                    for (size_t r = 0; r < rows; ++r) {
                        std::copy(packed.begin() + long(r * nOut), packed.begin() + long((r + 1) * nOut), y.begin() + long(r * stride));
                        std::fill(y.begin() + long(r * stride + nOut), y.begin() + long((r + 1) * stride), int16_t(0));
                    }
                }
                std::swap(x, y);
            }
            st[f].accumOverflows += accOv;
            st[f].resultOverflows += resOv;
        }
    }

    // Runs fn(mac input, output, rows) over blocks of rows, so that a convolution's
    // patches (window size x positions per row) stay within about 8 MB.
    template <class Fn>
    void forBlocks(const double* in, double* out, size_t rows, Fn&& fn) const {
        const size_t block = window_.empty() ? rows : std::max<size_t>(1, (size_t(1) << 20) / window_.size());
        const size_t inSize = inputSize(), outSize = size_t(layer_.outSize());
        for (size_t r = 0; r < rows; r += block) {
            const size_t n = std::min(block, rows - r);
            fn(patches(in + r * inSize, n), out + r * outSize, n);
        }
    }

    // The MAC's input rows: the tensor itself for Dense, the im2col patches for Conv.
    const double* patches(const double* in, size_t rows) const {
        if (window_.empty()) return in;
        std::vector<double>& buf = scratch(0);
        const size_t per = window_.size(), inSize = inputSize();
        buf.resize(rows * per);
        for (size_t r = 0; r < rows; ++r) {
            const double* src = in + r * inSize;
            double* dst = buf.data() + r * per;
            for (size_t k = 0; k < per; ++k) dst[k] = window_[k] >= 0 ? src[window_[k]] : 0.0;
        }
        return buf.data();
    }
    size_t inputSize() const {
        size_t n = 1;
        for (int d : ins_[0].shape) n *= size_t(d);
        return n;
    }

    MacCore core_;
    std::optional<XnorCore> xnor_;   // binary x binary Dense or Conv
    std::optional<FoldedTable> folded_;   // xnor_ with its elementwise followers folded in
    std::vector<const MacKernel*> chain_;   // Dense layers run after this one on int16 rows
    std::optional<ConvLanes> lanes_;      // a convolution with few filters, over positions
    const std::vector<int>& window_;   // the lowered windows (Conv only; LayerConstants::window)
    int positions_ = 1;         // MAC rows per sample
};

// Depthwise convolution: output channel c*M + m reads only input channel c, so every
// output has its own weight column over the kernel positions.
class DepthwiseKernel : public Kernel {
public:
    DepthwiseKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c)
        : Kernel(l, std::move(ins), c), window_(c.window) {
        const auto& a = l.as<ConvAttrs>();
        inT_ = ins_[0].type;
        accT_ = l.type("accum");
        outT_ = l.type("result");
        const FixedType& wT = l.type("weight");
        const FixedType& bT = l.type("bias");
        prodFrac_ = inT_.frac() + wT.frac();
        for (int64_t b : consts_.bias) biasAcc_.push_back(Int128(accT_.castRaw(Int128(b), bT.frac())));
        taps_ = 1;
        for (int k : a.kernel) taps_ *= k;
        positions_ = int(window_.size() / size_t(taps_));
        channels_ = a.inChannels;
        mult_ = a.depthMultiplier;
        relu_ = l.activation() == ActKind::ReLU;
        for (int d : ins_[0].shape) inSize_ *= size_t(d);
    }

    void fixed(const std::vector<const double*>& in, double* out, size_t rows, LayerStats& st) const override {
        const int nOut = channels_ * mult_;
        const int fa = accT_.frac();
        Caster toOut(outT_, fa);
        uint64_t accOv = 0, resOv = 0;
        for (size_t r = 0; r < rows; ++r) {
            const double* x = in[0] + r * inSize_;
            for (int p = 0; p < positions_; ++p) {
                const int* win = window_.data() + size_t(p) * taps_;
                for (int o = 0; o < nOut; ++o) {
                    const int c = o / mult_;
                    CastStatus cs;
                    Int128 acc = biasAcc_[size_t(o)];
                    for (int k = 0; k < taps_; ++k) {
                        const int64_t w = consts_.weight[size_t(k) * nOut + o];
                        if (w == 0 || win[k] < 0) continue;
                        const Int128 prod = accT_.castRaw(Int128(int64_t(x[win[k] + c])) * w, prodFrac_, &cs);
                        acc = accT_.castRaw(acc + prod, fa, &cs);
                    }
                    accOv += cs.overflow;
                    const int64_t z = relu_ ? toOut.relu(int64_t(acc), resOv) : toOut(int64_t(acc), resOv);
                    out[(r * positions_ + size_t(p)) * nOut + size_t(o)] = double(z);
                }
            }
        }
        st.accumOverflows += accOv;
        st.resultOverflows += resOv;
    }

    void real(const std::vector<const double*>& in, double* out, size_t rows) const override {
        const int nOut = channels_ * mult_;
        const auto& w = layer_.param("weight");
        const auto& b = layer_.param("bias");
        for (size_t r = 0; r < rows; ++r) {
            const double* x = in[0] + r * inSize_;
            for (int p = 0; p < positions_; ++p) {
                const int* win = window_.data() + size_t(p) * taps_;
                for (int o = 0; o < nOut; ++o) {
                    double acc = b[size_t(o)];
                    for (int k = 0; k < taps_; ++k)
                        if (win[k] >= 0) acc += x[win[k] + o / mult_] * w[size_t(k) * nOut + o];
                    out[(r * positions_ + size_t(p)) * nOut + size_t(o)] = relu_ ? std::max(acc, 0.0) : acc;
                }
            }
        }
    }

private:
    FixedType inT_, accT_, outT_;
    int prodFrac_ = 0;
    std::vector<Int128> biasAcc_;
    const std::vector<int>& window_;   // [position][tap] -> flat index of channel 0, or -1 (lowered)
    int taps_ = 1, positions_ = 1, channels_ = 1, mult_ = 1;
    bool relu_ = false;
    size_t inSize_ = 1;
};

}  // namespace

std::string macKernelPath(const LoweredLayer& low) {
    const Layer& l = *low.layer;
    if (l.kind != LayerKind::Dense && l.kind != LayerKind::Conv) return "";
    MacCore c;   // compiled as MacKernel compiles it: same layer, constants, input type and environment
    const auto [nIn, nOut] = macDims(l);
    c.inT = low.inputTypes.at(0);
    c.outT = l.type("result");
    c.nIn = nIn;
    c.nOut = nOut;
    compileMac(c, l, low.constants->weight, low.constants->bias);
    // The order is the one fixed() follows: a convolution with few filters takes ConvLanes first.
    const std::string base = c.pairOverRows ? "pair-rows" : c.pairPath ? "pair" : convLanesApply(c, l) ? "int32-lanes"
                             : c.int16Pair ? "pair8" : c.int32Path ? "int32" : c.fast ? "double" : "reference";
    return c.fusedCast ? base + "+fused" : base;
}

std::unique_ptr<Kernel> makeMacKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c) {
    if (l.kind == LayerKind::Conv && l.as<ConvAttrs>().depthwise)
        return std::make_unique<DepthwiseKernel>(l, std::move(ins), c);
    return std::make_unique<MacKernel>(l, std::move(ins), c);
}

}  // namespace tachyon
