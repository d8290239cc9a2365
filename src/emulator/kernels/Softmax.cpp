// Softmax over the last axis, for every position of the other axes:
// m = max raw(x_i); e_i = exp_table[idx(m - raw(x_i))]; S = sum e_i (exact);
// r = inv_table[idx(S)]; y_i = cast<result>(e_i * r). Tables from emulator/Tables.h.
#include "emulator/Cast.h"
#include "emulator/Kernel.h"

#include <algorithm>
#include <cmath>

namespace tachyon {

namespace {

class SoftmaxKernel : public Kernel {
public:
    SoftmaxKernel(const Layer& l, std::vector<KernelInput> ins) : Kernel(l, std::move(ins)) {
        n_ = l.shape.back();
        groups_ = l.outSize() / n_;
        consts_.hasSoftmax = true;
        consts_.softmax = buildSoftmaxTables(l, ins_[0].type, n_);
        // y = e * r: exact product of the two table entries.
        resultCast_ = Caster(l.type("result"), consts_.softmax.exp.valueType.frac() + consts_.softmax.inv.valueType.frac());
    }

    void fixed(const std::vector<const double*>& inputs, double* out, size_t rows, LayerStats& st) const override {
        const SoftmaxTables& t = consts_.softmax;
        std::vector<int64_t> e(size_t(n_), 0);
        uint64_t ov = 0;
        for (size_t g = 0; g < rows * size_t(groups_); ++g) {
            const double* x = inputs[0] + g * size_t(n_);
            int64_t m = int64_t(x[0]);
            for (int i = 1; i < n_; ++i) m = std::max(m, int64_t(x[i]));
            int64_t sum = 0;
            for (int i = 0; i < n_; ++i) {
                e[size_t(i)] = t.exp.lookup(m - int64_t(x[i]));
                sum += e[size_t(i)];
            }
            const int64_t inv = t.inv.lookup(sum);
            for (int i = 0; i < n_; ++i) out[g * size_t(n_) + size_t(i)] = double(resultCast_(e[size_t(i)] * inv, ov));
        }
        st.resultOverflows += ov;
    }

    void real(const std::vector<const double*>& inputs, double* out, size_t rows) const override {
        for (size_t g = 0; g < rows * size_t(groups_); ++g) {
            const double* x = inputs[0] + g * size_t(n_);
            double* y = out + g * size_t(n_);
            const double m = *std::max_element(x, x + n_);
            double s = 0;
            for (int i = 0; i < n_; ++i) s += (y[i] = std::exp(x[i] - m));
            for (int i = 0; i < n_; ++i) y[i] /= s;
        }
    }

private:
    int n_ = 1, groups_ = 1;
    Caster resultCast_;
};

}  // namespace

std::unique_ptr<Kernel> makeSoftmaxKernel(const Layer& l, std::vector<KernelInput> ins) {
    return std::make_unique<SoftmaxKernel>(l, std::move(ins));
}

}  // namespace tachyon
