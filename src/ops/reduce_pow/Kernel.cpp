// Reduce (sum, mean, max over one axis) and Pow (x^k), as docs/semantics.md defines them:
// sums and products step by step in the accum type, the mean's 1/N an exact shift or the
// reciprocal type's constant (ir/ReducePow.h), one cast to the result type.
#include "emulator/Cast.h"
#include "emulator/Kernel.h"
#include "ir/ReducePow.h"

#include <algorithm>
#include <cmath>

namespace tachyon {

namespace {

class ReduceKernel : public Kernel {
public:
    ReduceKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c) : Kernel(l, std::move(ins), c) {
        attrs_ = l.as<ReduceAttrs>();
        dims_ = reduceDims(attrs_, ins_[0].shape);
        if (attrs_.op == ReduceOp::Mean) factor_ = meanFactor(l, dims_.n);
    }

    void fixed(const std::vector<const double*>& in, double* out, size_t rows, LayerStats& st) const override {
        const FixedType& resT = layer_.type("result");
        const int inF = ins_[0].type.frac();
        const size_t inSize = size_t(dims_.outer) * dims_.n * dims_.inner, outSize = size_t(dims_.outer) * dims_.inner;
        for (size_t r = 0; r < rows; ++r) {
            const double* x = in[0] + r * inSize;
            double* y = out + r * outSize;
            for (int o = 0; o < dims_.outer; ++o)
                for (int i = 0; i < dims_.inner; ++i) {
                    auto at = [&](int k) { return Int128(int64_t(x[(size_t(o) * dims_.n + k) * dims_.inner + i])); };
                    CastStatus cs;
                    Int128 v;
                    if (attrs_.op == ReduceOp::Max) {
                        v = at(0);
                        for (int k = 1; k < dims_.n; ++k) v = std::max(v, at(k));
                        v = resT.castRaw(v, inF, &cs);
                    } else {
                        const FixedType& accT = layer_.type("accum");
                        const int accF = accT.frac();
                        Int128 acc = 0;
                        for (int k = 0; k < dims_.n; ++k) {
                            // acc + x at the finer of the two fracs, exactly, then cast to accum
                            const int f = std::max(accF, inF);
                            CastStatus as;
                            acc = accT.castRaw((acc << (f - accF)) + (at(k) << (f - inF)), f, &as);
                            st.accumOverflows += as.overflow;
                        }
                        v = attrs_.op == ReduceOp::Sum ? resT.castRaw(acc, accF, &cs)
                                                       : resT.castRaw(acc * factor_.raw, accF + factor_.frac, &cs);
                    }
                    st.resultOverflows += cs.overflow;
                    y[size_t(o) * dims_.inner + i] = double(int64_t(v));
                }
        }
    }

    void real(const std::vector<const double*>& in, double* out, size_t rows) const override {
        const size_t inSize = size_t(dims_.outer) * dims_.n * dims_.inner, outSize = size_t(dims_.outer) * dims_.inner;
        for (size_t r = 0; r < rows; ++r)
            for (int o = 0; o < dims_.outer; ++o)
                for (int i = 0; i < dims_.inner; ++i) {
                    const double* x = in[0] + r * inSize + size_t(o) * dims_.n * dims_.inner + i;
                    double v = x[0];
                    for (int k = 1; k < dims_.n; ++k)
                        v = attrs_.op == ReduceOp::Max ? std::max(v, x[size_t(k) * dims_.inner]) : v + x[size_t(k) * dims_.inner];
                    out[r * outSize + size_t(o) * dims_.inner + i] = attrs_.op == ReduceOp::Mean ? v / dims_.n : v;
                }
    }

private:
    ReduceAttrs attrs_;
    ReduceDims dims_;
    MeanFactor factor_;
};

class PowKernel : public Kernel {
public:
    PowKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c) : Kernel(l, std::move(ins), c) {
        exponent_ = l.as<PowAttrs>().exponent;
    }

    void fixed(const std::vector<const double*>& in, double* out, size_t rows, LayerStats& st) const override {
        const FixedType& resT = layer_.type("result");
        const FixedType& accT = layer_.type("accum");
        const int inF = ins_[0].type.frac();
        const size_t n = rows * size_t(layer_.outSize());
        for (size_t k = 0; k < n; ++k) {
            const Int128 x = int64_t(in[0][k]);
            Int128 p = x;   // raw at pF fraction bits: x itself first, then accum values
            int pF = inF;
            for (int e = 1; e < exponent_; ++e) {
                CastStatus as;
                p = accT.castRaw(p * x, pF + inF, &as);
                pF = accT.frac();
                st.accumOverflows += as.overflow;
            }
            CastStatus cs;
            out[k] = double(int64_t(resT.castRaw(p, pF, &cs)));
            st.resultOverflows += cs.overflow;
        }
    }

    void real(const std::vector<const double*>& in, double* out, size_t rows) const override {
        const size_t n = rows * size_t(layer_.outSize());
        for (size_t k = 0; k < n; ++k) out[k] = std::pow(in[0][k], exponent_);
    }

private:
    int exponent_ = 2;
};

}  // namespace

std::unique_ptr<Kernel> makeReduceKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c) {
    return std::make_unique<ReduceKernel>(l, std::move(ins), c);
}

std::unique_ptr<Kernel> makePowKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c) {
    return std::make_unique<PowKernel>(l, std::move(ins), c);
}

}  // namespace tachyon
