// Elementwise merges of inputs of one shape (Keras Add, Subtract, Multiply, Average,
// Maximum, Minimum): the exact sum, difference, product, mean or extreme of the input
// values, cast once to the result type.
#include "emulator/Cast.h"
#include "emulator/Kernel.h"

#include <algorithm>

namespace tachyon {

namespace {

class MergeKernel : public Kernel {
public:
    MergeKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c) : Kernel(l, std::move(ins), c) {
        op_ = l.as<MergeAttrs>().op;
        for (const auto& in : ins_) {
            fracs_.push_back(in.type.frac());
            common_ = std::max(common_, in.type.frac());
            productFrac_ += in.type.frac();
        }
    }

    void fixed(const std::vector<const double*>& in, double* out, size_t rows, LayerStats& st) const override {
        const FixedType& outT = layer_.type("result");
        const size_t n = rows * size_t(layer_.outSize());
        uint64_t ov = 0;
        for (size_t k = 0; k < n; ++k) {
            // Every operand at the common frac (exact), except for the product.
            auto at = [&](size_t i) { return Int128(int64_t(in[i][k])) << (common_ - fracs_[i]); };
            Int128 v = at(0);
            int frac = common_;
            Int128 den = 1;
            switch (op_) {
            case MergeOp::Add:
            case MergeOp::Average:
                for (size_t i = 1; i < in.size(); ++i) v += at(i);
                if (op_ == MergeOp::Average) den = Int128(in.size());
                break;
            case MergeOp::Subtract: v -= at(1); break;
            case MergeOp::Maximum: for (size_t i = 1; i < in.size(); ++i) v = std::max(v, at(i)); break;
            case MergeOp::Minimum: for (size_t i = 1; i < in.size(); ++i) v = std::min(v, at(i)); break;
            case MergeOp::Multiply:
                v = int64_t(in[0][k]);
                for (size_t i = 1; i < in.size(); ++i) v *= int64_t(in[i][k]);
                frac = productFrac_;
                break;
            }
            CastStatus cs;
            out[k] = double(int64_t(castRational(outT, v, frac, den, &cs)));
            ov += cs.overflow;
        }
        st.resultOverflows += ov;
    }

    void real(const std::vector<const double*>& in, double* out, size_t rows) const override {
        const size_t n = rows * size_t(layer_.outSize());
        for (size_t k = 0; k < n; ++k) {
            double v = in[0][k];
            for (size_t i = 1; i < in.size(); ++i) {
                const double x = in[i][k];
                switch (op_) {
                case MergeOp::Add:
                case MergeOp::Average: v += x; break;
                case MergeOp::Subtract: v -= x; break;
                case MergeOp::Multiply: v *= x; break;
                case MergeOp::Maximum: v = std::max(v, x); break;
                case MergeOp::Minimum: v = std::min(v, x); break;
                }
            }
            out[k] = op_ == MergeOp::Average ? v / double(in.size()) : v;
        }
    }

private:
    MergeOp op_ = MergeOp::Add;
    std::vector<int> fracs_;
    int common_ = -1000, productFrac_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> makeMergeKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c) {
    return std::make_unique<MergeKernel>(l, std::move(ins), c);
}

}  // namespace tachyon
