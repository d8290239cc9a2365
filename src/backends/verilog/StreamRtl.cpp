// The graph walk of the Verilog backend.
//
// Vector values (dense-family layers, flattened tensors) are fully unrolled: every value
// is its own netlist signal, every layer combinational, pipelined by the scheduler.
//
// Spatial tensors are streams: one pixel (all channels) per clock in raster order, the
// signals of a stream carrying the *current* pixel. Pixel (r, c) of a stream lives at the
// logical cycle off + r*RS + c*CS after the frame's first input pixel (plus the netlist
// stage of the signal, which the scheduler aligns). Because the schedule is static:
//  * a window tap (kh, kw) is the stream delayed by a constant number of cycles
//    ((kH-1-kh)*dh*RS + (kW-1-kw)*dw*CS): a shift register, one per channel, shared by
//    every tap (the line buffer); the window's last tap is the current pixel, so the
//    output stream of a convolution or pooling has RS' = stride*RS, CS' = stride*CS;
//  * zero padding costs nothing: the input raster has blank cycles (a line longer than
//    the image, blank lines between frames) and streams are forced to 0 outside their
//    image (mask = valid ? x : 0), so a tap that falls into the padding reads a blank
//    cycle; every such tap is checked at generation time, and the line / frame are
//    lengthened until the check passes;
//  * ZeroPadding relabels the stream (no logic), UpSampling is a mux over u*u taps
//    selected by the output position's phase, merges and channel concatenations align
//    their operands by delaying the earlier ones;
//  * validity is never transported: each stream's valid (and phase) comes from a small
//    counter started by the frame-start pulse delayed to that stream's first pixel.
// A stream becomes a vector (Flatten, Reshape, Transpose, global pooling, the output) in
// a collector: a shift register enabled by the stream's valid, read when the last pixel
// arrives. The dense head after it is the fully unrolled vector logic.
#include "backends/verilog/StreamRtl.h"

#include "ops/attention/Rtl.h"
#include "ops/garnet/Rtl.h"
#include "ops/mac/Rtl.h"
#include "ops/reduce_pow/Rtl.h"

#include "backends/verilog/LayerRtl.h"
#include "ops/Registry.h"
#include "util/Error.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <set>
#include <sstream>

namespace tachyon::verilog {

const Layer* channelsFirstView(const Graph& g);

namespace {

struct Geo {
    int H = 1, W = 1;
    int64_t RS = 1, CS = 1, off = 0;
    int r0 = 0, r1 = 1, c0 = 0, c1 = 1;   // where the data is (the rest is zero padding)
    bool full() const { return r0 == 0 && c0 == 0 && r1 == H && c1 == W; }
    int64_t L(int64_t r, int64_t c) const { return off + r * RS + c * CS; }
};

struct Val {
    bool stream = false;
    std::vector<Sig> sigs;   // stream: the current pixel's channels; vector: every value
    Geo geo;                 // stream: geometry; vector: H = W = 1, off = logical cycle
    Shape shape;
    FixedType type;
};

struct Retry {
    bool wider;   // true: lengthen the line; false: add blank lines
};

std::string cname(const std::string& s) {
    std::string r = s;
    for (char& ch : r)
        if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_') ch = '_';
    return r;
}

std::vector<int> stridesOf(const Shape& s) {
    std::vector<int> st(s.size(), 1);
    for (size_t d = s.size(); d-- > 1;) st[d - 1] = st[d] * s[d];
    return st;
}

int spatialRank(const Shape& s) { return int(s.size()) - 1; }

class Builder {
public:
    Builder(RtlContext& c, const Graph& g, const LoweredGraph& low, int64_t b, int lineLen, int frameLines)
        : c_(c), g_(g), low_(low), b_(b), lineLen_(lineLen), frameLines_(frameLines) {}

    BuiltGraph run() {
        BuiltGraph out;
        const Layer& in = g_.input();
        const FixedType inT = in.type("result");
        const bool streaming = isStreaming(g_);
        int inputOffset = 0;   // first bus index of the next Input layer's values
        std::map<std::string, Val> vals;
        for (const Layer& l : g_.layers) {
            c_.prefix = cname(l.name) + "_";
            c_.delayConstraint = l.schedule.delayConstraint;
            if (l.kind == LayerKind::Input) {
                Val v;
                v.shape = l.shape;
                v.type = inT;
                const Layer* cf = channelsFirstView(g_);
                if (cf) {
                    v.shape = cf->shape;
                    transposeView_ = cf->name;
                }
                if (streaming) {
                    v.stream = true;
                    const int rank = spatialRank(v.shape);
                    v.geo.H = rank == 2 ? v.shape[0] : 1;
                    v.geo.W = v.shape[size_t(rank - 1)];
                    v.geo.r1 = v.geo.H;
                    v.geo.c1 = v.geo.W;
                    v.geo.CS = b_;
                    v.geo.RS = b_ * lineLen_;
                    if (lineLen_ < v.geo.W) throw Retry{true};
                    if (frameLines_ < v.geo.H) throw Retry{false};
                    const int C = v.shape.back();
                    for (int k = 0; k < C; ++k)
                        v.sigs.push_back(c_.nl.addInput("in_" + std::to_string(k), k * inT.width, inT.width, inT.isSigned));
                    out.timing = {true, v.geo.H, v.geo.W, C, v.geo.RS, v.geo.CS, interval()};
                    inputPixels_ = int64_t(v.geo.H) * v.geo.W;
                } else {
                    // Several inputs (vectors, checked by the writer) share the input bus, their
                    // values concatenated in layer order as the model's input row, one lane each.
                    const FixedType& t = l.type("result");
                    v.type = t;
                    const int lane = busLaneWidth(g_);
                    for (int k = inputOffset; k < inputOffset + l.outSize(); ++k)
                        v.sigs.push_back(c_.nl.addInput("in_" + std::to_string(k), k * lane, t.width, t.isSigned));
                    inputOffset += l.outSize();
                }
                vals[l.name] = elementwise(l, v);
                continue;
            }
            std::vector<Val> ins;
            for (const auto& n : l.inputs) ins.push_back(vals.at(n));
            vals[l.name] = layer(l, ins);
        }
        Val o = vals.at(g_.output().name);
        if (o.stream) o = collect(o);
        out.outputs = o.sigs;
        if (streaming) {
            out.outValid = validOf(o.geo);
            out.outTime = o.geo.off;
            out.globalLogic = globalLogic();
        }
        return out;
    }

private:
    int64_t interval() const { return b_ * lineLen_ * frameLines_; }

    [[noreturn]] void fail(const Layer& l, const std::string& why) const {
        throw Error("Verilog backend: layer " + l.name + " (" + hlsClassName(l) + "): " + why);
    }

    // ---- layers ----

    // The streamRtl column of the op registry (ops/OpList.h).
    Val layer(const Layer& l, std::vector<Val> ins) {
        switch (ops::opInfo(l.kind).streamRtl) {
        case StreamForm::Conv: return conv(l, ins[0]);
        case StreamForm::Pool: return pool(l, ins[0]);
        case StreamForm::Pad: return pad(l, ins[0]);
        case StreamForm::Resize: return resize(l, ins[0]);
        case StreamForm::Merge: return merge(l, ins);
        case StreamForm::Reduce: return reduce(l, ins[0]);
        case StreamForm::Sequence:   // the whole sequence at once (src/ops/recurrent/Rtl.cpp)
            return elementwise(l, ins[0].stream ? collect(ins[0]) : ins[0]);
        case StreamForm::GarNet: {    // ops/garnet/Rtl.cpp: the vertices and their count
            ins = alignedVectors(ins);
            Val o = ins[0];
            o.shape = l.shape;
            o.type = l.type("result");
            o.sigs = garnetRtl(c_, l, low_, ins[0].sigs, ins[0].type, ins.at(1).sigs.at(0), ins[1].type);
            return o;
        }
        case StreamForm::MatMul: {    // src/ops/attention/Rtl.cpp
            ins = alignedVectors(ins);
            Val o = ins[0];
            o.shape = l.shape;
            o.type = l.type("result");
            o.sigs = matMulRtl(c_, l, ins[0].sigs, ins[0].type, ins[0].shape, ins[1].sigs, ins[1].type, ins[1].shape);
            return o;
        }
        case StreamForm::Movement: {   // Reshape, Transpose
            if (l.name == transposeView_) {   // the input is already streamed channels last
                Val o = ins[0];
                o.type = l.type("result");
                for (Sig& s : o.sigs) s = castTo(c_, s, ins[0].type.frac(), o.type);
                return o;
            }
            Val v = ins[0].stream ? collect(ins[0]) : ins[0];
            return movement(l, {v});
        }
        case StreamForm::Elementwise: break;
        }
        Val v = ins[0];
        if (v.stream && !v.geo.full()) v = mask(v, false);
        return elementwise(l, v);
    }

    // Operands as whole tensors at one logical time (the later operand's): streams
    // collected, the earlier vectors delayed.
    std::vector<Val> alignedVectors(std::vector<Val> ins) {
        int64_t off = INT64_MIN;
        for (Val& v : ins) {
            if (v.stream) v = collect(v);
            off = std::max(off, v.geo.off);
        }
        for (Val& v : ins) {
            for (Sig& s : v.sigs) s = delayTap(c_, s, off - v.geo.off);
            v.geo.off = off;
        }
        return ins;
    }

    // Input cast, Dense, BatchNorm, Activation, Softmax: per pixel on a stream.
    Val elementwise(const Layer& l, const Val& v) {
        Val o = v;
        o.shape = l.shape;
        o.type = l.type("result");
        o.sigs = emitLayer(c_, l, low_, v.sigs, v.type);
        return o;
    }

    // Over the last axis: per pixel on a stream; over another axis: on the collected tensor.
    Val reduce(const Layer& l, const Val& in) {
        Val v = in;
        if (v.stream && l.as<ReduceAttrs>().axis + 1 != int(v.shape.size())) v = collect(v);
        else if (v.stream && !v.geo.full()) v = mask(v, false);
        Val o = v;
        o.shape = l.shape;
        o.type = l.type("result");
        o.sigs = reduceRtl(c_, l, v.sigs, v.type, v.shape);
        return o;
    }

    Val conv(const Layer& l, const Val& in) {
        if (!in.stream) fail(l, "a convolution after a layer that ends the stream (Reshape/Transpose/global pooling)");
        const ConvAttrs& a = l.as<ConvAttrs>();
        std::vector<std::vector<Sig>> win;   // [kernel position][channel]
        Val src = in;
        const bool padded = std::any_of(a.padBegin.begin(), a.padBegin.end(), [](int p) { return p > 0; }) ||
                            std::any_of(a.padEnd.begin(), a.padEnd.end(), [](int p) { return p > 0; });
        const bool masked = padded || !src.geo.full();
        if (masked) src = mask(src, false);
        Val o = window(l, src, in.geo, a.rank, a.kernel, a.strides, a.dilation, a.padBegin, win);
        MacSpec spec = macSpec(l, low_);
        if (!a.depthwise) {
            std::vector<Sig> x;
            for (const auto& p : win) x.insert(x.end(), p.begin(), p.end());
            // Binary x binary: XNOR-popcount; masked taps (padding) are 0 at run time.
            const BinaryMac* binary = low_.binaryMac(l.name);
            o.sigs = binary ? xnorRtl(c_, spec, *binary, x, masked) : macRtl(c_, spec, x, in.type);
        } else {
            const int M = a.depthMultiplier, taps = int(win.size()), nOut = a.inChannels * M;
            for (int ch = 0; ch < a.inChannels; ++ch) {
                MacSpec s = spec;
                s.nIn = taps;
                s.nOut = M;
                s.weight.clear();
                s.bias.clear();
                for (int k = 0; k < taps; ++k)
                    for (int m = 0; m < M; ++m) s.weight.push_back(spec.weight[size_t(k) * nOut + size_t(ch * M + m)]);
                for (int m = 0; m < M; ++m) s.bias.push_back(spec.bias[size_t(ch * M + m)]);
                std::vector<Sig> x;
                for (const auto& p : win) x.push_back(p[size_t(ch)]);
                auto y = macRtl(c_, s, x, in.type);
                o.sigs.insert(o.sigs.end(), y.begin(), y.end());
            }
        }
        o.shape = l.shape;
        o.type = l.type("result");
        return o;
    }

    Val pool(const Layer& l, const Val& in) {
        const PoolAttrs& a = l.as<PoolAttrs>();
        const bool isMax = a.op == PoolOp::Max;
        const FixedType outT = l.type("result");
        const int fx = in.type.frac();
        if (a.global) {
            Val v = in.stream ? collect(in) : in;
            const int C = in.shape.back();
            const int n = int(v.sigs.size()) / C;
            Val o;
            o.geo = v.geo;
            o.shape = l.shape;
            o.type = outT;
            for (int ch = 0; ch < C; ++ch) {
                std::vector<Sig> xs;
                for (int p = 0; p < n; ++p) xs.push_back(v.sigs[size_t(p) * C + size_t(ch)]);
                o.sigs.push_back(reduce(xs, isMax, n, fx, outT));
            }
            return o;
        }
        if (!in.stream) fail(l, "pooling after a layer that ends the stream");
        const bool padded = std::any_of(a.padBegin.begin(), a.padBegin.end(), [](int p) { return p > 0; }) ||
                            std::any_of(a.padEnd.begin(), a.padEnd.end(), [](int p) { return p > 0; });
        // ZeroPadding zeros take part in a maximum; the pooling's own padding never does.
        Val src = in;
        if (!src.geo.full()) src = mask(src, false);
        Geo data = src.geo;
        if (padded) {
            if (isMax) src = nonNegative(src);
            data = src.geo;
            src = mask(src, isMax);
        }
        std::vector<std::vector<Sig>> win;
        std::vector<int> dil(size_t(a.rank), 1);
        Val o = window(l, src, data, a.rank, a.kernel, a.strides, dil, a.padBegin, win);
        int count = 1;
        for (int k : a.kernel) count *= k;   // padding counts (or there is none)
        for (size_t ch = 0; ch < in.sigs.size(); ++ch) {
            std::vector<Sig> xs;
            for (const auto& p : win) xs.push_back(p[ch]);
            o.sigs.push_back(reduce(xs, isMax, count, fx, outT));
        }
        o.shape = l.shape;
        o.type = outT;
        return o;
    }

    Sig reduce(std::vector<Sig> xs, bool isMax, int count, int fx, const FixedType& outT) {
        if (isMax) {
            while (xs.size() > 1) {
                std::vector<Sig> next;
                for (size_t k = 0; k + 1 < xs.size(); k += 2) next.push_back(maximum(c_, xs[k], xs[k + 1]));
                if (xs.size() % 2) next.push_back(xs.back());
                xs = next;
            }
            return castTo(c_, xs[0], fx, outT);
        }
        Sig s = linearMap(c_, xs, std::vector<int64_t>(xs.size(), 1), int(xs.size()), 1, {0})[0];
        return castDivConst(c_, s, fx, count, outT);
    }

    // The window taps of every output position of a stream: win[kernel position][channel].
    // `data`: where src carries data (before masking); every other tap must read 0.
    Val window(const Layer& l, const Val& src, const Geo& data, int rank, const std::vector<int>& kernel, const std::vector<int>& strides,
               const std::vector<int>& dilation, const std::vector<int>& padBegin, std::vector<std::vector<Sig>>& win) {
        const Geo& G = src.geo;
        const int kH = rank == 2 ? kernel[0] : 1, kW = kernel[size_t(rank - 1)];
        const int sH = rank == 2 ? strides[0] : 1, sW = strides[size_t(rank - 1)];
        const int dH = rank == 2 ? dilation[0] : 1, dW = dilation[size_t(rank - 1)];
        const int pT = rank == 2 ? padBegin[0] : 0, pL = padBegin[size_t(rank - 1)];
        const int outH = rank == 2 ? l.shape[0] : 1, outW = l.shape[size_t(rank - 1)];
        if (rank == 2 && G.H == 1 && spatialRank(src.shape) != 2) fail(l, "rank mismatch");
        for (int kh = 0; kh < kH; ++kh)
            for (int kw = 0; kw < kW; ++kw) {
                const int64_t D = int64_t(kH - 1 - kh) * dH * G.RS + int64_t(kW - 1 - kw) * dW * G.CS;
                std::vector<Sig> px;
                for (Sig s : src.sigs) px.push_back(delayTap(c_, s, D));
                win.push_back(px);
            }
        // Every tap outside the data must read a cycle where the (masked) stream is 0.
        const std::set<int64_t> slots = dataSlots(data);
        for (int oh = 0; oh < outH; ++oh)
            for (int ow = 0; ow < outW; ++ow)
                for (int kh = 0; kh < kH; ++kh)
                    for (int kw = 0; kw < kW; ++kw) {
                        const int r = oh * sH - pT + kh * dH, cc = ow * sW - pL + kw * dW;
                        if (r >= data.r0 && r < data.r1 && cc >= data.c0 && cc < data.c1) continue;
                        checkBlank(data, slots, r, cc);
                    }
        Val o;
        o.stream = true;
        o.geo.H = outH;
        o.geo.W = outW;
        o.geo.r1 = outH;
        o.geo.c1 = outW;
        o.geo.RS = G.RS * sH;
        o.geo.CS = G.CS * sW;
        o.geo.off = G.L(-pT + (kH - 1) * dH, -pL + (kW - 1) * dW);
        return o;
    }

    Val pad(const Layer& l, const Val& in) {
        const PadAttrs& a = l.as<PadAttrs>();
        if (!in.stream) return movement(l, {in});
        if (a.padBegin.back() != 0 || a.padEnd.back() != 0) {
            Val v = collect(in);
            return movement(l, {v});
        }
        Val o = in;
        const int rank = spatialRank(l.shape);
        const int pT = rank == 2 ? a.padBegin[0] : 0, pL = a.padBegin[size_t(rank - 1)];
        o.geo.H = rank == 2 ? l.shape[0] : 1;
        o.geo.W = l.shape[size_t(rank - 1)];
        o.geo.off = in.geo.off - pT * in.geo.RS - pL * in.geo.CS;
        o.geo.r0 += pT;
        o.geo.r1 += pT;
        o.geo.c0 += pL;
        o.geo.c1 += pL;
        o.shape = l.shape;
        o.type = l.type("result");
        for (Sig& s : o.sigs) s = castTo(c_, s, in.type.frac(), o.type);   // cast(0) = 0: padding stays 0
        return o;
    }

    Val resize(const Layer& l, const Val& in) {
        const ResizeAttrs& a = l.as<ResizeAttrs>();
        if (!in.stream || a.scale.back() != 1) return movement(l, {in.stream ? collect(in) : in});
        Val v = in.geo.full() ? in : mask(in, false);
        v = nonNegative(v);
        const int rank = spatialRank(l.shape);
        const int uH = rank == 2 ? a.scale[0] : 1, uW = a.scale[size_t(rank - 1)];
        if (v.geo.RS % uH != 0 || v.geo.CS % uW != 0) fail(l, "internal: upsampling below one pixel per clock");
        Val o = v;
        o.geo.H = rank == 2 ? l.shape[0] : 1;
        o.geo.W = l.shape[size_t(rank - 1)];
        o.geo.r1 = o.geo.H;
        o.geo.c1 = o.geo.W;
        o.geo.RS = v.geo.RS / uH;
        o.geo.CS = v.geo.CS / uW;
        o.shape = l.shape;
        o.type = l.type("result");
        // Output (u*r + a, u*c + b) = input (r, c), a*RS' + b*CS' cycles later.
        const Sig phase = generator(o.geo, uH, uW, true);
        o.sigs.clear();
        for (Sig s : v.sigs) {
            std::vector<Sig> taps;
            for (int pa = 0; pa < uH; ++pa)
                for (int pb = 0; pb < uW; ++pb) taps.push_back(delayTap(c_, s, pa * o.geo.RS + pb * o.geo.CS));
            o.sigs.push_back(castTo(c_, taps.size() == 1 ? taps[0] : selectIndex(c_, phase, taps), v.type.frac(), o.type));
        }
        return o;
    }

    Val merge(const Layer& l, std::vector<Val> ins) {
        const bool anyStream = std::any_of(ins.begin(), ins.end(), [](const Val& v) { return v.stream; });
        const int rankOut = int(l.shape.size());
        const bool channelConcat = l.kind == LayerKind::Merge || l.as<ConcatAttrs>().axis == rankOut - 1;
        const bool anyVector = std::any_of(ins.begin(), ins.end(), [](const Val& v) { return !v.stream; });
        if (anyStream && (!channelConcat || anyVector)) {   // a residual around collected logic: all vectors
            for (auto& v : ins)
                if (v.stream) v = collect(v);
        }
        const bool stream = anyStream && channelConcat && !anyVector;
        // Align: every operand at the latest operand's logical time.
        int64_t off = INT64_MIN;
        for (auto& v : ins) {
            if (v.stream && !v.geo.full()) v = mask(v, false);
            if (stream && !v.stream) fail(l, "mixes a stream with a vector");
            if (stream && (v.geo.RS != ins[0].geo.RS || v.geo.CS != ins[0].geo.CS || v.geo.H != ins[0].geo.H ||
                           v.geo.W != ins[0].geo.W))
                fail(l, "operands streamed at different rates (different stride/upsampling history)");
            off = std::max(off, v.geo.off);
        }
        for (auto& v : ins) {
            const int64_t d = off - v.geo.off;
            for (Sig& s : v.sigs) s = delayTap(c_, s, d);
            v.geo.off = off;
        }
        if (l.kind == LayerKind::Concatenate && !stream) return movement(l, ins);
        Val o = ins[0];
        o.shape = l.shape;
        o.type = l.type("result");
        o.sigs.clear();
        if (l.kind == LayerKind::Concatenate) {
            for (const auto& v : ins)
                for (Sig s : v.sigs) o.sigs.push_back(castTo(c_, s, v.type.frac(), o.type));
            return o;
        }
        const MergeOp op = l.as<MergeAttrs>().op;
        int common = INT32_MIN, prodFrac = 0;
        for (const auto& v : ins) {
            common = std::max(common, v.type.frac());
            prodFrac += v.type.frac();
        }
        for (size_t k = 0; k < ins[0].sigs.size(); ++k) {
            std::vector<Sig> xs;
            for (const auto& v : ins) xs.push_back(shiftLeft(c_, v.sigs[k], common - v.type.frac()));
            Sig r = xs[0];
            int frac = common;
            Int128 den = 1;
            switch (op) {
            case MergeOp::Add:
            case MergeOp::Average:
                r = linearMap(c_, xs, std::vector<int64_t>(xs.size(), 1), int(xs.size()), 1, {0})[0];
                if (op == MergeOp::Average) den = Int128(xs.size());
                break;
            case MergeOp::Subtract: r = add(c_, xs[0], xs[1], true); break;
            case MergeOp::Maximum:
                for (size_t i = 1; i < xs.size(); ++i) r = maximum(c_, r, xs[i]);
                break;
            case MergeOp::Minimum:
                for (size_t i = 1; i < xs.size(); ++i) r = minimum(c_, r, xs[i]);
                break;
            case MergeOp::Multiply:
                r = ins[0].sigs[k];
                for (size_t i = 1; i < ins.size(); ++i) r = multiply(c_, r, ins[i].sigs[k]);
                frac = prodFrac;
                break;
            }
            o.sigs.push_back(castDivConst(c_, r, frac, den, o.type));
        }
        return o;
    }

    // Reshape, Transpose, Pad, Resize, Concatenate on vectors: an index map (ops/movement/Kernel.cpp).
    Val movement(const Layer& l, const std::vector<Val>& ins) {
        Val o = ins[0];
        o.shape = l.shape;
        o.type = l.type("result");
        o.sigs.clear();
        const Shape& out = l.shape;
        const std::vector<int> os = stridesOf(out);
        const size_t n = size_t(l.outSize());
        for (size_t k = 0; k < n; ++k) {
            std::vector<int> co(out.size());
            for (size_t d = 0; d < out.size(); ++d) co[d] = int(k / size_t(os[d])) % out[d];
            int operand = 0, src = -1;
            const std::vector<int> is = stridesOf(ins[0].shape);
            switch (l.kind) {
            case LayerKind::Reshape: src = int(k); break;
            case LayerKind::Transpose: {
                const auto& perm = l.as<TransposeAttrs>().perm;
                src = 0;
                for (size_t d = 0; d < co.size(); ++d) src += co[d] * is[size_t(perm[d])];
                break;
            }
            case LayerKind::Pad: {
                const auto& a = l.as<PadAttrs>();
                bool inside = true;
                int s = 0;
                for (size_t d = 0; d < co.size(); ++d) {
                    const int i = co[d] - a.padBegin[d];
                    inside = inside && i >= 0 && i < ins[0].shape[d];
                    s += i * is[d];
                }
                src = inside ? s : -1;
                break;
            }
            case LayerKind::Resize: {
                const auto& a = l.as<ResizeAttrs>();
                src = 0;
                for (size_t d = 0; d < co.size(); ++d) src += (co[d] / a.scale[d]) * is[d];
                break;
            }
            case LayerKind::Concatenate: {
                const int axis = l.as<ConcatAttrs>().axis;
                while (co[size_t(axis)] >= ins[size_t(operand)].shape[size_t(axis)])
                    co[size_t(axis)] -= ins[size_t(operand++)].shape[size_t(axis)];
                const std::vector<int> st = stridesOf(ins[size_t(operand)].shape);
                src = 0;
                for (size_t d = 0; d < co.size(); ++d) src += co[d] * st[d];
                break;
            }
            default: fail(l, "internal: not a movement layer");
            }
            const Val& v = ins[size_t(operand)];
            Sig s = src < 0 ? constant(c_, 0) : v.sigs[size_t(src)];
            o.sigs.push_back(castTo(c_, s, v.type.frac(), o.type));
        }
        return o;
    }

    // ---- stream plumbing ----

    std::set<int64_t> dataSlots(const Geo& g) const {
        std::set<int64_t> slots;
        const int64_t II = interval();
        for (int r = g.r0; r < g.r1; ++r)
            for (int cc = g.c0; cc < g.c1; ++cc) slots.insert(((g.L(r, cc) % II) + II) % II);
        return slots;
    }
    // Position (r, c) of g (outside its data) must fall on a cycle without data, in any frame.
    void checkBlank(const Geo& g, const std::set<int64_t>& slots, int r, int cc) {
        const int64_t II = interval();
        if (!slots.count(((g.L(r, cc) % II) + II) % II)) return;
        const bool inRows = r >= g.r0 && r < g.r1;
        throw Retry{inRows};
    }

    // x outside the data -> 0 (or the smallest value, for max pooling).
    Val mask(const Val& in, bool lowest) {
        Val v = in;
        Geo g = in.geo;   // the data region as its own stream
        g.off = in.geo.L(in.geo.r0, in.geo.c0);
        g.H = g.r1 - g.r0;
        g.W = g.c1 - g.c0;
        g.r0 = g.c0 = 0;
        g.r1 = g.H;
        g.c1 = g.W;
        const Sig valid = validOf(g);
        if (!in.geo.full()) {   // the padding positions must be blank cycles
            const std::set<int64_t> slots = dataSlots(in.geo);
            for (int r = 0; r < in.geo.H; ++r)
                for (int cc = 0; cc < in.geo.W; ++cc)
                    if (r < in.geo.r0 || r >= in.geo.r1 || cc < in.geo.c0 || cc >= in.geo.c1) checkBlank(in.geo, slots, r, cc);
        }
        for (Sig& s : v.sigs) s = maskValid(c_, s, valid, lowest ? c_.nl.node(s).lo : Int128(0));
        v.geo.r0 = v.geo.c0 = 0;
        v.geo.r1 = v.geo.H;
        v.geo.c1 = v.geo.W;
        return v;
    }

    // Delays a stream whose first pixel would come before the frame's first input pixel.
    Val nonNegative(const Val& in) {
        if (in.geo.off >= 0) return in;
        Val v = in;
        for (Sig& s : v.sigs) s = delayTap(c_, s, -in.geo.off);
        v.geo.off = 0;
        return v;
    }

    // Stream -> vector (channels-last order) at the cycle of the last pixel.
    Val collect(const Val& in) {
        Val v = in.geo.full() ? in : mask(in, false);
        v = nonNegative(v);
        const Geo& G = v.geo;
        const Sig valid = validOf(G);
        const int n = G.H * G.W;
        std::vector<std::vector<Sig>> perChannel;
        for (Sig s : v.sigs) perChannel.push_back(collectChain(c_, s, valid, n - 1));
        Val o;
        o.shape = in.shape;
        o.type = in.type;
        for (int p = 0; p < n; ++p)
            for (size_t ch = 0; ch < v.sigs.size(); ++ch) o.sigs.push_back(perChannel[ch][size_t(n - 1 - p)]);
        o.geo = Geo{};
        o.geo.off = G.L(G.H - 1, G.W - 1);
        return o;
    }

    // [x now, x at the previous valid cycle, ..., depth valid cycles back].
    std::vector<Sig> collectChain(RtlContext& c, Sig x, Sig valid, int depth) {
        std::vector<Sig> out{x};
        if (depth == 0) return out;
        const Node n = c.nl.node(x);   // a copy: adding nodes moves the node vector
        Node ch;
        ch.name = c.nl.freshName(c.prefix + "col");
        ch.ops = {x, valid};
        ch.lo = n.lo;
        ch.hi = n.hi;
        const int w = n.width;
        ch.body = [w, depth](std::ostream& os, const std::vector<std::string>& o, const std::string& self) {
            os << "  assign " << self << " = " << o[0] << ";\n";
            for (int k = 1; k <= depth; ++k) os << "  reg signed [" << w - 1 << ":0] " << self << "_e" << k << ";\n";
            os << "  always @(posedge clk) if (" << o[1] << "[0]) begin\n";
            for (int k = 1; k <= depth; ++k)
                os << "    " << self << "_e" << k << " <= " << (k == 1 ? self : self + "_e" + std::to_string(k - 1)) << ";\n";
            os << "  end\n";
        };
        const Sig chain = c.nl.add(std::move(ch));
        for (int k = 1; k <= depth; ++k) {
            Node e;
            e.name = c.nl.freshName(c.prefix + "el");
            e.ops = {chain};
            e.lo = n.lo;
            e.hi = n.hi;
            e.registered = true;
            e.body = [k](std::ostream& os, const std::vector<std::string>& o, const std::string& self) {
                os << "  assign " << self << " = " << o[0] << "_e" << k << ";\n";
            };
            out.push_back(c.nl.add(std::move(e)));
        }
        return out;
    }

    Sig validOf(const Geo& g) { return generator(g, 1, 1, false); }

    // A counter started by the frame-start pulse delayed to the stream's first pixel:
    // its valid ([0, 1]) or, with `phase`, (r mod uH) * uW + (c mod uW) of the current pixel.
    Sig generator(const Geo& g, int uH, int uW, bool phase) {
        if (g.off < 0) throw Error("Verilog backend: internal: a stream starts before its frame");
        const int64_t span = (g.H - 1) * g.RS + (g.W - 1) * g.CS + 1;
        if (span > interval()) throw Retry{false};
        const auto key = std::make_tuple(g.H, g.W, g.RS, g.CS, g.off, uH, uW);
        auto it = gens_.find(key);
        Sig gen;
        if (it != gens_.end()) {
            gen = it->second;
        } else {
            maxStart_ = std::max(maxStart_, g.off);
            Node n;
            n.name = c_.nl.freshName("gen");
            n.lo = 0;
            n.hi = 1;
            const Geo G = g;
            n.body = [G, uH, uW](std::ostream& os, const std::vector<std::string>&, const std::string& self) {
                auto bits = [](int64_t v) { int b = 1; while ((int64_t(1) << b) <= v) ++b; return b; };
                const std::string st = G.off == 0 ? "frame_start" : "fs_d" + std::to_string(G.off);
                const std::string s = self;
                os << "  // stream " << G.H << "x" << G.W << ", row step " << G.RS << ", column step " << G.CS
                   << ", first pixel at cycle " << G.off << "\n";
                os << "  reg " << s << "_act = 1'b0;\n";
                const int wk = bits(G.RS), wp = bits(G.CS), wc = bits(G.RS / std::max<int64_t>(G.CS, 1) + G.W + 1),
                          wr = bits(G.H), wu = bits(std::max(uH, uW));
                os << "  reg [" << wk - 1 << ":0] " << s << "_k = 0;\n  reg [" << wp - 1 << ":0] " << s << "_p = 0;\n"
                   << "  reg [" << wc - 1 << ":0] " << s << "_c = 0;\n  reg [" << wr - 1 << ":0] " << s << "_r = 0;\n"
                   << "  reg [" << wu - 1 << ":0] " << s << "_ur = 0, " << s << "_uc = 0;\n";
                // current position (the start pulse means position 0)
                for (const char* v : {"k", "p", "c", "r", "ur", "uc"}) {
                    const int w = std::string(v) == "k" ? wk : std::string(v) == "p" ? wp : std::string(v) == "c" ? wc
                                  : std::string(v) == "r" ? wr : wu;
                    os << "  wire [" << w - 1 << ":0] " << s << "_" << v << "n = " << st << " ? " << w << "'d0 : " << s
                       << "_" << v << ";\n";
                }
                os << "  wire " << s << "_on = " << st << " | " << s << "_act;\n";
                os << "  wire " << s << "_v = " << s << "_on && " << s << "_pn == 0 && " << s << "_cn < " << G.W << ";\n";
                os << "  wire " << s << "_last = " << s << "_v && " << s << "_cn == " << G.W - 1 << " && " << s
                   << "_rn == " << G.H - 1 << ";\n";
                os << "  always @(posedge clk) begin\n"
                   << "    " << s << "_act <= " << s << "_on && !" << s << "_last;\n"
                   << "    if (" << s << "_kn == " << G.RS - 1 << ") begin\n"
                   << "      " << s << "_k <= 0; " << s << "_p <= 0; " << s << "_c <= 0; " << s << "_uc <= 0;\n"
                   << "      " << s << "_r <= " << s << "_rn + 1;\n"
                   << "      " << s << "_ur <= (" << s << "_urn == " << uH - 1 << ") ? 0 : " << s << "_urn + 1;\n"
                   << "    end else begin\n"
                   << "      " << s << "_k <= " << s << "_kn + 1; " << s << "_r <= " << s << "_rn; " << s << "_ur <= " << s
                   << "_urn;\n"
                   << "      if (" << s << "_pn == " << G.CS - 1 << ") begin\n"
                   << "        " << s << "_p <= 0; " << s << "_c <= " << s << "_cn + 1;\n"
                   << "        " << s << "_uc <= (" << s << "_ucn == " << uW - 1 << ") ? 0 : " << s << "_ucn + 1;\n"
                   << "      end else begin\n"
                   << "        " << s << "_p <= " << s << "_pn + 1; " << s << "_c <= " << s << "_cn; " << s << "_uc <= " << s
                   << "_ucn;\n"
                   << "      end\n    end\n  end\n";
                os << "  assign " << self << " = {1'b0, " << s << "_v};\n";
            };
            gen = c_.nl.add(std::move(n));
            gens_[key] = gen;
        }
        if (!phase) return gen;
        Node p;
        p.name = c_.nl.freshName(c_.prefix + "phase");
        p.ops = {gen};
        p.lo = 0;
        p.hi = uH * uW - 1;
        p.registered = true;
        p.body = [uW](std::ostream& os, const std::vector<std::string>& o, const std::string& self) {
            os << "  assign " << self << " = " << o[0] << "_urn * " << uW << " + " << o[0] << "_ucn;\n";
        };
        return c_.nl.add(std::move(p));
    }

    std::string globalLogic() const {
        std::ostringstream os;
        auto bits = [](int64_t v) { int b = 1; while ((int64_t(1) << b) <= v) ++b; return b; };
        const int wp = bits(inputPixels_);
        os << "  // ---- frame start: the first of every " << inputPixels_ << " input pixels ----\n";
        os << "  reg [" << wp - 1 << ":0] pix_count = 0;\n";
        os << "  always @(posedge clk) if (in_valid) pix_count <= (pix_count == " << inputPixels_ - 1
           << ") ? 0 : pix_count + 1;\n";
        os << "  wire frame_start = in_valid && pix_count == 0;\n";
        if (maxStart_ > 0) {
            for (int64_t k = 1; k <= maxStart_; ++k) os << "  reg fs_d" << k << " = 1'b0;\n";
            os << "  always @(posedge clk) begin\n";
            for (int64_t k = 1; k <= maxStart_; ++k)
                os << "    fs_d" << k << " <= " << (k == 1 ? std::string("frame_start") : "fs_d" + std::to_string(k - 1)) << ";\n";
            os << "  end\n";
        }
        return os.str() + "\n";
    }

    RtlContext& c_;
    const Graph& g_;
    const LoweredGraph& low_;
    int64_t b_;
    int lineLen_, frameLines_;
    int64_t inputPixels_ = 1;
    int64_t maxStart_ = 0;
    std::string transposeView_;
    std::map<std::tuple<int, int, int64_t, int64_t, int64_t, int, int>, Sig> gens_;
};

// Cycles between input pixels so that every stream advances a whole number of cycles per
// pixel after strides and upsampling: the lcm of the upsampling factors not compensated
// by earlier strides.
int64_t baseStep(const Graph& g) {
    std::map<std::string, std::pair<int64_t, int64_t>> step;   // num/den relative to the input
    int64_t b = 1;
    for (const Layer& l : g.layers) {
        std::pair<int64_t, int64_t> s{1, 1};
        if (!l.inputs.empty() && step.count(l.inputs[0])) s = step.at(l.inputs[0]);
        int rank = spatialRank(l.shape);
        if (l.kind == LayerKind::Conv) s.first *= l.as<ConvAttrs>().strides.back();
        if (l.kind == LayerKind::Pooling && !l.as<PoolAttrs>().global) s.first *= l.as<PoolAttrs>().strides.back();
        if (l.kind == LayerKind::Resize && rank >= 1) {
            const auto& sc = l.as<ResizeAttrs>().scale;
            int64_t u = 1;
            for (size_t d = 0; d + 1 < sc.size(); ++d) u = std::max<int64_t>(u, sc[d]);
            s.second *= u;
        }
        const int64_t gcd = std::gcd(s.first, s.second);
        s = {s.first / gcd, s.second / gcd};
        b = std::lcm(b, s.second);
        step[l.name] = s;
    }
    return b;
}

}  // namespace

bool isStreaming(const Graph& g) { return g.input().shape.size() >= 2 && g.inputs().size() == 1; }

int busLaneWidth(const Graph& g) {
    int w = g.input().type("result").width;
    for (const Layer* in : g.inputs()) w = std::max(w, in->type("result").width);
    return w;
}

namespace {

// An elementwise layer that computes the same function at every element, so it commutes
// with any transpose: a Quantize with one quantiser for all elements (QONNX's Quant on a
// channels-first input).
bool layoutFree(const Layer& l) {
    if (l.kind != LayerKind::Quantize) return false;
    const auto& a = l.as<QuantizeAttrs>();
    return a.mode == QuantizeMode::Fixed ? a.width.size() == 1 : a.thresholds.size() == size_t(a.nThresholds);
}

}  // namespace

const Layer* channelsFirstView(const Graph& g) {
    const Layer& in = g.input();
    if (in.shape.size() < 2 || g.layers.size() < 2) return nullptr;
    auto consumers = g.consumers(in.name);
    // Layout-free elementwise layers between the input and the view run on the stream.
    while (consumers.size() == 1 && layoutFree(*consumers[0])) consumers = g.consumers(consumers[0]->name);
    if (consumers.size() != 1) return nullptr;
    if (consumers[0]->kind == LayerKind::Reshape) {
        // One channel first: [1, S...] -> [S..., 1]; or a channel axis added to a 2-D input:
        // [H, W] -> [H, W, 1] (Keras' Reshape before a Conv2D, as in HGQ's MNIST CNNs). Both
        // keep the flat order, so the input streams in the view's shape.
        Shape rotated(in.shape.begin() + 1, in.shape.end());
        rotated.push_back(1);
        Shape added = in.shape;
        added.push_back(1);
        const Shape& view = consumers[0]->shape;
        return (in.shape[0] == 1 && view == rotated) || (in.shape.size() == 2 && view == added) ? consumers[0] : nullptr;
    }
    if (consumers[0]->kind != LayerKind::Transpose) return nullptr;
    const auto& perm = consumers[0]->as<TransposeAttrs>().perm;
    for (size_t d = 0; d + 1 < perm.size(); ++d)
        if (perm[d] != int(d) + 1) return nullptr;
    return perm.back() == 0 ? consumers[0] : nullptr;
}

std::vector<int> streamOrder(const Graph& g) {
    const Layer* cf = channelsFirstView(g);
    if (!cf || cf->kind == LayerKind::Reshape) return {};   // a Reshape view keeps the flat order
    const int C = g.input().shape[0], P = g.input().outSize() / C;
    std::vector<int> order;
    for (int p = 0; p < P; ++p)
        for (int ch = 0; ch < C; ++ch) order.push_back(ch * P + p);
    return order;
}

BuiltGraph buildGraph(RtlContext& c, const Graph& g, const LoweredGraph& low) {
    if (!isStreaming(g)) return Builder(c, g, low, 1, 1, 1).run();
    const Layer* cf = channelsFirstView(g);
    const Shape& shape = cf ? cf->shape : g.input().shape;   // as streamed: channels last
    const int rank = spatialRank(shape);
    const int H = rank == 2 ? shape[0] : 1, W = shape[size_t(rank - 1)];
    const int64_t b = baseStep(g);
    int line = W, lines = H, vertical = 0;
    for (int attempt = 0; attempt < 400; ++attempt) {
        Netlist nl;
        RtlContext cc{nl, c.delay, c.naive, ""};
        cc.stageBudgetNs = c.stageBudgetNs;
        try {
            BuiltGraph r = Builder(cc, g, low, b, line, lines).run();
            c.nl = std::move(nl);
            c.adders = std::move(cc.adders);
            return r;
        } catch (const Retry& retry) {
            if (retry.wider || ++vertical % 4 == 0) ++line;
            if (!retry.wider) ++lines;
        }
    }
    throw Error("Verilog backend: no raster timing found for " + g.sourceFile);
}

}  // namespace tachyon::verilog
