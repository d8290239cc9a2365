// BatchNormalization (inference form): y = cast<result>(x * scale_c + shift_c), one exact
// product and sum, with c the channel (last axis).
#include "emulator/Cast.h"
#include "emulator/Kernel.h"

#include <algorithm>

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
    }

    void fixed(const std::vector<const double*>& inputs, double* out, size_t rows, LayerStats& st) const override {
        const FixedType& outT = layer_.type("result");
        const size_t n = size_t(layer_.outSize());
        uint64_t ov = 0;
        for (size_t k = 0; k < rows * n; ++k) {
            const size_t c = k % size_t(channels_);
            Int128 v = (Int128(int64_t(inputs[0][k])) * consts_.scale[c]) << (frac_ - productFrac_);
            v += Int128(consts_.bias[c]) << (frac_ - shiftFrac_);
            CastStatus cs;
            out[k] = double(int64_t(outT.castRaw(v, frac_, &cs)));
            ov += cs.overflow;
        }
        st.resultOverflows += ov;
    }

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
    int productFrac_ = 0, shiftFrac_ = 0, frac_ = 0, channels_ = 1;
};

}  // namespace

std::unique_ptr<Kernel> makeBatchNormKernel(const Layer& l, std::vector<KernelInput> ins) {
    return std::make_unique<BatchNormKernel>(l, std::move(ins));
}

}  // namespace tachyon
