// ConvLanes (Lanes.h): a convolution's 32-bit MACs with output positions in the SIMD lanes.
#include "ops/mac/Lanes.h"

#include <algorithm>
#include <cstring>

namespace tachyon {

namespace {

// Eight int32 lanes (GCC/Clang vector extensions: AVX2 where the build has it, two SSE
// registers or scalar code elsewhere). Products and sums are unsigned, so they wrap modulo
// 2^32 as the portable 32-bit kernel's do; the shift is arithmetic on the signed view.
using U8 = uint32_t __attribute__((vector_size(32)));
using I8 = int32_t __attribute__((vector_size(32)));

constexpr int kTile = 16;   // positions per register tile: two vectors
constexpr int kOutputsPerPass = 4;   // outputs accumulated together: 8 accumulator registers

inline U8 load8(const int32_t* p) {
    U8 v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
inline void store8(int32_t* p, U8 v) { std::memcpy(p, &v, sizeof v); }

}  // namespace

ConvLanes::ConvLanes(const std::vector<int>& window, int inSize, int nIn, int nOut, const std::vector<int32_t>& w32,
                     const std::vector<int32_t>& bias32, int32_t h, int s)
    : inSize_(inSize), nIn_(nIn), nOut_(nOut), w32_(w32), bias32_(bias32), h_(h), s_(s) {
    positions_ = nIn > 0 ? int(window.size() / size_t(nIn)) : 0;
    windowT_.resize(window.size());
    for (int p = 0; p < positions_; ++p)
        for (int k = 0; k < nIn; ++k) {
            const int idx = window[size_t(p) * size_t(nIn) + size_t(k)];
            windowT_[size_t(k) * size_t(positions_) + size_t(p)] = idx >= 0 ? idx : inSize;
        }
}

// Outputs j0 .. j0+J-1 over every tile of `stride` columns of the plane ([tap][column]):
// acc[j][column] = bias_j + sum over taps of (x*w + h) >> s.
template <int J, bool Shift>
void ConvLanes::accumulateBlock(const int32_t* plane, size_t stride, int j0, int32_t* acc) const {
    const U8 h = U8{} + uint32_t(h_);
    const int s = s_;
    for (size_t c0 = 0; c0 < stride; c0 += kTile) {
        U8 a[J][2];
        for (int jj = 0; jj < J; ++jj) a[jj][0] = a[jj][1] = U8{} + uint32_t(bias32_[size_t(j0 + jj)]);
        const int32_t* x = plane + c0;
        const int32_t* w = w32_.data() + j0;
        for (int k = 0; k < nIn_; ++k, x += stride, w += nOut_) {
            const U8 x0 = load8(x), x1 = load8(x + 8);
            for (int jj = 0; jj < J; ++jj) {
                const uint32_t wk = uint32_t(w[jj]);
                if constexpr (Shift) {
                    a[jj][0] += U8(I8(x0 * wk + h) >> s);
                    a[jj][1] += U8(I8(x1 * wk + h) >> s);
                } else {
                    a[jj][0] += x0 * wk;
                    a[jj][1] += x1 * wk;
                }
            }
        }
        for (int jj = 0; jj < J; ++jj) {
            int32_t* out = acc + size_t(j0 + jj) * stride + c0;
            store8(out, a[jj][0]);
            store8(out + 8, a[jj][1]);
        }
    }
}

void ConvLanes::run(const double* in, size_t samples, std::vector<int32_t>& a32) const {
    static thread_local std::vector<int32_t> xs, plane, acc;
    const size_t P = size_t(positions_), nIn = size_t(nIn_), nOut = size_t(nOut_);
    a32.resize(samples * P * nOut);
    if (samples == 0 || P == 0) return;
    // Samples per block: the plane (taps x columns int32) within about 128 KB, so that it
    // stays in the L2 cache while every output pass reads it.
    const size_t perBlock = std::max<size_t>(1, (size_t(32) << 10) / (nIn * P));
    xs.resize(size_t(inSize_) + 1);
    xs[size_t(inSize_)] = 0;   // what padding taps read
    for (size_t s0 = 0; s0 < samples; s0 += perBlock) {
        const size_t n = std::min(perBlock, samples - s0), cols = n * P;
        const size_t stride = (cols + kTile - 1) / kTile * kTile;
        plane.resize(nIn * stride);
        for (size_t r = 0; r < n; ++r) {
            const double* x = in + (s0 + r) * size_t(inSize_);
            for (int i = 0; i < inSize_; ++i) xs[size_t(i)] = int32_t(x[i]);
            for (size_t k = 0; k < nIn; ++k) {
                const int32_t* idx = windowT_.data() + k * P;
                int32_t* dst = plane.data() + k * stride + r * P;
                for (size_t p = 0; p < P; ++p) dst[p] = xs[size_t(idx[p])];
            }
        }
        for (size_t k = 0; k < nIn; ++k)   // the tile's spare columns: zeros, never read back
            std::fill(plane.data() + k * stride + cols, plane.data() + (k + 1) * stride, 0);
        acc.resize(nOut * stride);
        for (int j0 = 0; j0 < nOut_; j0 += kOutputsPerPass) {
            const int J = std::min(kOutputsPerPass, nOut_ - j0);
            const bool shift = s_ > 0;
            switch (J * 2 + (shift ? 1 : 0)) {
            case 2: accumulateBlock<1, false>(plane.data(), stride, j0, acc.data()); break;
            case 3: accumulateBlock<1, true>(plane.data(), stride, j0, acc.data()); break;
            case 4: accumulateBlock<2, false>(plane.data(), stride, j0, acc.data()); break;
            case 5: accumulateBlock<2, true>(plane.data(), stride, j0, acc.data()); break;
            case 6: accumulateBlock<3, false>(plane.data(), stride, j0, acc.data()); break;
            case 7: accumulateBlock<3, true>(plane.data(), stride, j0, acc.data()); break;
            case 8: accumulateBlock<4, false>(plane.data(), stride, j0, acc.data()); break;
            default: accumulateBlock<4, true>(plane.data(), stride, j0, acc.data()); break;
            }
        }
        int32_t* dst = a32.data() + s0 * P * nOut;   // [column][output], as the row-major kernels write
        for (size_t c = 0; c < cols; ++c)
            for (size_t j = 0; j < nOut; ++j) dst[c * nOut + j] = acc[j * stride + c];
    }
}

}  // namespace tachyon
