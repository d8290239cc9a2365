// BatchNormalization (inference form): y = cast<result>(x * scale_c + shift_c), one exact
// product and sum, with c the channel (last axis).
#include "emulator/Cast.h"
#include "emulator/Kernel.h"

#include <algorithm>
#include <cmath>

namespace tachyon {

namespace {

class BatchNormKernel : public Kernel {
public:
    BatchNormKernel(const Layer& l, std::vector<KernelInput> ins) : Kernel(l, std::move(ins)) {
        const FixedType& sT = l.type("scale");
        const FixedType& hT = l.type("shift");
        consts_.scale = quantizeAll(l.param("scale"), sT);
        consts_.bias = quantizeAll(l.param("shift"), hT);
        productFrac_ = ins_[0].type.frac() + sT.frac();
        shiftFrac_ = hT.frac();
        frac_ = std::max(productFrac_, shiftFrac_);
        channels_ = l.shape.back();
        outT_ = l.type("result");
        prepareVectorised();
    }

    void fixed(const std::vector<const double*>& inputs, double* out, size_t rows, LayerStats& st) const override {
        const size_t n = size_t(layer_.outSize());
        const size_t count = rows * n, channels = size_t(channels_);
        const double* in = inputs[0];
        if (vectorised_) {
            // x * scale + shift exactly in doubles (bounded below 2^51), then one vectorised cast.
            std::vector<double>& sum = scratch(2);
            sum.resize(count);
            for (size_t k = 0; k < count; k += channels)
                for (size_t c = 0; c < channels; ++c) sum[k + c] = in[k + c] * scaleD_[c] + shiftD_[c];
            st.resultOverflows += toResult_.run(sum.data(), out, count, false);
            return;
        }
        uint64_t ov = 0;
        for (size_t k = 0; k < count; ++k) {
            bool o = false;
            int64_t y = 0;
            element(int64_t(in[k]), k % channels, y, o);
            out[k] = double(y);
            ov += o;
        }
        st.resultOverflows += ov;
    }

    bool fixedElement(int64_t x, size_t e, int64_t& y, bool& overflow) const override {
        element(x, e % size_t(channels_), y, overflow);
        return true;
    }
    size_t elementPeriod() const override { return size_t(channels_); }

    void real(const std::vector<const double*>& inputs, double* out, size_t rows) const override {
        const auto& scale = layer_.param("scale");
        const auto& shift = layer_.param("shift");
        const size_t n = size_t(layer_.outSize());
        for (size_t k = 0; k < rows * n; ++k) {
            const size_t c = k % size_t(channels_);
            out[k] = inputs[0][k] * scale[c] + shift[c];
        }
    }

private:
    // The reference arithmetic: 128-bit product and sum, then the generic cast.
    void element(int64_t x, size_t c, int64_t& y, bool& overflow) const {
        Int128 v = (Int128(x) * consts_.scale[c]) << (frac_ - productFrac_);
        v += Int128(consts_.bias[c]) << (frac_ - shiftFrac_);
        CastStatus cs;
        y = int64_t(outT_.castRaw(v, frac_, &cs));
        overflow = cs.overflow;
    }

    // The double form is exact when every |x * scale * 2^a + shift * 2^b| stays below 2^51
    // (a, b: the alignment shifts to frac_), which the input type's range bounds.
    void prepareVectorised() {
        const double maxX = double(maxAbsRaw(ins_[0].type));
        const double a = std::ldexp(1.0, frac_ - productFrac_), b = std::ldexp(1.0, frac_ - shiftFrac_);
        double bound = 0;
        for (int c = 0; c < channels_; ++c) {
            scaleD_.push_back(double(consts_.scale[size_t(c)]) * a);
            shiftD_.push_back(double(consts_.bias[size_t(c)]) * b);
            bound = std::max(bound, maxX * std::fabs(scaleD_.back()) + std::fabs(shiftD_.back()));
        }
        const bool exact = std::isfinite(bound) && bound < std::ldexp(1.0, 51) && frac_ - productFrac_ < 52 &&
                           frac_ - shiftFrac_ < 52;
        toResult_ = DoubleCaster(layer_.type("result"), frac_, bound);
        vectorised_ = exact && toResult_.vectorised() && emulatorKernelChoice() != "reference";
    }

    FixedType outT_;
    int productFrac_ = 0, shiftFrac_ = 0, frac_ = 0, channels_ = 1;
    bool vectorised_ = false;
    std::vector<double> scaleD_, shiftD_;   // raw scale and shift aligned to frac_, as doubles
    DoubleCaster toResult_;
};

}  // namespace

std::unique_ptr<Kernel> makeBatchNormKernel(const Layer& l, std::vector<KernelInput> ins) {
    return std::make_unique<BatchNormKernel>(l, std::move(ins));
}

}  // namespace tachyon
