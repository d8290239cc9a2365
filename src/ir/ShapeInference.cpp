// Output shapes of every layer kind, from its attributes and its inputs' shapes. The
// frontends build layers through this (so a shape is never guessed twice) and the
// verifier checks every stored shape against it.
#include "ir/Graph.h"

#include "ir/TreeEnsemble.h"
#include "util/Error.h"

#include <algorithm>

namespace tachyon {

namespace {

[[noreturn]] void bad(const std::string& why) { throw Error(why); }

long long product(const Shape& s) {
    long long n = 1;
    for (int d : s) {
        n *= d;
        if (n > (1LL << 31)) return -1;
    }
    return n;
}

void expectInputs(const std::vector<Shape>& in, size_t lo, size_t hi) {
    if (in.size() < lo || in.size() > hi)
        bad("takes " + (lo == hi ? std::to_string(lo) : std::to_string(lo) + ".." + std::to_string(hi)) +
            " inputs, got " + std::to_string(in.size()));
}

void expectLength(const std::vector<int>& v, size_t n, const char* what) {
    if (v.size() != n) bad(std::string(what) + " has " + std::to_string(v.size()) + " entries, expected " + std::to_string(n));
}

// Output length of a windowed op along one axis (floor mode, as Keras and ONNX).
int windowOut(int in, int pb, int pe, int k, int stride, int dilation) {
    if (k < 1 || stride < 1 || dilation < 1 || pb < 0 || pe < 0) bad("kernel, strides, dilation must be >= 1 and padding >= 0");
    const long long span = (long long)(k - 1) * dilation + 1;
    const long long padded = (long long)in + pb + pe;
    if (padded < span) bad("the window (" + std::to_string(span) + ") is larger than the padded input (" + std::to_string(padded) + ")");
    return int((padded - span) / stride + 1);
}

Shape convShape(const ConvAttrs& a, const Shape& x) {
    if (a.rank < 1 || a.rank > 2) bad("only 1-D and 2-D convolutions are supported");
    if ((int)x.size() != a.rank + 1)
        bad("a " + std::to_string(a.rank) + "-D convolution needs a [" + (a.rank == 1 ? "width" : "height, width") +
            ", channels] input, got " + shapeString(x));
    for (auto* v : {&a.kernel, &a.strides, &a.dilation, &a.padBegin, &a.padEnd}) expectLength(*v, size_t(a.rank), "a convolution attribute");
    if (x.back() != a.inChannels)
        bad("expects " + std::to_string(a.inChannels) + " input channels, got " + std::to_string(x.back()));
    if (a.depthwise && a.outChannels != a.inChannels * a.depthMultiplier)
        bad("a depthwise convolution has inChannels * depthMultiplier output channels");
    Shape out;
    for (int d = 0; d < a.rank; ++d)
        out.push_back(windowOut(x[size_t(d)], a.padBegin[size_t(d)], a.padEnd[size_t(d)], a.kernel[size_t(d)],
                                a.strides[size_t(d)], a.dilation[size_t(d)]));
    out.push_back(a.outChannels);
    return out;
}

Shape poolShape(const PoolAttrs& a, const Shape& x) {
    if (a.rank < 1 || a.rank > 2) bad("only 1-D and 2-D pooling is supported");
    if ((int)x.size() != a.rank + 1) bad("pooling over " + std::to_string(a.rank) + " axes needs a rank-" +
                                         std::to_string(a.rank + 1) + " input, got " + shapeString(x));
    if (a.global) return {x.back()};
    for (auto* v : {&a.kernel, &a.strides, &a.padBegin, &a.padEnd}) expectLength(*v, size_t(a.rank), "a pooling attribute");
    Shape out;
    for (int d = 0; d < a.rank; ++d) {
        if (a.padBegin[size_t(d)] >= a.kernel[size_t(d)] || a.padEnd[size_t(d)] >= a.kernel[size_t(d)])
            bad("pooling padding must be smaller than the window");
        out.push_back(windowOut(x[size_t(d)], a.padBegin[size_t(d)], a.padEnd[size_t(d)], a.kernel[size_t(d)],
                                a.strides[size_t(d)], 1));
    }
    out.push_back(x.back());
    return out;
}

}  // namespace

// For every output position of a convolution, the flat input index of each window entry
// (kernel positions row-major, then channels), or -1 where the window covers padding.
std::vector<int> convWindowIndex(const ConvAttrs& a, const Shape& in, const Shape& out, bool perChannel) {
    const int rank = a.rank;
    const int inH = rank == 2 ? in[0] : 1, inW = in[size_t(rank - 1)], C = in.back();
    const int outH = rank == 2 ? out[0] : 1, outW = out[size_t(rank - 1)];
    const int kH = rank == 2 ? a.kernel[0] : 1, kW = a.kernel[size_t(rank - 1)];
    const int sH = rank == 2 ? a.strides[0] : 1, sW = a.strides[size_t(rank - 1)];
    const int dH = rank == 2 ? a.dilation[0] : 1, dW = a.dilation[size_t(rank - 1)];
    const int pT = rank == 2 ? a.padBegin[0] : 0, pL = a.padBegin[size_t(rank - 1)];
    const int channels = perChannel ? 1 : C;
    std::vector<int> idx;
    idx.reserve(size_t(outH) * outW * kH * kW * channels);
    for (int oh = 0; oh < outH; ++oh)
        for (int ow = 0; ow < outW; ++ow)
            for (int kh = 0; kh < kH; ++kh)
                for (int kw = 0; kw < kW; ++kw) {
                    const int ih = oh * sH - pT + kh * dH, iw = ow * sW - pL + kw * dW;
                    const bool inside = ih >= 0 && ih < inH && iw >= 0 && iw < inW;
                    for (int c = 0; c < channels; ++c) idx.push_back(inside ? (ih * inW + iw) * C + c : -1);
                }
    return idx;
}

Shape inferShape(LayerKind kind, const Attrs& attrs, const std::vector<Shape>& in) {
    for (const Shape& s : in)
        if (s.empty() || product(s) <= 0) bad("an input has an empty or invalid shape (" + shapeString(s) + ")");
    switch (kind) {
    case LayerKind::Input: bad("an Input has no inputs");
    case LayerKind::Dense: {
        expectInputs(in, 1, 1);
        const auto& a = std::get<DenseAttrs>(attrs);
        if (in[0].back() != a.nIn)
            bad("expects " + std::to_string(a.nIn) + " values on the last axis, got " + shapeString(in[0]));
        if (a.nOut <= 0) bad("invalid number of outputs");
        Shape out = in[0];
        out.back() = a.nOut;
        return out;
    }
    case LayerKind::Conv: expectInputs(in, 1, 1); return convShape(std::get<ConvAttrs>(attrs), in[0]);
    case LayerKind::Pooling: expectInputs(in, 1, 1); return poolShape(std::get<PoolAttrs>(attrs), in[0]);
    case LayerKind::BatchNorm:
    case LayerKind::LayerNorm:
    case LayerKind::Activation:
    case LayerKind::Softmax: expectInputs(in, 1, 1); return in[0];
    case LayerKind::Reshape: bad("a Reshape's shape is given, not inferred");
    case LayerKind::TreeEnsemble: {
        expectInputs(in, 1, 1);
        const auto& e = std::get<TreeEnsembleAttrs>(attrs).ensemble;
        if (!e) bad("a TreeEnsemble without its trees");
        if (in[0] != Shape{e->nFeatures})
            bad("the trees read " + std::to_string(e->nFeatures) + " features, the input is " + shapeString(in[0]));
        return {e->nClasses};
    }
    case LayerKind::Transpose: {
        expectInputs(in, 1, 1);
        const auto& p = std::get<TransposeAttrs>(attrs).perm;
        expectLength(p, in[0].size(), "perm");
        std::vector<int> sorted = p;
        std::sort(sorted.begin(), sorted.end());
        for (size_t i = 0; i < sorted.size(); ++i)
            if (sorted[i] != int(i)) bad("perm is not a permutation of the input axes");
        Shape out;
        for (int axis : p) out.push_back(in[0][size_t(axis)]);
        return out;
    }
    case LayerKind::Pad: {
        expectInputs(in, 1, 1);
        const auto& a = std::get<PadAttrs>(attrs);
        expectLength(a.padBegin, in[0].size(), "padBegin");
        expectLength(a.padEnd, in[0].size(), "padEnd");
        Shape out = in[0];
        for (size_t d = 0; d < out.size(); ++d) {
            if (a.padBegin[d] < 0 || a.padEnd[d] < 0) bad("negative padding (cropping) is not supported");
            out[d] += a.padBegin[d] + a.padEnd[d];
        }
        return out;
    }
    case LayerKind::Resize: {
        expectInputs(in, 1, 1);
        const auto& a = std::get<ResizeAttrs>(attrs);
        expectLength(a.scale, in[0].size(), "scale");
        Shape out = in[0];
        for (size_t d = 0; d < out.size(); ++d) {
            if (a.scale[d] < 1) bad("only integer upsampling factors >= 1 are supported");
            out[d] *= a.scale[d];
        }
        return out;
    }
    case LayerKind::Merge: {
        const auto& a = std::get<MergeAttrs>(attrs);
        const bool binary = a.op == MergeOp::Subtract;
        expectInputs(in, 2, binary ? 2 : 64);
        for (const Shape& s : in)
            if (s != in[0]) bad("inputs of different shapes (" + shapeString(in[0]) + " and " + shapeString(s) + ")");
        return in[0];
    }
    case LayerKind::Concatenate: {
        expectInputs(in, 2, 64);
        const int axis = std::get<ConcatAttrs>(attrs).axis;
        if (axis < 0 || axis >= (int)in[0].size()) bad("axis " + std::to_string(axis) + " is out of range");
        Shape out = in[0];
        out[size_t(axis)] = 0;
        for (const Shape& s : in) {
            if (s.size() != in[0].size()) bad("inputs of different ranks");
            for (size_t d = 0; d < s.size(); ++d)
                if (int(d) != axis && s[d] != in[0][d])
                    bad("inputs differ outside the concatenation axis (" + shapeString(in[0]) + " and " + shapeString(s) + ")");
            out[size_t(axis)] += s[size_t(axis)];
        }
        return out;
    }
    case LayerKind::Recurrent: {
        expectInputs(in, 1, 1);
        const auto& a = std::get<RecurrentAttrs>(attrs);
        if (in[0] != Shape{a.steps, a.nIn})
            bad("expects a [" + std::to_string(a.steps) + " steps, " + std::to_string(a.nIn) + " features] sequence, got " +
                shapeString(in[0]));
        if (a.units <= 0) bad("invalid number of units");
        if (a.returnSequences) return {a.steps, a.units};
        return {a.units};
    }
    case LayerKind::GarNet: {
        expectInputs(in, 2, 2);
        const auto& a = std::get<GarNetAttrs>(attrs);
        if (in[0] != Shape{a.nVertices, a.nInFeatures})
            bad("expects [" + std::to_string(a.nVertices) + " vertices, " + std::to_string(a.nInFeatures) +
                " features] vertex data, got " + shapeString(in[0]));
        if (product(in[1]) != 1) bad("expects the vertex count as one value, got " + shapeString(in[1]));
        if (a.nFilters.empty() || a.nPropagate.size() != a.nFilters.size() || a.nAggregators.size() != a.nFilters.size())
            bad("n_propagate, n_aggregators and n_filters need one entry per sublayer");
        for (size_t k = 0; k < a.nFilters.size(); ++k)
            if (a.nFilters[k] <= 0 || a.nPropagate[k] <= 0 || a.nAggregators[k] <= 0) bad("invalid GarNet sizes");
        if (a.collapse.empty()) return {a.nVertices, a.nFilters.back()};
        return {a.nFilters.back()};
    }
    case LayerKind::Quantize: {
        expectInputs(in, 1, 1);
        const auto& a = std::get<QuantizeAttrs>(attrs);
        const long long n = product(in[0]), channels = in[0].back();
        if (a.mode == QuantizeMode::Fixed) {
            const size_t k = a.width.size();
            if (k != 1 && (long long)k != n) bad("needs one type or one per element (" + std::to_string(n) + "), got " + std::to_string(k));
            if (a.integer.size() != k || a.isSigned.size() != k) bad("width, integer and isSigned differ in length");
            for (size_t e = 0; e < k; ++e)
                if (a.width[e] < 0 || a.width[e] > 64) bad("element type width " + std::to_string(a.width[e]) + " is outside 0..64");
        } else {
            const long long rows = a.nThresholds > 0 ? (long long)a.thresholds.size() / a.nThresholds : 0;
            if (a.nThresholds < 1 || (rows != 1 && rows != channels) || rows * a.nThresholds != (long long)a.thresholds.size())
                bad("thresholds must hold one row or one per channel of nThresholds values");
            if ((int)a.strict.size() != a.nThresholds || (int)a.levels.size() != a.nThresholds + 1)
                bad("needs nThresholds strict flags and nThresholds + 1 levels");
        }
        return in[0];
    }
    case LayerKind::MatMul: {
        expectInputs(in, 2, 2);
        const bool tb = std::get<MatMulAttrs>(attrs).transposeB;
        const Shape &a = in[0], &b = in[1];
        if (a.size() < 2 || a.size() != b.size())
            bad("needs two inputs of the same rank >= 2 ([batch..., M, K] and [batch..., K, N]), got " + shapeString(a) +
                " and " + shapeString(b));
        const size_t r = a.size();
        if (!std::equal(a.begin(), a.end() - 2, b.begin()))
            bad("the inputs' batch axes differ (" + shapeString(a) + " and " + shapeString(b) + ")");
        const int k = a[r - 1], kb = tb ? b[r - 1] : b[r - 2], n = tb ? b[r - 2] : b[r - 1];
        if (k != kb)
            bad("the contracted axes differ (" + std::to_string(k) + " and " + std::to_string(kb) + ", transpose_b=" +
                (tb ? "true" : "false") + ")");
        Shape out = a;
        out[r - 1] = n;
        return out;
    }
    case LayerKind::Reduce: {
        expectInputs(in, 1, 1);
        const int axis = std::get<ReduceAttrs>(attrs).axis;
        if (axis < 0 || axis >= int(in[0].size())) bad("axis " + std::to_string(axis) + " is out of range");
        Shape out = in[0];
        out[size_t(axis)] = 1;
        return out;
    }
    case LayerKind::Pow: expectInputs(in, 1, 1); return in[0];
    }
    bad("unknown layer kind");
}

}  // namespace tachyon
