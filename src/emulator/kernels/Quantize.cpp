// Quantisers of quantisation-aware models (LayerKind::Quantize, docs/semantics.md):
//   Fixed:     y_e = cast<result>(cast<T_e>(x_e)), one ap_fixed type per element (HGQ) or
//              one for all (QKeras quantized_bits/relu/tanh, QONNX Quant); a 0-bit element
//              is 0.
//   Threshold: y = cast<result>(levels[n]), n = how many of the channel's thresholds x
//              reaches (binary, ternary, QONNX BipolarQuant and MultiThreshold).
// Float mode applies the same quantiser to the double value (that is what the training
// framework computes at inference), without the final cast to `result`.
#include "emulator/Cast.h"
#include "emulator/Kernel.h"
#include "util/Error.h"

#include <cmath>

namespace tachyon {

namespace {

class QuantizeKernel : public Kernel {
public:
    QuantizeKernel(const Layer& l, std::vector<KernelInput> ins) : Kernel(l, std::move(ins)) {
        const auto& a = l.as<QuantizeAttrs>();
        mode_ = a.mode;
        channels_ = size_t(l.shape.back());
        const FixedType& outT = l.type("result");
        if (mode_ == QuantizeMode::Fixed) {
            for (size_t e = 0; e < a.width.size(); ++e) {
                types_.push_back(a.elementType(e));
                zero_.push_back(a.width[e] == 0);
            }
            return;
        }
        const int f = ins_[0].type.frac();
        n_ = size_t(a.nThresholds);
        for (size_t k = 0; k < a.thresholds.size(); ++k)
            rawThresholds_.push_back(thresholdRaw(a.thresholds[k], f, a.strict[k % n_] != 0));
        for (double v : a.levels) {
            CastStatus cs;
            levelRaw_.push_back(int64_t(outT.castDouble(v, &cs)));
            levelOverflow_.push_back(cs.overflow);
        }
    }

    void fixed(const std::vector<const double*>& inputs, double* out, size_t rows, LayerStats& st) const override {
        const double* in = inputs[0];
        const size_t n = size_t(layer_.outSize());
        const FixedType& outT = layer_.type("result");
        const int fin = ins_[0].type.frac();
        uint64_t ov = 0;
        if (mode_ == QuantizeMode::Fixed) {
            const size_t nt = types_.size();
            for (size_t k = 0; k < rows * n; ++k) {
                const size_t e = nt == 1 ? 0 : k % n;
                if (zero_[e]) {
                    out[k] = 0;
                    continue;
                }
                const FixedType& t = types_[e];
                const Int128 v = t.castRaw(Int128(int64_t(in[k])), fin);
                CastStatus cs;
                out[k] = double(int64_t(outT.castRaw(v, t.frac(), &cs)));
                ov += cs.overflow;
            }
        } else {
            const size_t rowsOfT = rawThresholds_.size() / n_;
            for (size_t k = 0; k < rows * n; ++k) {
                const int64_t x = int64_t(in[k]);
                const int64_t* t = rawThresholds_.data() + (rowsOfT == 1 ? 0 : (k % channels_) * n_);
                size_t c = 0;
                for (size_t j = 0; j < n_; ++j) c += x >= t[j];
                out[k] = double(levelRaw_[c]);
                ov += levelOverflow_[c];
            }
        }
        st.resultOverflows += ov;
    }

    void real(const std::vector<const double*>& inputs, double* out, size_t rows) const override {
        const double* in = inputs[0];
        const size_t n = size_t(layer_.outSize());
        const auto& a = layer_.as<QuantizeAttrs>();
        if (mode_ == QuantizeMode::Fixed) {
            const size_t nt = types_.size();
            for (size_t k = 0; k < rows * n; ++k) {
                const size_t e = nt == 1 ? 0 : k % n;
                out[k] = zero_[e] ? 0.0 : types_[e].quantize(in[k]);
            }
            return;
        }
        const size_t rowsOfT = a.thresholds.size() / n_;
        for (size_t k = 0; k < rows * n; ++k) {
            const double x = in[k];
            const double* t = a.thresholds.data() + (rowsOfT == 1 ? 0 : (k % channels_) * n_);
            size_t c = 0;
            for (size_t j = 0; j < n_; ++j) c += a.strict[j] ? x > t[j] : x >= t[j];
            out[k] = a.levels[c];
        }
    }

private:
    QuantizeMode mode_ = QuantizeMode::Fixed;
    size_t channels_ = 1, n_ = 0;
    std::vector<FixedType> types_;
    std::vector<bool> zero_;
    std::vector<int64_t> rawThresholds_, levelRaw_;
    std::vector<bool> levelOverflow_;
};

}  // namespace

std::unique_ptr<Kernel> makeQuantizeKernel(const Layer& l, std::vector<KernelInput> ins) {
    return std::make_unique<QuantizeKernel>(l, std::move(ins));
}

}  // namespace tachyon
