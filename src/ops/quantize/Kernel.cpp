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
#include "emulator/ThresholdSelect.h"
#include "util/Error.h"

#include <cmath>

namespace tachyon {

namespace {

class QuantizeKernel : public Kernel {
public:
    QuantizeKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c) : Kernel(l, std::move(ins), c) {
        const auto& a = l.as<QuantizeAttrs>();
        mode_ = a.mode;
        channels_ = size_t(l.shape.back());
        const FixedType& outT = l.type("result");
        outT_ = outT;
        if (mode_ == QuantizeMode::Fixed) {
            for (size_t e = 0; e < a.width.size(); ++e) {
                types_.push_back(a.elementType(e));
                zero_.push_back(a.width[e] == 0);
            }
            prepareVectorised();
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
        prepareVectorised();
    }

    void fixed(const std::vector<const double*>& inputs, double* out, size_t rows, LayerStats& st) const override {
        const double* in = inputs[0];
        const size_t n = size_t(layer_.outSize());
        uint64_t ov = 0;
        if (vectorFixed_) {
            // One type for all: two vectorised casts, the first one's overflow not counted
            // (it is the quantiser's own, as in element()).
            std::vector<double>& mid = scratch(2);
            mid.resize(rows * n);
            toElement_.run(in, mid.data(), rows * n, false);
            st.resultOverflows += toResult_.run(mid.data(), out, rows * n, false);
            return;
        }
        if (twoLevels_) {
            // One threshold per channel (or one for all): a select the compiler vectorises.
            const size_t period = thresholdD_.size();
            const int64_t ups = selectAtThresholds(in, out, rows * n / period, period, thresholdD_.data(), loD_.data(),
                                                   hiD_.data());
            st.resultOverflows += uint64_t(ups) * levelOverflow_[1] + (rows * n - uint64_t(ups)) * levelOverflow_[0];
            return;
        }
        for (size_t k = 0; k < rows * n; ++k) {
            bool o = false;
            int64_t y = 0;
            element(int64_t(in[k]), k % n, y, o);
            out[k] = double(y);
            ov += o;
        }
        st.resultOverflows += ov;
    }

    bool fixedElement(int64_t x, size_t e, int64_t& y, bool& overflow) const override {
        element(x, e, y, overflow);
        return true;
    }
    int thresholdLevels() const override { return mode_ == QuantizeMode::Threshold ? int(levelRaw_.size()) : 0; }
    size_t elementPeriod() const override {
        if (mode_ == QuantizeMode::Fixed) return types_.size() == 1 ? 1 : size_t(layer_.outSize());
        return rawThresholds_.size() / n_ == 1 ? 1 : channels_;
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
    // The reference arithmetic of element e (index within the sample).
    void element(int64_t x, size_t e, int64_t& y, bool& overflow) const {
        if (mode_ == QuantizeMode::Fixed) {
            const size_t k = types_.size() == 1 ? 0 : e;
            overflow = false;
            y = 0;
            if (zero_[k]) return;
            const FixedType& t = types_[k];
            const Int128 v = t.castRaw(Int128(x), ins_[0].type.frac());
            CastStatus cs;
            y = int64_t(outT_.castRaw(v, t.frac(), &cs));
            overflow = cs.overflow;
            return;
        }
        const size_t rowsOfT = rawThresholds_.size() / n_;
        const int64_t* t = rawThresholds_.data() + (rowsOfT == 1 ? 0 : (e % channels_) * n_);
        size_t c = 0;
        for (size_t j = 0; j < n_; ++j) c += x >= t[j];
        y = levelRaw_[c];
        overflow = levelOverflow_[c];
    }

    // The vectorised forms: one fixed type for all elements whose two casts DoubleCaster does
    // exactly over the input type's range, or a single threshold.
    void prepareVectorised() {
        if (emulatorKernelChoice() == "reference") return;
        if (mode_ == QuantizeMode::Fixed) {
            if (types_.size() != 1 || zero_[0]) return;
            const double maxIn = double(maxAbsRaw(ins_[0].type));
            toElement_ = DoubleCaster(types_[0], ins_[0].type.frac(), maxIn);
            toResult_ = DoubleCaster(layer_.type("result"), types_[0].frac(), double(maxAbsRaw(types_[0])));
            vectorFixed_ = toElement_.vectorised() && toResult_.vectorised();
            return;
        }
        // Thresholds as doubles compare exactly with the exact-integer inputs (below 2^53): a
        // threshold beyond that range rounds to a double that is still beyond every input.
        // One entry per channel (a shared threshold repeated), so that rows run as vectors.
        const bool shared = rawThresholds_.size() == 1;
        twoLevels_ = n_ == 1 && levelRaw_.size() == 2 && size_t(layer_.outSize()) % channels_ == 0;
        for (size_t c = 0; twoLevels_ && c < channels_; ++c) {
            thresholdD_.push_back(double(rawThresholds_[shared ? 0 : c]));
            loD_.push_back(double(levelRaw_[0]));
            hiD_.push_back(double(levelRaw_[1]));
        }
    }

    FixedType outT_;
    bool vectorFixed_ = false, twoLevels_ = false;
    std::vector<double> thresholdD_, loD_, hiD_;   // twoLevels_: raw threshold and levels per channel
    DoubleCaster toElement_, toResult_;
    QuantizeMode mode_ = QuantizeMode::Fixed;
    size_t channels_ = 1, n_ = 0;
    std::vector<FixedType> types_;
    std::vector<bool> zero_;
    std::vector<int64_t> rawThresholds_, levelRaw_;
    std::vector<bool> levelOverflow_;
};

}  // namespace

std::unique_ptr<Kernel> makeQuantizeKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c) {
    return std::make_unique<QuantizeKernel>(l, std::move(ins), c);
}

}  // namespace tachyon
