// The 16-bit pair multiply-accumulate on AVX2 (Int16PairKernel.cpp), for Dense
// layers whose inputs and weights fit int16 and whose accumulator drops s <= 15 product bits:
// the CPUs without AVX-512 VNNI (and, by TACHYON_EMULATOR_KERNEL=avx2, those with it).
//
// Each instruction multiplies 8 outputs x 2 inputs (vpmaddwd). The cast of each product to the
// accumulator, floor((p + h) / 2^s) (TRN: h = 0, RND: h = 2^(s-1)), is summed as
//   sum floor((p + h) / 2^s) = (sum p + n h - sum ((p + h) mod 2^s)) / 2^s,
// the remainders taken from the products' low 16 bits (vpmullw) and added in 16-bit lanes,
// widened to 32 bits only once per run of pairs that cannot carry out of 15 bits. With s = 0
// (the accumulator keeps every product bit, as `accum: auto` makes it) the correction is
// skipped altogether. The int32 sum is right modulo 2^(32-s) (the caller checks that this is
// enough: MacCore::int16Pair in Kernel.cpp).
//
// Activations between chained Dense layers travel as int16 rows of `paddedInputs()` values
// (the odd input's partner and the padding are zeros), so no conversion to double happens
// between them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tachyon {

#if defined(__AVX2__)
constexpr bool kHaveInt16PairKernel = true;
#else
constexpr bool kHaveInt16PairKernel = false;
#endif

class Int16PairMac {
public:
    Int16PairMac() = default;
    // wRaw: [nIn][nOut] weight raws (each fits int16); s in [0, 15]; h = 0 or 2^(s-1).
    Int16PairMac(const std::vector<int64_t>& wRaw, int nIn, int nOut, int s, int32_t h);

    int nIn() const { return nIn_; }
    int nOut() const { return nOut_; }
    // Row stride of the int16 input rows: nIn rounded up to a whole number of pairs.
    size_t paddedInputs() const { return size_t(nPairs_) * 2; }
    // Length of the bias array run() reads: nOut rounded up to whole blocks of 8.
    size_t paddedOutputs() const { return size_t(nBlocks_) * 8; }

    // acc[r * nOut + j] = bias[j] + sum_i floor((x_ri w_ij + h) / 2^s), modulo 2^32 (bias:
    // paddedOutputs() values, or nullptr for none). x: `rows` rows of paddedInputs() int16s.
    void run(const int16_t* x, size_t rows, const int32_t* bias, int32_t* acc) const;

private:
    int nIn_ = 0, nOut_ = 0, nPairs_ = 0, nBlocks_ = 0;
    int shift_ = 0;
    int32_t half_ = 0;
    std::vector<int16_t> w_;   // [pair k][block b of 8 outputs][output][2 inputs], zero-padded
};

// Doubles holding exact integers that fit int16 -> int16 rows of `stride` values (the
// columns past nIn zero).
void packInt16Rows(const double* in, size_t rows, int nIn, size_t stride, int16_t* out);

}  // namespace tachyon
