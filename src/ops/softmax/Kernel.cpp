// Softmax over the last axis, for every position of the other axes. The implementation is
// the layer's `softmax.implementation` (docs/semantics.md, "Softmax variants"):
//   tachyon (default): m = max raw(x_i); e_i = exp_table[idx(m - raw(x_i))]; S = sum e_i
//     (exact); r = inv_table[idx(S)]; y_i = cast<result>(e_i * r);
//   stable / latency: hls4ml's softmax_stable / softmax_latency, bit for bit: exp tables
//     indexed by the top bits of cast<inp_norm>(max - x) (stable) or of x (latency), the
//     entries cast to accum_t, summed by hls4ml's adder tree in accum_t, the sum cast to
//     inv_inp_t and its top bits index the inverse table;
//   legacy: hls4ml's softmax_legacy (sum over j of exp(x_j - x_i), then its inverse);
//   argmax: one-hot of the first maximum (hls4ml's softmax_argmax).
// Tables from emulator/Tables.h.
#include "emulator/Cast.h"
#include "emulator/Kernel.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>

namespace tachyon {

namespace {

class SoftmaxKernel : public Kernel {
public:
    SoftmaxKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c) : Kernel(l, std::move(ins), c) {
        n_ = l.shape.back();
        groups_ = l.outSize() / n_;
        const FixedType& inT = ins_[0].type;
        const SoftmaxTables& t = consts_.softmax;
        const FixedType& outT = l.type("result");
        impl_ = t.implementation;
        switch (impl_) {
        case Impl::Tachyon:
            // y = e * r: exact product of the two table entries.
            resultCast_ = Caster(outT, t.exp.valueType.frac() + t.inv.valueType.frac());
            break;
        case Impl::Stable:
        case Impl::Latency:
            normCast_ = Caster(t.normType, inT.frac());
            entryCast_ = Caster(t.accumType, t.exp.valueType.frac());
            sumCast_ = Caster(t.accumType, t.accumType.frac());
            invInpCast_ = Caster(t.invInpType, t.accumType.frac());
            resultCast_ = Caster(outT, t.accumType.frac() + t.inv.valueType.frac());
            if (t.accumType.width > 62 || t.invInpType.width > 62 || t.normType.width > 62)
                throw Error("layer '" + l.name + "' (Softmax): accum_t, inv_inp_t and the input are limited to 62 bits");
            wideProduct_ = t.accumType.width + t.inv.valueType.width > 62;
            break;
        case Impl::Legacy:
            sumCast_ = Caster(t.legacyType, t.legacyType.frac());
            resultCast_ = Caster(outT, t.legacyType.frac());
            one_ = int64_t(t.legacyType.castRaw(1, 0));
            break;
        case Impl::Argmax: {
            CastStatus cs;
            one_ = int64_t(outT.castRaw(1, 0, &cs));
            oneOverflows_ = cs.overflow;
            break;
        }
        }
        inFrac_ = inT.frac();
    }

    void fixed(const std::vector<const double*>& inputs, double* out, size_t rows, LayerStats& st) const override {
        uint64_t ov = 0, accOv = 0;
        switch (impl_) {
        case Impl::Tachyon: tachyonRows(inputs[0], out, rows, ov); break;
        case Impl::Stable:
        case Impl::Latency: hls4mlRows(inputs[0], out, rows, ov, accOv); break;
        case Impl::Legacy: legacyRows(inputs[0], out, rows, ov, accOv); break;
        case Impl::Argmax: argmaxRows(inputs[0], out, rows, ov); break;
        }
        st.resultOverflows += ov;
        st.accumOverflows += accOv;
    }

    void real(const std::vector<const double*>& inputs, double* out, size_t rows) const override {
        for (size_t g = 0; g < rows * size_t(groups_); ++g) {
            const double* x = inputs[0] + g * size_t(n_);
            double* y = out + g * size_t(n_);
            if (impl_ == Impl::Argmax) {
                const int k = int(std::max_element(x, x + n_) - x);   // the first maximum
                for (int i = 0; i < n_; ++i) y[i] = i == k ? 1.0 : 0.0;
                continue;
            }
            const double m = *std::max_element(x, x + n_);
            double s = 0;
            for (int i = 0; i < n_; ++i) s += (y[i] = std::exp(x[i] - m));
            for (int i = 0; i < n_; ++i) y[i] /= s;
        }
    }

private:
    using Impl = SoftmaxImpl;

    void tachyonRows(const double* in, double* out, size_t rows, uint64_t& ov) const {
        const SoftmaxTables& t = consts_.softmax;
        std::vector<int64_t> e(size_t(n_), 0);
        for (size_t g = 0; g < rows * size_t(groups_); ++g) {
            const double* x = in + g * size_t(n_);
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
    }

    // hls4ml softmax_stable / softmax_latency.
    void hls4mlRows(const double* in, double* out, size_t rows, uint64_t& ov, uint64_t& accOv) const {
        const SoftmaxTables& t = consts_.softmax;
        const bool stable = impl_ == Impl::Stable;
        std::vector<int64_t> e(size_t(n_), 0);
        for (size_t g = 0; g < rows * size_t(groups_); ++g) {
            const double* x = in + g * size_t(n_);
            int64_t m = int64_t(x[0]);
            if (stable)
                for (int i = 1; i < n_; ++i) m = std::max(m, int64_t(x[i]));
            for (int i = 0; i < n_; ++i) {
                // d = cast<inp_norm_t>(x_max - x_i): same LSB, wraps into the unsigned type.
                const int64_t key = stable ? normCast_(m - int64_t(x[i]), accOv) : int64_t(x[i]);
                e[size_t(i)] = entryCast_(t.exp.lookup(key), accOv);
            }
            const int64_t sum =
                hls4mlReduce(e.data(), n_, [&](int64_t a, int64_t b) { return sumCast_(a + b, accOv); });
            const int64_t s = invInpCast_(sum, accOv);
            const int64_t r = t.inv.lookup(s);
            for (int i = 0; i < n_; ++i)
                out[g * size_t(n_) + size_t(i)] = double(product(e[size_t(i)], r, ov));
        }
    }

    // hls4ml softmax_legacy: exp_res_i = sum_j exp_table[trunc((x_j - x_i) * N / 16) + N / 2]
    // (1 for j = i), each addition cast to table_t; y_i = inv_table[trunc(exp_res_i * M / 64)].
    void legacyRows(const double* in, double* out, size_t rows, uint64_t& ov, uint64_t& accOv) const {
        const SoftmaxTables& t = consts_.softmax;
        const int ft = t.legacyType.frac();
        for (size_t g = 0; g < rows * size_t(groups_); ++g) {
            const double* x = in + g * size_t(n_);
            for (int i = 0; i < n_; ++i) {
                int64_t acc = 0;
                for (int j = 0; j < n_; ++j) {
                    int64_t term = one_;
                    if (i != j) {
                        const Int128 d = Int128(int64_t(x[j]) - int64_t(x[i]));
                        term = t.exp.lookup(int64_t(truncDiv(d * t.exp.size, 16, inFrac_)));
                    }
                    acc = sumCast_(acc + term, accOv);
                }
                const int64_t k = int64_t(truncDiv(Int128(acc) * t.inv.size, 64, ft));
                out[g * size_t(n_) + size_t(i)] = double(resultCast_(t.inv.lookup(k), ov));
            }
        }
    }

    // hls4ml softmax_argmax: res = 0, res[first index of the maximum] = (res_T)1.
    void argmaxRows(const double* in, double* out, size_t rows, uint64_t& ov) const {
        for (size_t g = 0; g < rows * size_t(groups_); ++g) {
            const double* x = in + g * size_t(n_);
            int k = 0;
            for (int i = 1; i < n_; ++i)
                if (x[i] > x[k]) k = i;
            for (int i = 0; i < n_; ++i) out[g * size_t(n_) + size_t(i)] = i == k ? double(one_) : 0.0;
            ov += oneOverflows_;
        }
    }

    // trunc(num * 2^-frac / den) towards zero (C integer division, as ap_fixed's operator/
    // and its conversion to int).
    static Int128 truncDiv(Int128 num, int den, int frac) {
        Int128 d = den;
        if (frac >= 0) d <<= frac;
        else num *= Int128(1) << (-frac);
        return num / d;
    }
    // cast<result>(e * r), the product exact (128 bits when the operands are wide).
    int64_t product(int64_t e, int64_t r, uint64_t& ov) const {
        if (!wideProduct_) return resultCast_(e * r, ov);
        CastStatus cs;
        const int64_t y = int64_t(resultCast_.dst.castRaw(Int128(e) * r, resultCast_.srcFrac, &cs));
        ov += cs.overflow;
        return y;
    }

    Impl impl_ = Impl::Tachyon;
    int n_ = 1, groups_ = 1, inFrac_ = 0;
    Caster resultCast_, normCast_, entryCast_, sumCast_, invInpCast_;
    int64_t one_ = 0;
    uint64_t oneOverflows_ = 0;
    bool wideProduct_ = false;
};

}  // namespace

std::unique_ptr<Kernel> makeSoftmaxKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c) {
    return std::make_unique<SoftmaxKernel>(l, std::move(ins), c);
}

}  // namespace tachyon
