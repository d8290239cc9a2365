// Elementwise activations. Piecewise-linear ones (linear, relu, relu6, leaky_relu,
// hard_sigmoid) are exact comparisons, shifts and one constant product; the others read
// a lookup table (emulator/Tables.h): sigmoid, tanh, softplus, softsign directly, elu and
// selu for x < 0 (x >= 0 is exact), swish as x times the sigmoid table's entry.
#include "emulator/Cast.h"
#include "emulator/Kernel.h"

#include <algorithm>
#include <cmath>

namespace tachyon {

namespace {

class ActivationKernel : public Kernel {
public:
    ActivationKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c) : Kernel(l, std::move(ins), c) {
        const FixedType& inT = ins_[0].type;
        const FixedType outT = l.type("result");
        const ActAttrs& a = l.as<ActAttrs>();
        kind_ = a.kind;
        fx_ = inT.frac();
        switch (kind_) {
        case ActKind::LeakyReLU:
        case ActKind::HardSigmoid:
        case ActKind::SELU: {
            const FixedType& p = l.type("param");
            paramFrac_ = p.frac();
            if (kind_ == ActKind::LeakyReLU) {
                resultCast_ = Caster(outT, fx_ + p.frac());
            } else if (kind_ == ActKind::HardSigmoid) {
                // slope*x + offset exactly: at frac pf + max(fx, 0).
                resultCast_ = Caster(outT, p.frac() + std::max(fx_, 0));
            } else {
                // x >= 0: lambda * x (frac fx + pf); x < 0: the table entry; both brought to
                // the finer frac.
                common_ = std::max(fx_ + p.frac(), consts_.table.valueType.frac());
                resultCast_ = Caster(outT, common_);
            }
            break;
        }
        case ActKind::Sigmoid:
        case ActKind::Tanh:
        case ActKind::Softplus:
        case ActKind::Softsign:
        case ActKind::ELU:
            // ELU's x >= 0 branch is x itself: compare at the finer of the two fracs.
            common_ = kind_ == ActKind::ELU ? std::max(fx_, consts_.table.valueType.frac()) : consts_.table.valueType.frac();
            resultCast_ = Caster(outT, common_);
            break;
        case ActKind::Swish:
        case ActKind::GELU:
            resultCast_ = Caster(outT, fx_ + consts_.table.valueType.frac());
            break;
        default:
            resultCast_ = Caster(outT, std::max(fx_, 0));
            resultVec_ = DoubleCaster(outT, fx_, double(maxAbsRaw(inT)));
            break;
        }
    }

    void fixed(const std::vector<const double*>& inputs, double* out, size_t rows, LayerStats& st) const override {
        const double* in = inputs[0];
        const size_t count = rows * size_t(layer_.outSize());
        uint64_t ov = 0;
        const int fx = fx_;
        switch (kind_) {
        case ActKind::Linear:
        case ActKind::ReLU:
            if (resultVec_.vectorised()) {
                // cast<result>(max(x, 0)): negatives become 0 before the cast, never overflow.
                ov += resultVec_.run(in, out, count, false, kind_ == ActKind::ReLU);
                break;
            }
            [[fallthrough]];
        case ActKind::ReLU6: {
            // resultCast reads at frac max(fx, 0); for fx < 0 shift the raw up first.
            const int up = std::max(fx, 0) - fx;
            const int64_t six = int64_t(6) << std::max(fx, 0);
            for (size_t k = 0; k < count; ++k) {
                int64_t x = int64_t(in[k]) << up;
                if (kind_ != ActKind::Linear && x < 0) x = 0;
                if (kind_ == ActKind::ReLU6 && x > six) x = six;
                out[k] = double(resultCast_(x, ov));
            }
            break;
        }
        case ActKind::LeakyReLU:
            for (size_t k = 0; k < count; ++k) {
                const int64_t x = int64_t(in[k]);
                const int64_t v = x >= 0 ? x << paramFrac_ : x * consts_.param[0];
                out[k] = double(resultCast_(v, ov));
            }
            break;
        case ActKind::HardSigmoid: {
            // Exact slope*x + offset at frac pf + max(fx, 0) (x*slope has frac fx + pf).
            const int up = std::max(0, -fx), offsetUp = std::max(fx, 0);
            const int64_t one = int64_t(1) << (paramFrac_ + offsetUp);
            for (size_t k = 0; k < count; ++k) {
                int64_t v = ((int64_t(in[k]) * consts_.param[0]) << up) + (consts_.param[1] << offsetUp);
                v = std::clamp<int64_t>(v, 0, one);
                out[k] = double(resultCast_(v, ov));
            }
            break;
        }
        case ActKind::SELU: {
            const int tf = consts_.table.valueType.frac();
            for (size_t k = 0; k < count; ++k) {
                const int64_t x = int64_t(in[k]);
                const int64_t v = x >= 0 ? shiftTo(x * consts_.param[0], fx + paramFrac_, common_)
                                         : shiftTo(consts_.table.lookup(x), tf, common_);
                out[k] = double(resultCast_(v, ov));
            }
            break;
        }
        case ActKind::ELU: {
            const int tf = consts_.table.valueType.frac();
            for (size_t k = 0; k < count; ++k) {
                const int64_t x = int64_t(in[k]);
                const int64_t v = x >= 0 ? shiftTo(x, fx, common_) : shiftTo(consts_.table.lookup(x), tf, common_);
                out[k] = double(resultCast_(v, ov));
            }
            break;
        }
        case ActKind::Swish:
        case ActKind::GELU:   // x * table(x), the table holding sigmoid or Phi
            for (size_t k = 0; k < count; ++k) {
                const int64_t x = int64_t(in[k]);
                out[k] = double(resultCast_(x * consts_.table.lookup(x), ov));
            }
            break;
        default:   // sigmoid, tanh, softplus, softsign
            for (size_t k = 0; k < count; ++k) out[k] = double(resultCast_(consts_.table.lookup(int64_t(in[k])), ov));
            break;
        }
        st.resultOverflows += ov;
    }

    void real(const std::vector<const double*>& inputs, double* out, size_t rows) const override {
        const double* in = inputs[0];
        const ActAttrs& a = layer_.as<ActAttrs>();
        const size_t count = rows * size_t(layer_.outSize());   // not re-read every value
        for (size_t k = 0; k < count; ++k) {
            const double x = in[k];
            double y = x;
            switch (kind_) {
            case ActKind::Linear: break;
            case ActKind::ReLU: y = std::max(x, 0.0); break;
            case ActKind::ReLU6: y = std::clamp(x, 0.0, 6.0); break;
            case ActKind::LeakyReLU: y = x >= 0 ? x : a.alpha * x; break;
            case ActKind::HardSigmoid: y = std::clamp(a.slope * x + a.offset, 0.0, 1.0); break;
            case ActKind::Sigmoid: y = 1.0 / (1.0 + std::exp(-x)); break;
            case ActKind::Tanh: y = std::tanh(x); break;
            case ActKind::ELU: y = x >= 0 ? x : a.alpha * std::expm1(x); break;
            case ActKind::SELU: y = kSeluLambda * (x >= 0 ? x : kSeluAlpha * std::expm1(x)); break;
            case ActKind::Softplus: y = x > 30 ? x : std::log1p(std::exp(x)); break;
            case ActKind::Softsign: y = x / (1.0 + std::fabs(x)); break;
            case ActKind::Swish: y = x / (1.0 + std::exp(-x)); break;
            case ActKind::GELU: y = 0.5 * x * std::erfc(-x / std::sqrt(2.0)); break;
            }
            out[k] = y;
        }
    }

private:
    // A raw at frac `from` as a raw at frac `to` >= from (exact).
    static int64_t shiftTo(int64_t v, int from, int to) { return v * (int64_t(1) << (to - from)); }

    ActKind kind_ = ActKind::Linear;
    int fx_ = 0, paramFrac_ = 0, common_ = 0;
    Caster resultCast_;
    DoubleCaster resultVec_;
};

}  // namespace

std::unique_ptr<Kernel> makeActivationKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c) {
    return std::make_unique<ActivationKernel>(l, std::move(ins), c);
}

}  // namespace tachyon
