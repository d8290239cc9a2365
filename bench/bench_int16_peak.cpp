// This CPU's int16 multiply-accumulate peak on one core, the yardstick for the emulator's
// MAC kernels (not a test: the number depends on the machine). Usage: bench_int16_peak
//
// Runs a long chain of independent 16x16->32-bit dot-product instructions: AVX-512 VNNI
// vpdpwssd (32 MACs each) where the build targets it, and AVX2 vpmaddwd + vpaddd (16 MACs
// per pair) everywhere AVX2 exists. Eight independent accumulators hide the latency, so
// the loop is bound by the instruction throughput. Reports GMAC per CPU-second.
#include "BenchCommon.h"

#include <cstdint>
#include <cstdio>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

using tachyon::bench::cpuSeconds;

namespace {

constexpr long kIterations = 200'000'000;

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
double vnni512() {
    // Named accumulators, not an array: an array loop at -O2 keeps them in memory.
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    __m512i x = _mm512_set1_epi16(3), w = _mm512_set1_epi16(-2);
    const double c0 = cpuSeconds();
    for (long k = 0; k < kIterations / 8; ++k) {
        a0 = _mm512_dpwssd_epi32(a0, x, w);
        a1 = _mm512_dpwssd_epi32(a1, x, w);
        a2 = _mm512_dpwssd_epi32(a2, x, w);
        a3 = _mm512_dpwssd_epi32(a3, x, w);
        a4 = _mm512_dpwssd_epi32(a4, x, w);
        a5 = _mm512_dpwssd_epi32(a5, x, w);
        a6 = _mm512_dpwssd_epi32(a6, x, w);
        a7 = _mm512_dpwssd_epi32(a7, x, w);
    }
    const double dt = cpuSeconds() - c0;
    const __m512i s = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3)),
                                       _mm512_add_epi32(_mm512_add_epi32(a4, a5), _mm512_add_epi32(a6, a7)));
    alignas(64) int32_t lane[16];
    _mm512_store_si512(lane, s);
    std::printf("  (checksum %d)\n", lane[0]);
    return double(kIterations) * 32 / dt / 1e9;
}
#endif

#if defined(__AVX2__)
double madd256() {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    __m256i x = _mm256_set1_epi16(3);
    // A different weight per accumulator: with one, the compiler computes the product once.
    const __m256i w0 = _mm256_set1_epi16(-2), w1 = _mm256_set1_epi16(5), w2 = _mm256_set1_epi16(7),
                  w3 = _mm256_set1_epi16(-9), w4 = _mm256_set1_epi16(11), w5 = _mm256_set1_epi16(-13),
                  w6 = _mm256_set1_epi16(17), w7 = _mm256_set1_epi16(-19);
    const double c0 = cpuSeconds();
    for (long k = 0; k < kIterations / 8; ++k) {
        // x changes every iteration (as far as the compiler knows): no product leaves the loop.
        a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(x, w0));
        a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(x, w1));
        a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(x, w2));
        a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(x, w3));
        a4 = _mm256_add_epi32(a4, _mm256_madd_epi16(x, w4));
        a5 = _mm256_add_epi32(a5, _mm256_madd_epi16(x, w5));
        a6 = _mm256_add_epi32(a6, _mm256_madd_epi16(x, w6));
        a7 = _mm256_add_epi32(a7, _mm256_madd_epi16(x, w7));
        __asm__ volatile("" : "+v"(x));
    }
    const double dt = cpuSeconds() - c0;
    const __m256i s = _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(a0, a1), _mm256_add_epi32(a2, a3)),
                                       _mm256_add_epi32(_mm256_add_epi32(a4, a5), _mm256_add_epi32(a6, a7)));
    alignas(32) int32_t lane[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lane), s);
    std::printf("  (checksum %d)\n", lane[0]);
    return double(kIterations) * 16 / dt / 1e9;
}
#endif

}  // namespace

int main() {
    std::printf("int16 MAC peak, one core (GMAC per CPU-second):\n");
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
    std::printf("AVX-512 VNNI vpdpwssd: %.1f\n", vnni512());
#else
    std::printf("AVX-512 VNNI vpdpwssd: not in this build\n");
#endif
#if defined(__AVX2__)
    std::printf("AVX2 vpmaddwd+vpaddd:  %.1f\n", madd256());
#else
    std::printf("AVX2 vpmaddwd+vpaddd:  not in this build\n");
#endif
    return 0;
}
