// BatchNormalization (inference form): y = cast<result>(x * scale_c + shift_c), one exact
// product and sum, with c the channel (last axis).
#include "emulator/Cast.h"
#include "emulator/Kernel.h"
#include "emulator/ThresholdSelect.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace tachyon {

namespace {

class BatchNormKernel : public Kernel {
public:
    BatchNormKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c) : Kernel(l, std::move(ins), c) {
        const FixedType& sT = l.type("scale");
        const FixedType& hT = l.type("shift");
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

    // FINN's threshold folding, exactly: BatchNorm followed by a two-level threshold Quantize
    // becomes one threshold per channel on the BatchNorm's input. x * scale + shift is monotone
    // in x and so is its rounding, so the inputs whose BatchNorm value does not overflow form
    // an interval [okLo, okHi] (found by bisection from the channel's zero crossing), and on it
    // the Quantize's count is monotone in x: the pair switches level once, at the smallest
    // input that gives the interval's top level (bisection again, on the two layers' own
    // element arithmetic). Inputs outside the interval take the step-by-step path, with its
    // overflow counts. Not folded when a level overflows `result`, or when the zero crossing
    // itself overflows.
    bool foldFollowers(const std::vector<const Kernel*>& followers) override {
        const std::string choice = emulatorKernelChoice();
        if (followers.size() != 1 || followers[0]->thresholdLevels() != 2 || choice == "reference" || choice == "unfolded")
            return false;
        if (buildFold(*followers[0])) return true;
        for (auto* v : {&foldAt_, &foldBelow_, &foldAbove_, &foldOkLo_, &foldOkHi_}) v->clear();
        return false;
    }

    void fixedFolded(const std::vector<const double*>& in, double* out, size_t rows, LayerStats* st) const override {
        if (foldAt_.empty()) return fixed(in, out, rows, st[0]);
        const size_t n = size_t(layer_.outSize()), period = foldAt_.size(), count = rows * n;
        const double* x = in[0];
        // Inputs whose BatchNorm value overflows: step by step, with both layers' counts.
        uint64_t bnOverflows = 0, levelOverflows = 0;
        selectAtThresholdsChecked(x, out, count / period, period, foldAt_.data(), foldBelow_.data(), foldAbove_.data(),
                                  foldOkLo_.data(), foldOkHi_.data(), [&](size_t k, size_t c) {
                                      int64_t bn = 0, y = 0;
                                      bool o1 = false, o2 = false;
                                      element(int64_t(x[k]), c, bn, o1);
                                      follower_->fixedElement(bn, c, y, o2);
                                      out[k] = double(y);
                                      bnOverflows += o1;
                                      levelOverflows += o2;
                                  });
        st[0].resultOverflows += bnOverflows;
        st[1].resultOverflows += levelOverflows;
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
    // foldFollowers' tables for follower q; false (tables partly filled) when it cannot fold.
    bool buildFold(const Kernel& q) {
        const FixedType& inT = ins_[0].type;
        if (inT.width > 52 || size_t(channels_) % q.elementPeriod() != 0) return false;
        follower_ = &q;
        const int64_t lo = int64_t(inT.minRaw()), hi = int64_t(inT.maxRaw());
        for (size_t c = 0; c < size_t(channels_); ++c) {
            auto overflows = [&](int64_t x) {
                int64_t y = 0;
                bool o = false;
                element(x, c, y, o);
                return o;
            };
            // The channel's zero crossing x = -shift / scale, clamped to the input range.
            const double s = double(consts_.scale[c]) * std::ldexp(1.0, frac_ - productFrac_);
            const double h = double(consts_.bias[c]) * std::ldexp(1.0, frac_ - shiftFrac_);
            const int64_t mid = s == 0 ? 0 : int64_t(std::clamp(std::round(-h / s), double(lo), double(hi)));
            if (overflows(mid)) return false;
            int64_t a = lo, b = mid;   // okLo: the first input that does not overflow
            if (!overflows(lo)) b = lo;
            while (b - a > 1) {
                const int64_t m = a + (b - a) / 2;
                (overflows(m) ? a : b) = m;
            }
            const int64_t okLo = b;
            a = mid, b = hi;           // okHi: the last input that does not overflow
            if (!overflows(hi)) a = hi;
            while (b - a > 1) {
                const int64_t m = a + (b - a) / 2;
                (overflows(m) ? b : a) = m;
            }
            const int64_t okHi = a;
            bool levelOverflow = false;
            auto pair = [&](int64_t x) {
                int64_t bn = 0, y = 0;
                bool o1 = false, o2 = false;
                element(x, c, bn, o1);
                q.fixedElement(bn, c, y, o2);
                levelOverflow = levelOverflow || o2;
                return y;
            };
            const int64_t yLo = pair(okLo), yHi = pair(okHi);
            if (levelOverflow) return false;
            a = okLo, b = okHi;   // pair(a) == yLo, pair(b) == yHi: bisect to the switch
            if (yLo == yHi) b = okLo;
            while (b - a > 1) {
                const int64_t m = a + (b - a) / 2;
                (pair(m) == yHi ? b : a) = m;
            }
            foldAt_.push_back(double(b));
            foldBelow_.push_back(double(yLo));
            foldAbove_.push_back(double(yHi));
            foldOkLo_.push_back(double(okLo));
            foldOkHi_.push_back(double(okHi));
        }
        return true;
    }

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
    // Folded with a two-level threshold (foldFollowers): per channel, the input from which the
    // pair gives `above`, and the level below it (inputs within [okLo, okHi]).
    std::vector<double> foldAt_, foldBelow_, foldAbove_;
    std::vector<double> foldOkLo_, foldOkHi_;   // the inputs whose BatchNorm value does not overflow
    const Kernel* follower_ = nullptr;
};

}  // namespace

std::unique_ptr<Kernel> makeBatchNormKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c) {
    return std::make_unique<BatchNormKernel>(l, std::move(ins), c);
}

}  // namespace tachyon
