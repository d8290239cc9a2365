// The 32-bit multiply-accumulate of a convolution with few filters, vectorised over output
// positions instead of outputs (issue #21, item 5). The output-major kernels of Kernel.cpp
// fill 8 or 16 SIMD lanes with outputs; a convolution with 2 or 5 filters leaves most lanes
// empty, and its im2col patches (window x positions doubles) cost more than the MACs.
// Here each MAC row (one output position of one sample) is a lane: the inputs are gathered
// once per block as int32 in tap-major order ([tap][position], straight from the input
// tensor, no double patches), and every weight is a broadcast scalar. The arithmetic is the
// portable 32-bit path's (every product cast as (x*w + h) >> s, sums modulo 2^32), so the
// results are bit for bit those of that path; Kernel.cpp decides when it applies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tachyon {

class ConvLanes {
public:
    ConvLanes() = default;
    // window: [position][tap] -> flat input index or -1 (padding), as convWindowIndex gives
    // it; w32: [tap][output] weight raws; bias32: the bias cast to the accumulator, per output;
    // h, s: each product is cast as (x*w + h) >> s (s = 0: exact products).
    ConvLanes(const std::vector<int>& window, int inSize, int nIn, int nOut, const std::vector<int32_t>& w32,
              const std::vector<int32_t>& bias32, int32_t h, int s);

    // The int32 accumulators (bias included, modulo 2^32) of `samples` samples into a32,
    // row-major [sample][position][output], as the portable 32-bit kernel writes them.
    // in: the samples as doubles holding exact raws that fit int32.
    void run(const double* in, size_t samples, std::vector<int32_t>& a32) const;

    int positions() const { return positions_; }

private:
    template <int J, bool Shift>
    void accumulateBlock(const int32_t* plane, size_t stride, int j0, int32_t* acc) const;

    int inSize_ = 0, nIn_ = 0, nOut_ = 0, positions_ = 0;
    std::vector<int32_t> windowT_;   // [tap][position] -> index into the int32 copy of a sample (inSize_: zero)
    std::vector<int32_t> w32_, bias32_;
    int32_t h_ = 0;
    int s_ = 0;
};

}  // namespace tachyon
