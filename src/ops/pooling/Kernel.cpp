// Max and average pooling over windows (or over every spatial position: global pooling).
// Max: y = cast<result>(max of the window's values); average: y = cast<result>(exact sum
// / count), count = the window's positions inside the input (or the whole window when
// padding counts, ONNX count_include_pad). Padding never takes part in a maximum.
#include "emulator/Cast.h"
#include "emulator/Kernel.h"

#include <algorithm>
#include <limits>

namespace tachyon {

namespace {

class PoolingKernel : public Kernel {
public:
    PoolingKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c) : Kernel(l, std::move(ins), c) {
        const PoolAttrs& a = l.as<PoolAttrs>();
        const Shape& in = ins_[0].shape;
        max_ = a.op == PoolOp::Max;
        channels_ = in.back();
        const int rank = a.rank;
        const int inH = rank == 2 ? in[0] : 1, inW = in[size_t(rank - 1)];
        inSize_ = size_t(inH) * inW * channels_;
        // The windows are the lowered ones (ops/pooling/Lower.cpp).
        window_ = a.global ? inH * inW : (rank == 2 ? a.kernel[0] : 1) * a.kernel[size_t(rank - 1)];
        positions_ = int(consts_.window.size()) / window_;
        for (int p = 0; p < positions_; ++p) {
            int valid = 0;
            for (int k = 0; k < window_; ++k) valid += consts_.window[size_t(p) * window_ + k] >= 0;
            counts_.push_back(a.countPadding ? window_ : valid);
        }
        fx_ = ins_[0].type.frac();
    }

    void fixed(const std::vector<const double*>& inputs, double* out, size_t rows, LayerStats& st) const override {
        const FixedType& outT = layer_.type("result");
        uint64_t ov = 0;
        for (size_t r = 0; r < rows; ++r) {
            const double* x = inputs[0] + r * inSize_;
            for (int p = 0; p < positions_; ++p) {
                const int* tap = consts_.window.data() + size_t(p) * window_;
                for (int c = 0; c < channels_; ++c) {
                    Int128 acc = 0;
                    int64_t best = std::numeric_limits<int64_t>::min();
                    for (int k = 0; k < window_; ++k) {
                        if (tap[k] < 0) continue;
                        const int64_t v = int64_t(x[size_t(tap[k]) * channels_ + c]);
                        acc += v;
                        best = std::max(best, v);
                    }
                    CastStatus cs;
                    const Int128 y = max_ ? outT.castRaw(best, fx_, &cs) : castRational(outT, acc, fx_, counts_[size_t(p)], &cs);
                    ov += cs.overflow;
                    out[(r * positions_ + size_t(p)) * channels_ + size_t(c)] = double(int64_t(y));
                }
            }
        }
        st.resultOverflows += ov;
    }

    void real(const std::vector<const double*>& inputs, double* out, size_t rows) const override {
        for (size_t r = 0; r < rows; ++r) {
            const double* x = inputs[0] + r * inSize_;
            for (int p = 0; p < positions_; ++p) {
                const int* tap = consts_.window.data() + size_t(p) * window_;
                for (int c = 0; c < channels_; ++c) {
                    double acc = 0, best = -std::numeric_limits<double>::infinity();
                    for (int k = 0; k < window_; ++k) {
                        if (tap[k] < 0) continue;
                        const double v = x[size_t(tap[k]) * channels_ + c];
                        acc += v;
                        best = std::max(best, v);
                    }
                    out[(r * positions_ + size_t(p)) * channels_ + size_t(c)] = max_ ? best : acc / counts_[size_t(p)];
                }
            }
        }
    }

private:
    bool max_ = true;
    int channels_ = 1, window_ = 1, positions_ = 1, fx_ = 0;   // window_: taps per position
    size_t inSize_ = 0;
    std::vector<int> counts_;   // divisor per position (average)
};

}  // namespace

std::unique_ptr<Kernel> makePoolingKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c) {
    return std::make_unique<PoolingKernel>(l, std::move(ins), c);
}

}  // namespace tachyon
