// MatMul of two activations (docs/semantics.md, "MatMul"): for every batch position b,
// y[b][m][n] = cast<result>(acc) with acc = 0 followed by
// acc = cast<accum>(acc + cast<accum>(a[b][m][k] * b[b][k][n])) for k in order: Dense's
// multiply-accumulate with the second operand read from an activation instead of weights.
#include "emulator/Cast.h"
#include "emulator/Kernel.h"
#include "util/Error.h"

namespace tachyon {

namespace {

class MatMulKernel : public Kernel {
public:
    MatMulKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c) : Kernel(l, std::move(ins), c) {
        const Shape& a = ins_[0].shape;
        const Shape& b = ins_[1].shape;
        const size_t r = a.size();
        transposeB_ = l.as<MatMulAttrs>().transposeB;
        m_ = a[r - 2];
        k_ = a[r - 1];
        n_ = transposeB_ ? b[r - 2] : b[r - 1];
        batch_ = 1;
        for (size_t d = 0; d + 2 < r; ++d) batch_ *= a[d];
        productFrac_ = ins_[0].type.frac() + ins_[1].type.frac();
        accT_ = l.type("accum");
        if (accT_.width > 62 || ins_[0].type.width + ins_[1].type.width > 62)
            throw Error("layer '" + l.name + "' (MatMul): the accumulator and the product of the two input types are "
                        "limited to 62 bits");
        toAccum_ = Caster(accT_, productFrac_);
        sumToAccum_ = Caster(accT_, accT_.frac());
        toResult_ = Caster(l.type("result"), accT_.frac());
    }

    void fixed(const std::vector<const double*>& in, double* out, size_t rows, LayerStats& st) const override {
        uint64_t accOv = 0, ov = 0;
        const size_t aSize = size_t(batch_) * m_ * k_, bSize = size_t(batch_) * k_ * n_, oSize = size_t(batch_) * m_ * n_;
        for (size_t row = 0; row < rows; ++row)
            for (int bt = 0; bt < batch_; ++bt) {
                const double* A = in[0] + row * aSize + size_t(bt) * m_ * k_;
                const double* B = in[1] + row * bSize + size_t(bt) * k_ * n_;
                double* Y = out + row * oSize + size_t(bt) * m_ * n_;
                for (int i = 0; i < m_; ++i)
                    for (int j = 0; j < n_; ++j) {
                        int64_t acc = 0;
                        for (int k = 0; k < k_; ++k) {
                            const int64_t p = int64_t(A[i * k_ + k]) * int64_t(B[bIndex(k, j)]);
                            acc = sumToAccum_(acc + toAccum_(p, accOv), accOv);
                        }
                        Y[i * n_ + j] = double(toResult_(acc, ov));
                    }
            }
        st.accumOverflows += accOv;
        st.resultOverflows += ov;
    }

    void real(const std::vector<const double*>& in, double* out, size_t rows) const override {
        const size_t aSize = size_t(batch_) * m_ * k_, bSize = size_t(batch_) * k_ * n_, oSize = size_t(batch_) * m_ * n_;
        for (size_t row = 0; row < rows; ++row)
            for (int bt = 0; bt < batch_; ++bt) {
                const double* A = in[0] + row * aSize + size_t(bt) * m_ * k_;
                const double* B = in[1] + row * bSize + size_t(bt) * k_ * n_;
                double* Y = out + row * oSize + size_t(bt) * m_ * n_;
                for (int i = 0; i < m_; ++i)
                    for (int j = 0; j < n_; ++j) {
                        double acc = 0;
                        for (int k = 0; k < k_; ++k) acc += A[i * k_ + k] * B[bIndex(k, j)];
                        Y[i * n_ + j] = acc;
                    }
            }
    }

private:
    size_t bIndex(int k, int j) const { return transposeB_ ? size_t(j) * k_ + k : size_t(k) * n_ + j; }

    bool transposeB_ = false;
    int m_ = 0, k_ = 0, n_ = 0, batch_ = 1, productFrac_ = 0;
    FixedType accT_;
    Caster toAccum_, sumToAccum_, toResult_;
};

}  // namespace

std::unique_ptr<Kernel> makeMatMulKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c) {
    return std::make_unique<MatMulKernel>(l, std::move(ins), c);
}

}  // namespace tachyon
