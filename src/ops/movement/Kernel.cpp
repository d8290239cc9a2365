// Layers that only move values: Input, Reshape, Transpose, ZeroPadding, UpSampling
// (nearest) and Concatenate. Each output element is one input element (or a padding
// zero), found through an index map built once, cast to the result type when that
// differs from the input's (the precision pass gives Reshape, Transpose, ZeroPadding and
// UpSampling their input's type, so only hand-set types and Concatenate cast).
#include "emulator/Cast.h"
#include "emulator/Kernel.h"

#include "util/Error.h"

namespace tachyon {

namespace {

std::vector<int> stridesOf(const Shape& s) {
    std::vector<int> st(s.size(), 1);
    for (size_t d = s.size(); d-- > 1;) st[d - 1] = st[d] * s[d];
    return st;
}

long long sizeOf(const Shape& s) {
    long long n = 1;
    for (int d : s) n *= d;
    return n;
}

class MovementKernel : public Kernel {
public:
    MovementKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c) : Kernel(l, std::move(ins), c) {
        const Shape& out = l.shape;
        const size_t n = size_t(l.outSize());
        for (const auto& in : ins_) inSizes_.push_back(size_t(sizeOf(in.shape)));
        source_.assign(n, -1);
        operand_.assign(n, 0);
        const std::vector<int> outStrides = stridesOf(out);
        auto coords = [&](size_t flat) {
            std::vector<int> c(out.size());
            for (size_t d = 0; d < out.size(); ++d) c[d] = int(flat / size_t(outStrides[d])) % out[d];
            return c;
        };
        switch (l.kind) {
        case LayerKind::Input:
        case LayerKind::Reshape:
            for (size_t k = 0; k < n; ++k) source_[k] = int(k);
            identity_ = true;
            break;
        case LayerKind::Transpose: {
            const auto& perm = l.as<TransposeAttrs>().perm;
            const std::vector<int> inStrides = stridesOf(ins_[0].shape);
            for (size_t k = 0; k < n; ++k) {
                const auto c = coords(k);
                int src = 0;
                for (size_t d = 0; d < c.size(); ++d) src += c[d] * inStrides[size_t(perm[d])];
                source_[k] = src;
            }
            break;
        }
        case LayerKind::Pad: {
            const auto& a = l.as<PadAttrs>();
            const Shape& in = ins_[0].shape;
            const std::vector<int> inStrides = stridesOf(in);
            for (size_t k = 0; k < n; ++k) {
                const auto c = coords(k);
                int src = 0;
                bool inside = true;
                for (size_t d = 0; d < c.size(); ++d) {
                    const int i = c[d] - a.padBegin[d];
                    inside = inside && i >= 0 && i < in[d];
                    src += i * inStrides[d];
                }
                source_[k] = inside ? src : -1;
            }
            break;
        }
        case LayerKind::Resize: {
            const auto& a = l.as<ResizeAttrs>();
            const std::vector<int> inStrides = stridesOf(ins_[0].shape);
            for (size_t k = 0; k < n; ++k) {
                const auto c = coords(k);
                int src = 0;
                for (size_t d = 0; d < c.size(); ++d) src += (c[d] / a.scale[d]) * inStrides[d];
                source_[k] = src;
            }
            break;
        }
        case LayerKind::Concatenate: {
            const int axis = l.as<ConcatAttrs>().axis;
            for (size_t k = 0; k < n; ++k) {
                auto c = coords(k);
                int input = 0;
                while (c[size_t(axis)] >= ins_[size_t(input)].shape[size_t(axis)]) c[size_t(axis)] -= ins_[size_t(input++)].shape[size_t(axis)];
                const std::vector<int> inStrides = stridesOf(ins_[size_t(input)].shape);
                int src = 0;
                for (size_t d = 0; d < c.size(); ++d) src += c[d] * inStrides[d];
                source_[k] = src;
                operand_[k] = input;
            }
            break;
        }
        default: throw Error("layer '" + l.name + "': not a data-movement layer");
        }
        // Inputs of another type than the result are cast (always for Concatenate; for the
        // others only when a configuration gave them their own result type).
        const FixedType outT = l.type("result");
        bool sameTypes = true;
        for (const auto& in : ins_) sameTypes = sameTypes && in.type == outT;
        if (!sameTypes)
            for (const auto& in : ins_) casts_.emplace_back(outT, in.type.frac());
    }

    void fixed(const std::vector<const double*>& in, double* out, size_t rows, LayerStats& st) const override {
        if (casts_.empty()) {   // values keep their type: only moved
            move(in, out, rows);
            return;
        }
        const size_t n = source_.size();
        uint64_t ov = 0;
        for (size_t r = 0; r < rows; ++r)
            for (size_t k = 0; k < n; ++k) {
                const int op = operand_[k];
                const int64_t v = source_[k] < 0 ? 0 : int64_t(in[size_t(op)][r * inSizes_[size_t(op)] + size_t(source_[k])]);
                out[r * n + k] = double(casts_[size_t(op)](v, ov));
            }
        st.resultOverflows += ov;
    }

    void real(const std::vector<const double*>& in, double* out, size_t rows) const override { move(in, out, rows); }

private:
    void move(const std::vector<const double*>& in, double* out, size_t rows) const {
        const size_t n = source_.size();
        if (identity_) {
            std::copy(in[0], in[0] + rows * n, out);
            return;
        }
        for (size_t r = 0; r < rows; ++r)
            for (size_t k = 0; k < n; ++k) {
                const int op = operand_[k];
                out[r * n + k] = source_[k] < 0 ? 0.0 : in[size_t(op)][r * inSizes_[size_t(op)] + size_t(source_[k])];
            }
    }

    std::vector<int> source_;    // flat input index per output element, -1 = padding zero
    std::vector<int> operand_;   // which input (Concatenate)
    std::vector<size_t> inSizes_;
    std::vector<Caster> casts_;  // Concatenate: each input to the result type
    bool identity_ = false;
};

}  // namespace

std::unique_ptr<Kernel> makeMovementKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c) {
    return std::make_unique<MovementKernel>(l, std::move(ins), c);
}

}  // namespace tachyon
