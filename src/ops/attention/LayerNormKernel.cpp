// LayerNormalization over the last axis (docs/semantics.md, "LayerNormalization"). For
// each position of the other axes, with x_i in the input type and n features:
//   mean = cast<accum>(sum x_i / n)                      (exact sum, rational rounding)
//   d_i  = cast<accum>(x_i - mean)
//   var  = cast<accum>(sum d_i^2 / n)                    (exact sum, rational rounding)
//   v    = var + cast<accum>(epsilon)                    (exact; v <= 0 taken as one LSB)
//   v = m * 2^(2h) with m in [1, 4): r = table[idx] * 2^-h, the table holding
//       cast<table>(1 / sqrt(m)) at the centre of each of its `size` mantissa bins
//   y_i  = cast<result>(d_i * r * gamma_i + beta_i)      (one exact product and sum)
// The table is indexed by the parity of v's exponent and the bits below v's leading one, so
// 1/sqrt(v) has the same relative accuracy (about 2^-(log2(size/2)+1)) at every scale.
#include "emulator/Cast.h"
#include "emulator/Kernel.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace tachyon {

namespace {

int floorLog2(Int128 v) {   // v > 0
    int p = -1;
    while (v > 0) {
        v >>= 1;
        ++p;
    }
    return p;
}

}  // namespace

namespace {

class LayerNormKernel : public Kernel {
public:
    LayerNormKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c) : Kernel(l, std::move(ins), c) {
        n_ = l.shape.back();
        accT_ = l.type("accum");
        const FixedType& inT = ins_[0].type;
        const FixedType& tT = l.type("table");
        const FixedType& sT = l.type("scale");
        const FixedType& bT = l.type("bias");
        // The exact d_i * r * gamma_i + beta_i must fit 128 bits: product bits, the shift by
        // -h for a variance below 1 (|h| <= (frac(accum) + 2) / 2), and beta's alignment.
        const int bits = accT_.width + tT.width + sT.width + (std::abs(accT_.frac()) + 2) / 2 + std::max(bT.frac(), 0) +
                         bT.width + 4;
        if (bits > 124 || inT.width > 62 || accT_.width > 62)
            throw Error("layer '" + l.name + "' (LayerNormalization): accum, table, scale and bias types too wide for "
                        "the exact 128-bit product (" + std::to_string(bits) + " bits needed, 124 available)");
        // The table holds 2 * 2^indexBits entries (ops/attention/Lower.cpp).
        while ((2 << indexBits_) < consts_.table.size) ++indexBits_;
        epsRaw_ = int64_t(accT_.castDouble(l.as<LayerNormAttrs>().epsilon));
        inFrac_ = inT.frac();
    }

    void fixed(const std::vector<const double*>& in, double* out, size_t rows, LayerStats& st) const override {
        const FixedType& outT = layer_.type("result");
        const int fa = accT_.frac(), ft = consts_.table.valueType.frac(), fg = layer_.type("scale").frac();
        const int fb = layer_.type("bias").frac();
        const int fd = std::max(inFrac_, fa);
        const size_t groups = rows * size_t(layer_.outSize() / n_);
        std::vector<Int128> d(static_cast<size_t>(n_));
        uint64_t accOv = 0, ov = 0;
        for (size_t g = 0; g < groups; ++g) {
            const double* x = in[0] + g * size_t(n_);
            double* y = out + g * size_t(n_);
            Int128 sum = 0;
            for (int i = 0; i < n_; ++i) sum += Int128(int64_t(x[i]));
            CastStatus cs;
            const Int128 mean = castRational(accT_, sum, inFrac_, n_, &cs);
            accOv += cs.overflow;
            Int128 squares = 0;
            for (int i = 0; i < n_; ++i) {
                CastStatus c2;
                d[size_t(i)] = accT_.castRaw((Int128(int64_t(x[i])) << (fd - inFrac_)) - (mean << (fd - fa)), fd, &c2);
                accOv += c2.overflow;
                squares += d[size_t(i)] * d[size_t(i)];
            }
            CastStatus c3;
            const Int128 var = castRational(accT_, squares, 2 * fa, n_, &c3);
            accOv += c3.overflow;
            Int128 v = var + epsRaw_;
            if (v <= 0) v = 1;
            // v = v_raw * 2^-fa = m * 2^e, m in [1, 2); e = 2h + parity.
            const int p = floorLog2(v), e = p - fa;
            const int parity = ((e % 2) + 2) % 2, h = (e - parity) / 2;
            const int64_t j = int64_t(p >= indexBits_ ? v >> (p - indexBits_) : v << (indexBits_ - p)) &
                              ((int64_t(1) << indexBits_) - 1);
            const Int128 entry = consts_.table.values[size_t((int64_t(parity) << indexBits_) + j)];
            // d * entry * gamma at frac fa + ft + fg + h (h < 0: shifted up instead).
            const int pf = fa + ft + fg + std::max(h, 0);
            const int fm = std::max(pf, fb);
            for (int i = 0; i < n_; ++i) {
                Int128 prod = d[size_t(i)] * entry * Int128(consts_.scale[size_t(i)]);
                if (h < 0) prod <<= -h;
                const Int128 total = (prod << (fm - pf)) + (Int128(consts_.bias[size_t(i)]) << (fm - fb));
                CastStatus c4;
                y[i] = double(int64_t(outT.castRaw(total, fm, &c4)));
                ov += c4.overflow;
            }
        }
        st.accumOverflows += accOv;
        st.resultOverflows += ov;
    }

    void real(const std::vector<const double*>& in, double* out, size_t rows) const override {
        const auto& gamma = layer_.param("scale");
        const auto& beta = layer_.param("bias");
        const double eps = layer_.as<LayerNormAttrs>().epsilon;
        const size_t groups = rows * size_t(layer_.outSize() / n_);
        for (size_t g = 0; g < groups; ++g) {
            const double* x = in[0] + g * size_t(n_);
            double* y = out + g * size_t(n_);
            double mean = 0, var = 0;
            for (int i = 0; i < n_; ++i) mean += x[i];
            mean /= n_;
            for (int i = 0; i < n_; ++i) var += (x[i] - mean) * (x[i] - mean);
            var /= n_;
            const double r = 1.0 / std::sqrt(var + eps);
            for (int i = 0; i < n_; ++i) y[i] = (x[i] - mean) * r * gamma[size_t(i)] + beta[size_t(i)];
        }
    }

private:
    int n_ = 1, indexBits_ = 0, inFrac_ = 0;
    int64_t epsRaw_ = 0;
    FixedType accT_;
};

}  // namespace

std::unique_ptr<Kernel> makeLayerNormKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c) {
    return std::make_unique<LayerNormKernel>(l, std::move(ins), c);
}

}  // namespace tachyon
