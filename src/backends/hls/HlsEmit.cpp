#include "backends/hls/HlsEmit.h"
#include "emulator/Cast.h"

#include "backends/hls/HeaderLimits.h"
#include "ops/Registry.h"
#include "util/Error.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <set>
#include <sstream>

namespace tachyon::hls {

std::string layerError(const Layer& l, const std::string& why) {
    return "HLS backend: layer '" + l.name + "' (" + toString(l.kind) + "): " + why;
}

namespace {

std::string shortestDouble(double v) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    std::string s(buf, r.ptr);
    return s;
}

int bitsFor(int64_t maxValue) {
    int b = 1;
    while (b < 63 && (int64_t(1) << b) <= maxValue) ++b;
    return b;
}

}  // namespace

// The raw-integer type of a fixed-point type: same width and signedness.
std::string rawIntType(const FixedType& t) {
    return std::string(t.isSigned ? "ap_int<" : "ap_uint<") + std::to_string(t.width) + ">";
}

std::string header(const std::string& id, const std::string& what, const std::string& body) {
    std::string guard;
    for (char c : id + "_" + what + "_H_") guard += char(std::toupper(static_cast<unsigned char>(c)));
    return "// Written by Tachyon: constants of layer " + id + ", quantised by the emulator.\n#ifndef " +
           guard + "\n#define " + guard + "\n\n#include \"../parameters.h\"\n\n" + body + "\n#endif\n";
}

// Index parameters of one emulator lookup table, as a nested struct of the config.
void tableStruct(ParamsText& p, const std::string& name, const LookupTable& t) {
    if (t.den > 0) {
        p.os << "    struct " << name << " {  // hls4ml's: idx = clamp(trunc(key * mul / den) + offset, 0, size - 1)\n"
             << "        static const long long mul = " << t.mul << ";\n"
             << "        static const long long den = " << t.den << ";\n"
             << "        static const long long offset = " << t.offset << ";\n"
             << "        static const unsigned size = " << t.size << ";\n"
             << "    };\n";
        return;
    }
    p.os << "    struct " << name << " {  // idx = clamp((key >> shift) + offset, 0, size - 1)\n"
         << "        static const int shift = " << t.shift << ";\n"
         << "        static const long long offset = " << t.offset << ";\n"
         << "        static const unsigned size = " << t.size << ";\n"
         << "    };\n";
}

std::string tableArray(const std::string& type, const std::string& name, const LookupTable& t) {
    return constArray(type, name, t.values.size(), 8,
                      [&](size_t k) { return literal(t.valueType, t.values[k]); });
}

std::string strategyName(const Layer& l) {
    return l.schedule.strategy == Strategy::Resource ? "resource" : "latency";
}

std::string boolText(bool b) { return b ? "true" : "false"; }

// The exact type of a + b, a * b, and the smallest type holding both a and b exactly.
FixedType sumType(const FixedType& a, const FixedType& b) { return exactSumType(a, b); }
FixedType productType(const FixedType& a, const FixedType& b) { return exactProductType(a, b); }
FixedType commonType(const FixedType& a, const FixedType& b) {
    const int frac = std::max(a.frac(), b.frac());
    const bool s = a.isSigned || b.isSigned;
    const int integer = std::max(a.integer + (s && !a.isSigned), b.integer + (s && !b.isSigned));
    return FixedType::fixed(integer + frac, integer, s);
}

// The nnet::activation_function of an activation.
std::string functionName(ActKind a) {
    switch (a) {
    case ActKind::Linear: return "linear";
    case ActKind::ReLU: return "relu";
    case ActKind::ReLU6: return "relu6";
    case ActKind::LeakyReLU: return "leaky_relu";
    case ActKind::HardSigmoid: return "hard_sigmoid";
    case ActKind::Sigmoid: return "sigmoid";
    case ActKind::Tanh: return "tanh";
    case ActKind::ELU: return "elu";
    case ActKind::SELU: return "selu";
    case ActKind::Softplus: return "softplus";
    case ActKind::Softsign: return "softsign";
    case ActKind::Swish: return "swish";
    case ActKind::GELU: return "gelu";
    }
    return "linear";
}

void checkWidth(const Layer& l, const FixedType& t, const std::string& what, int limit) {
    if (t.width > limit || (!t.isSigned && t.width > limit - 1))
        throw Error(layerError(l, what + " needs a " + std::to_string(t.width) + "-bit exact intermediate (" + t.str() +
                                      "); the generated code supports at most " + std::to_string(limit) +
                                      " bits: narrow the input types"));
}

std::vector<MacEntry> macEntries(const std::vector<int64_t>& w, int nOut) {
    std::vector<MacEntry> nz;
    for (size_t k = 0; k < w.size(); ++k)
        if (w[k] != 0) nz.push_back({k, int(k / size_t(nOut)), int(k % size_t(nOut))});
    return nz;
}

// The kernel's table (nnet_dense.h): grouped by output, n_cycles x n_out x per_output, so
// each unrolled lane adds into a fixed output; short outputs padded with weight 0.
MacTable macTable(const std::vector<MacEntry>& nz, int nOut, int rf, bool resource) {
    std::vector<std::vector<size_t>> perOut(static_cast<size_t>(nOut));  // indices into nz, ascending input
    for (size_t e = 0; e < nz.size(); ++e) perOut[size_t(nz[e].out)].push_back(e);
    MacTable t;
    t.reuseFactor = rf;
    t.resource = resource;
    t.nonzero = nz.size();
    t.longest = 1;
    for (const auto& list : perOut) t.longest = std::max(t.longest, list.size());
    // Resource: ceil(longest / RF) products per output per cycle, in at most RF cycles (fewer
    // when an output has fewer than RF weights: more cycles would only add padding).
    t.perOutput = resource ? (t.longest + size_t(rf) - 1) / size_t(rf) : t.longest;
    t.cycles = (t.longest + t.perOutput - 1) / t.perOutput;
    t.block = size_t(nOut) * t.perOutput;
    t.slot.assign(t.cycles * t.block, MacTable::kPad);
    for (size_t j = 0; j < size_t(nOut); ++j)
        for (size_t q = 0; q < perOut[j].size(); ++q)
            t.slot[((q / t.perOutput) * size_t(nOut) + j) * t.perOutput + q % t.perOutput] = perOut[j][q];
    return t;
}

LayerTiming macTiming(const MacTable& t) {
    LayerTiming r;
    const long long chain = (static_cast<long long>(t.perOutput) + kAddsPerCycle - 1) / kAddsPerCycle;
    if (t.resource) {
        // n_cycles iterations pipelined at II = 1, each a multiply and per_output additions.
        r.ii = static_cast<long long>(t.cycles);
        r.latency = r.ii + kMultiplyCycles + chain;
    } else {
        // Every product in parallel, the function pipelined at II = reuse_factor.
        r.ii = t.reuseFactor;
        r.latency = std::max<long long>(kMultiplyCycles + chain, t.reuseFactor);
    }
    return r;
}

std::string macIndexType(int nIn) { return "ap_uint<" + std::to_string(bitsFor(nIn - 1)) + ">"; }

// Latency configs: gather(x, xt), the input of every weight-table entry as a literal index
// (nnet_dense.h dense_latency), so the products need no index-table multiplexer. Resource
// folds the products over cycles and reads x through w_in (a per-cycle selection by nature).
void macGather(ParamsText& p, const MacTable& t, const std::vector<MacEntry>& nz) {
    p.os << "    template <class data_T>\n"
         << "    static void gather(const data_T x[n_in], data_T xt[n_table]) {\n"
         << "        #pragma HLS INLINE\n";
    for (size_t k = 0; k < t.slot.size(); ++k) {
        const int in = t.slot[k] == MacTable::kPad ? 0 : nz[t.slot[k]].in;
        p.os << (k % 8 == 0 ? "        " : " ") << "xt[" << k << "] = x[" << in << "];"
             << (k % 8 == 7 || k + 1 == t.slot.size() ? "\n" : "");
    }
    p.os << "    }\n";
}

void macScheduleConstants(ParamsText& p, const MacTable& t, const Layer& l, const std::vector<MacEntry>& nz) {
    p.constant("unsigned", "n_nonzero", t.nonzero);
    p.constant("unsigned", "n_cycles", t.cycles);
    p.constant("unsigned", "per_output", t.perOutput);
    p.constant("unsigned", "block_factor", t.block);
    p.constant("unsigned", "n_table", t.slot.size());
    p.constant("unsigned", "reuse_factor", l.schedule.reuseFactor);
    p.constant("unsigned", "strategy", "nnet::" + strategyName(l));
    if (!t.resource) macGather(p, t, nz);
}

std::string macTableArrays(const std::string& id, const FixedType& wT, const std::vector<int64_t>& w,
                           const std::vector<MacEntry>& nz, const MacTable& t, int nOut, const std::string& xNote) {
    std::string body = "// Non-zero weights grouped by output; entry (c * " + std::to_string(nOut) + " + j) * " +
                       std::to_string(t.perOutput) + " + m adds " + id + "_w[t] * x[" + id +
                       "_w_in[t]] to output j in cycle c" + xNote + ".\n";
    body += constArray(id + "_weight_t", id + "_w", t.slot.size(), 8, [&](size_t k) {
        return t.slot[k] == MacTable::kPad ? std::string("0") : literal(wT, w[nz[t.slot[k]].k]);
    });
    body += constArray(id + "_index_in_t", id + "_w_in", t.slot.size(), 16, [&](size_t k) {
        return std::to_string(t.slot[k] == MacTable::kPad ? 0 : nz[t.slot[k]].in);
    });
    return body;
}

// The layer emitters below are the op registry's hls column (ops/OpList.h, HlsEmit.h).

// sum_t / quotient_t for result(sum / den) (nnet_common.h divide_cast); den up to maxDen.
void divideTypes(const Layer& l, ParamsText& p, const FixedType& sum, const FixedType& res, long long maxDen,
                 bool needed) {
    const int resF = res.frac(), sumF = sum.frac();
    const int numBits = sum.width + std::max(0, resF - sumF);
    const int denBits = bitsFor(maxDen) + 1 + std::max(0, sumF - resF);
    if (needed && (sum.width > 64 || numBits > 62 || denBits > 62))
        throw Error(layerError(l, "the exact average of " + sum.str() + " values into " + res.str() +
                                      " needs more than 62-bit integers; narrow the input or result type"));
    const int qw = std::min(numBits + 2, 64);
    p.typedefLine(sum.str(), "sum_t");
    p.typedefLine("ap_fixed<" + std::to_string(qw) + ", " + std::to_string(qw - (resF + 2)) + ">", "quotient_t");
    p.aliasLater.push_back("sum_t");
    p.aliasLater.push_back("quotient_t");
    p.constantsLater.push_back({"int", "sum_width", std::to_string(std::min(sum.width, 64))});
    p.constantsLater.push_back({"int", "sum_frac", std::to_string(sumF)});
    p.constantsLater.push_back({"int", "quotient_width", std::to_string(qw)});
    p.constantsLater.push_back({"int", "result_frac", std::to_string(resF)});
}

// Spatial geometry of a window layer (conv, pooling) as 2-D (1-D has height 1).
struct Geometry {
    int inH = 1, inW = 1, C = 1, outH = 1, outW = 1, kH = 1, kW = 1, sH = 1, sW = 1, dH = 1, dW = 1, pT = 0, pL = 0;
    void emit(ParamsText& p) const {
        p.constant("unsigned", "in_height", inH);
        p.constant("unsigned", "in_width", inW);
        p.constant("unsigned", "n_chan", C);
        p.constant("unsigned", "out_height", outH);
        p.constant("unsigned", "out_width", outW);
        p.constant("unsigned", "filt_height", kH);
        p.constant("unsigned", "filt_width", kW);
        p.constant("unsigned", "stride_height", sH);
        p.constant("unsigned", "stride_width", sW);
        p.constant("unsigned", "dilation_height", dH);
        p.constant("unsigned", "dilation_width", dW);
        p.constant("unsigned", "pad_top", pT);
        p.constant("unsigned", "pad_left", pL);
        p.constant("unsigned", "buffer_rows", std::min((kH - 1) * dH + 1, inH));
    }
};

Geometry windowGeometry(int rank, const Shape& in, const Shape& out, const std::vector<int>& kernel,
                        const std::vector<int>& strides, const std::vector<int>& dilation,
                        const std::vector<int>& padBegin) {
    Geometry g;
    const size_t r = size_t(rank);
    g.inH = rank == 2 ? in[0] : 1;
    g.inW = in[r - 1];
    g.C = in.back();
    g.outH = rank == 2 ? out[0] : 1;
    g.outW = out[r - 1];
    g.kH = rank == 2 ? kernel[0] : 1;
    g.kW = kernel[r - 1];
    g.sH = rank == 2 ? strides[0] : 1;
    g.sW = strides[r - 1];
    if (!dilation.empty()) {
        g.dH = rank == 2 ? dilation[0] : 1;
        g.dW = dilation[r - 1];
    }
    if (!padBegin.empty()) {
        g.pT = rank == 2 ? padBegin[0] : 0;
        g.pL = padBegin[r - 1];
    }
    return g;
}

std::string shapeText(const Shape& s) {
    std::string t;
    for (size_t k = 0; k < s.size(); ++k) t += (k ? "x" : "") + std::to_string(s[k]);
    return t;
}

KernelCall oneCall(const std::string& kernel, const LayerCode& c, const LayerInputs& in, const std::string& out) {
    KernelCall k;
    k.kernel = kernel;
    k.config = c.id + "_config";
    k.inputs = in.keys;
    k.output = out;
    return k;
}

// A binary x binary Dense or Conv (passes/BinaryMac.h, as the emulator computes it):
// nnet_dense.h's dense_xnor or nnet_conv.h's conv_xnor, the weight signs packed in ap_uint
// words, a popcount of the XNOR per output. The convolution's constants are the offset and
// half the step (its count is 2 agree + padded, docs/semantics.md).
void emitMacXnor(const Layer& l, const LayerInputs& in, const BinaryMac& f, LayerCode& c, ParamsText& p) {
    const bool conv = l.kind == LayerKind::Conv;
    const int nIn = f.nIn, nOut = f.nOut, positions = l.outSize() / nOut;
    const int wordBits = std::min(nIn, 64), nWords = (nIn + wordBits - 1) / wordBits;
    const FixedType& accT = l.type("accum");
    // step_j = 2 a h_j <= accum's whole range (the sum +-n a h_j fits it): unsigned, one bit more.
    const FixedType stepT = FixedType::fixed(accT.width + 1, accT.integer + 1, false);
    const bool relu = l.activation() == ActKind::ReLU;
    Geometry geo;
    if (conv) {
        const ConvAttrs& a = l.as<ConvAttrs>();
        if (a.rank != 1 && a.rank != 2) throw Error(layerError(l, "only 1-D and 2-D convolutions are supported"));
        geo = windowGeometry(a.rank, in.shapes[0], l.shape, a.kernel, a.strides, a.dilation, a.padBegin);
    }
    p.os << "// " << l.name << ": " << hlsClassName(l) << " " << shapeText(in.shapes[0]) << " -> " << shapeText(l.shape);
    if (conv)
        p.os << ", kernel " << geo.kH << "x" << geo.kW << ", stride " << geo.sH << "x" << geo.sW << ", dilation "
             << geo.dH << "x" << geo.dW;
    p.os << (relu ? ", with ReLU" : "") << ", binary input (+-" << f.inputLevel << " LSB) x binary weights: XNOR-popcount, "
         << nWords << " word(s) of " << wordBits << " bits per output, ReuseFactor " << l.schedule.reuseFactor << "\n";
    p.typedefLine("ap_uint<" + std::to_string(wordBits) + ">", "word_t");
    p.typedefLine("ap_uint<" + std::to_string(bitsFor(nIn)) + ">", "count_t");
    p.typedefLine(accT.str(), "accum_t");
    p.typedefLine(stepT.str(), "step_t");
    p.typedefLine(l.type("result").str(), "result_t");
    p.beginConfig(conv ? "conv_xnor_config" : "dense_xnor_config");
    p.constant("unsigned", "n_in", nIn);
    p.constant("unsigned", "n_out", nOut);
    if (conv) {
        geo.emit(p);
        p.constant("unsigned", "n_filt", nOut);
    }
    p.constant("unsigned", "n_positions", positions);
    p.constant("unsigned", "word_bits", wordBits);
    p.constant("unsigned", "n_words", nWords);
    p.constant("unsigned", "reuse_factor", l.schedule.reuseFactor);
    p.constant("bool", "relu", boolText(relu));
    for (const char* v : {"word_t", "count_t", "accum_t", "step_t"}) p.alias(v);
    p.endConfig();

    std::string body = "// Weight signs (1: +h, 0: -h) of output j in words j * " + std::to_string(nWords) +
                       " .. ; bit i % " + std::to_string(wordBits) + " of word i / " + std::to_string(wordBits) +
                       " is " + (conv ? "window input i (kernel positions row-major, then input channels)" : "input i") +
                       ".\n";
    body += constArray(c.id + "_word_t", c.id + "_wbits", size_t(nOut) * size_t(nWords), 4, [&](size_t k) {
        const size_t j = k / size_t(nWords), word = k % size_t(nWords);
        uint64_t v = 0;
        for (int b = 0; b < wordBits; ++b) {
            const size_t i = word * size_t(wordBits) + size_t(b);
            if (i < size_t(nIn) && f.weightBit[i * size_t(nOut) + j]) v |= uint64_t(1) << b;
        }
        std::ostringstream os;
        os << "0x" << std::hex << v << "ULL";
        return os.str();
    });
    if (conv)
        body += "// acc_j = offset_j + half_j * (2 * agree_j + padded) (offset_j = accum(b_j) - n_in a h_j, half_j = a h_j).\n";
    else
        body += "// acc_j = offset_j + step_j * popcount_j (offset_j = accum(b_j) - n_in a h_j, step_j = 2 a h_j).\n";
    body += constArray(c.id + "_accum_t", c.id + "_offset", size_t(nOut), 8,
                       [&](size_t j) { return literal(accT, f.offset[j]); });
    const std::string stepName = c.id + (conv ? "_half" : "_step");
    body += constArray(c.id + "_step_t", stepName, size_t(nOut), 8,
                       [&](size_t j) { return literal(stepT, conv ? f.step[j] / 2 : f.step[j]); });
    c.constants.push_back({c.id + "_w.h", header(c.id, "w", body)});
    KernelCall k = oneCall(conv ? "conv_xnor" : "dense_xnor", c, in, l.name);
    k.constantArgs = {c.id + "_wbits", c.id + "_offset", stepName};
    c.calls.push_back(k);
    // One register stage for the XNORs, the popcount tree kAddsPerCycle levels per cycle,
    // then the offset + step * count.
    int levels = 0;
    while ((1 << levels) < nIn) ++levels;
    const long long one = 1 + (levels + kAddsPerCycle - 1) / kAddsPerCycle + kMultiplyCycles;
    c.timing.latency = positions * std::max<long long>(one, l.schedule.reuseFactor);
    c.timing.ii = static_cast<long long>(positions) * l.schedule.reuseFactor;
    c.timing.detail = std::to_string(positions) + " x xnor-popcount(" + std::to_string(one) + " cycles, II " +
                      std::to_string(l.schedule.reuseFactor) + ")";
}

// Dense (over the last axis) and Conv (1-D/2-D, plain or depthwise): the non-zero weights
// as (value, window index, output) entries in ascending window order.
void emitMac(const Layer& l, const LayerInputs& in, const LoweredGraph& low, LayerCode& c, ParamsText& p) {
    if (const BinaryMac* f = low.binaryMac(l.name)) {
        emitMacXnor(l, in, *f, c, p);
        return;
    }
    const auto& w = low.weightRaw(l.name);
    const auto& b = low.biasRaw(l.name);
    const bool conv = l.kind == LayerKind::Conv;
    const ActKind act = l.activation();
    if (act != ActKind::Linear && act != ActKind::ReLU)
        throw Error(layerError(l, "only linear and relu can be fused into a " + toString(l.kind) + " layer, got " +
                                      toString(act)));
    int nIn = 0, nOut = 0, positions = 1, mult = 1;
    bool depthwise = false;
    Geometry geo;
    if (conv) {
        const ConvAttrs& a = l.as<ConvAttrs>();
        if (a.rank != 1 && a.rank != 2) throw Error(layerError(l, "only 1-D and 2-D convolutions are supported"));
        geo = windowGeometry(a.rank, in.shapes[0], l.shape, a.kernel, a.strides, a.dilation, a.padBegin);
        depthwise = a.depthwise;
        mult = a.depthMultiplier;
        nIn = geo.kH * geo.kW * geo.C;
        nOut = a.outChannels;
    } else {
        const DenseAttrs& a = l.as<DenseAttrs>();
        nIn = a.nIn;
        nOut = a.nOut;
        positions = l.outSize() / nOut;
    }
    // Entries sorted by window index, so every output accumulates in ascending order.
    std::vector<MacEntry> nz;
    if (depthwise) {
        for (size_t k = 0; k < w.size(); ++k)
            if (w[k] != 0) {
                const int tap = int(k / size_t(nOut)), o = int(k % size_t(nOut));
                nz.push_back({k, tap * geo.C + o / mult, o});
            }
    } else {
        nz = macEntries(w, nOut);
    }
    const int rf = l.schedule.reuseFactor;
    const MacTable table = macTable(nz, nOut, rf, strategyName(l) == "resource");
    const FixedType& wT = l.type("weight");

    p.os << "// " << l.name << ": " << hlsClassName(l) << " " << shapeText(in.shapes[0]) << " -> " << shapeText(l.shape);
    if (conv) {
        p.os << ", kernel " << geo.kH << "x" << geo.kW << ", stride " << geo.sH << "x" << geo.sW << ", dilation "
             << geo.dH << "x" << geo.dW;
    }
    p.os << (act == ActKind::ReLU ? ", with ReLU" : "") << ", " << nz.size() << " of " << w.size()
         << " weights non-zero, " << toString(l.schedule.strategy) << " ReuseFactor " << rf << "\n";
    p.typedefLine(wT.str(), "weight_t");
    p.typedefLine(l.type("bias").str(), "bias_t");
    p.typedefLine(l.type("accum").str(), "accum_t");
    p.typedefLine(l.type("result").str(), "result_t");
    p.typedefLine(macIndexType(nIn), "index_in_t");
    p.beginConfig(conv ? "conv_config" : "dense_config");
    p.constant("unsigned", "n_in", nIn);
    p.constant("unsigned", "n_out", nOut);
    if (conv) {
        geo.emit(p);
        p.constant("unsigned", "n_filt", nOut);
    } else {
        p.constant("unsigned", "n_positions", positions);
    }
    macScheduleConstants(p, table, l, nz);
    p.constant("bool", "relu", boolText(act == ActKind::ReLU));
    for (const char* v : {"accum_t", "weight_t", "bias_t", "index_in_t"}) p.alias(v);
    p.endConfig();

    c.constants.push_back({c.id + "_w.h", header(c.id, "w", macTableArrays(c.id, wT, w, nz, table, nOut,
                                                                           conv ? " (x: the window, kernel positions "
                                                                                  "row-major, then input channels)"
                                                                                : ""))});
    const FixedType& bT = l.type("bias");
    c.constants.push_back({c.id + "_b.h", header(c.id, "b", constArray(c.id + "_bias_t", c.id + "_b", b.size(), 8,
                                                                  [&](size_t k) { return literal(bT, b[k]); }))});
    KernelCall k = oneCall(conv ? "conv" : "dense", c, in, l.name);
    k.constantArgs = {c.id + "_w", c.id + "_w_in", c.id + "_b"};
    c.calls.push_back(k);
    // One product per output position, in sequence.
    const LayerTiming one = macTiming(table);
    const long long where = conv ? static_cast<long long>(geo.outH) * geo.outW : positions;
    c.timing.latency = where * one.latency;
    c.timing.ii = where * one.ii;
    c.timing.detail = std::to_string(where) + " x product(" + std::to_string(one.latency) + " cycles, II " +
                      std::to_string(one.ii) + ")";
}

void emitPooling(const Layer& l, const LayerInputs& in, const LoweredGraph&, LayerCode& c, ParamsText& p) {
    const PoolAttrs& a = l.as<PoolAttrs>();
    if (a.rank != 1 && a.rank != 2) throw Error(layerError(l, "only 1-D and 2-D pooling is supported"));
    const Shape& s = in.shapes[0];
    Geometry geo;
    if (a.global) {
        geo.inH = a.rank == 2 ? s[0] : 1;
        geo.inW = s[size_t(a.rank - 1)];
        geo.C = s.back();
        geo.kH = geo.inH;
        geo.kW = geo.inW;
    } else {
        geo = windowGeometry(a.rank, s, l.shape, a.kernel, a.strides, {}, a.padBegin);
    }
    const bool average = a.op == PoolOp::Average;
    const FixedType& inT = in.types[0];
    const int taps = geo.kH * geo.kW;
    // The exact sum of `taps` input values, signed.
    const int grow = bitsFor(taps) + 1 + (inT.isSigned ? 0 : 1);
    const FixedType sum = FixedType::fixed(inT.width + grow, inT.integer + grow, true);
    p.os << "// " << l.name << ": " << hlsClassName(l) << " " << shapeText(s) << " -> " << shapeText(l.shape)
         << (a.global ? "" : ", window " + std::to_string(geo.kH) + "x" + std::to_string(geo.kW) + ", stride " +
                                 std::to_string(geo.sH) + "x" + std::to_string(geo.sW))
         << (average && a.countPadding ? ", padding counted" : "") << "\n";
    p.typedefLine(l.type("result").str(), "result_t");
    divideTypes(l, p, sum, l.type("result"), taps, average);
    p.beginConfig("pooling_config");
    geo.emit(p);
    p.constant("unsigned", "reuse_factor", l.schedule.reuseFactor);
    p.constant("unsigned", "op", average ? "nnet::average_pool" : "nnet::max_pool");
    p.constant("bool", "count_padding", boolText(a.countPadding));
    p.constant("bool", "global", boolText(a.global));
    p.flushLater();
    p.endConfig();
    c.calls.push_back(oneCall("pooling", c, in, l.name));
}

void emitBatchNorm(const Layer& l, const LayerInputs& in, const LoweredGraph& low, LayerCode& c, ParamsText& p) {
    const auto& s = low.scaleRaw(l.name);
    const auto& h = low.biasRaw(l.name);
    const FixedType& sT = l.type("scale");
    const FixedType& hT = l.type("shift");
    p.os << "// " << l.name << ": BatchNormalization over " << shapeText(l.shape) << " (" << s.size()
         << " channels)\n";
    p.typedefLine(sT.str(), "scale_t");
    p.typedefLine(hT.str(), "shift_t");
    p.typedefLine(l.type("result").str(), "result_t");
    p.beginConfig("batchnorm_config");
    p.constant("unsigned", "n_in", l.outSize());
    p.constant("unsigned", "n_chan", s.size());
    p.constant("unsigned", "reuse_factor", l.schedule.reuseFactor);
    p.alias("scale_t");
    p.alias("shift_t");
    p.endConfig();
    std::string body = constArray(c.id + "_scale_t", c.id + "_scale", s.size(), 8, [&](size_t k) { return literal(sT, s[k]); });
    body += constArray(c.id + "_shift_t", c.id + "_shift", h.size(), 8, [&](size_t k) { return literal(hT, h[k]); });
    c.constants.push_back({c.id + "_s.h", header(c.id, "s", body)});
    KernelCall k = oneCall("batchnorm", c, in, l.name);
    k.constantArgs = {c.id + "_scale", c.id + "_shift"};
    c.calls.push_back(k);
}

void emitActivation(const Layer& l, const LayerInputs& in, const LoweredGraph& low, LayerCode& c, ParamsText& p) {
    const FixedType& inType = in.types[0];
    const int n = l.outSize();
    const ActKind a = l.activation();
    p.os << "// " << l.name << ": " << toString(a) << " over " << shapeText(l.shape) << "\n";
    const std::vector<int64_t>& raw = low.paramRaw(l.name);
    const bool hasParam = !raw.empty();
    const bool hasTable = usesTable(a);
    const LookupTable* table = hasTable ? low.activationTable(l.name) : nullptr;
    if (hasTable && (!table || table->size == 0))
        throw Error(layerError(l, "the emulator built no lookup table for " + toString(a)));
    // hls4ml's table index multiplies the raw key in a long long (nnet_common.h table_index).
    auto bitsOf = [](int64_t v) { int b = 0; for (; v > 0; v >>= 1) ++b; return b; };
    if (hasTable && table->den > 0 && inType.width + bitsOf(table->mul) > 62)
        throw Error(layerError(l, "hls4ml's table index of a " + inType.str() + " input times " +
                                      std::to_string(table->mul) + " exceeds 62 bits: use a narrower input type"));
    if (hasParam) p.typedefLine(l.type("param").str(), "param_t");
    if (hasTable) p.typedefLine(table->valueType.str(), "table_t");
    p.typedefLine(rawIntType(inType), "key_t");
    p.typedefLine(l.type("result").str(), "result_t");
    p.beginConfig("activation_config");
    p.constant("unsigned", "n_in", n);
    p.constant("unsigned", "n_chan", l.shape.back());
    p.constant("unsigned", "reuse_factor", l.schedule.reuseFactor);
    p.constant("unsigned", "function", "nnet::" + functionName(a));
    p.constant("unsigned", "in_width", inType.width);
    p.alias("key_t");
    if (hasParam) {
        p.constant("unsigned", "n_param", raw.size());
        p.alias("param_t");
    }
    if (hasTable) {
        p.alias("table_t");
        tableStruct(p, "table", *table);
    }
    p.endConfig();

    KernelCall k = oneCall("activation", c, in, l.name);
    k.constantArgs = {hasTable ? c.id + "_table" : "nnet::none", hasParam ? c.id + "_param" : "nnet::none"};
    c.calls.push_back(k);
    if (hasParam) {
        // The same quantisation as the emulator: cast<param> of the trained constants.
        const FixedType& pT = l.type("param");
        const char* what = a == ActKind::LeakyReLU ? "{alpha}" : a == ActKind::HardSigmoid ? "{slope, offset}" : "{lambda}";
        c.constants.push_back({c.id + "_param.h",
                               header(c.id, "param", std::string("// ") + what + "\n" +
                                                         constArray(c.id + "_param_t", c.id + "_param", raw.size(), 8,
                                                                    [&](size_t k) { return literal(pT, raw[k]); }))});
    }
    if (hasTable)
        c.constants.push_back({c.id + "_table.h", header(c.id, "table", tableArray(c.id + "_table_t", c.id + "_table", *table))});
}

// hls4ml's softmax implementations (nnet_softmax.h: softmax_stable, softmax_latency,
// softmax_legacy, softmax_argmax), with the emulator's tables.
void emitHls4mlSoftmax(const Layer& l, const LayerInputs& in, const SoftmaxTables& t, LayerCode& c, ParamsText& p) {
    const FixedType& inType = in.types[0];
    const int n = l.outSize();
    const SoftmaxImpl kind = t.implementation;
    const std::string impl = toString(kind);   // hls4ml's name: softmax_<impl> in nnet_softmax.h
    p.os << "// " << l.name << ": Softmax over " << n << " values, hls4ml's " << impl << " implementation\n";
    auto log2Of = [](int size) {
        int b = 0;
        while ((1 << b) < size) ++b;
        return b;
    };
    if (kind == SoftmaxImpl::Stable || kind == SoftmaxImpl::Latency) {
        p.typedefLine(t.exp.valueType.str(), "exp_table_t");
        p.typedefLine(t.inv.valueType.str(), "inv_table_t");
        p.typedefLine(t.accumType.str(), "accum_t");
        p.typedefLine(t.invInpType.str(), "inv_inp_t");
        if (kind == SoftmaxImpl::Stable) p.typedefLine(t.normType.str(), "inp_norm_t");
    } else if (kind == SoftmaxImpl::Legacy) {
        p.typedefLine(t.legacyType.str(), "table_t");
        p.typedefLine(rawIntType(inType), "key_t");
        p.typedefLine(rawIntType(t.legacyType), "table_key_t");
    }
    p.typedefLine(l.type("result").str(), "result_t");
    p.beginConfig("softmax_config");
    p.constant("unsigned", "n_in", n);
    p.constant("unsigned", "reuse_factor", l.schedule.reuseFactor);
    if (kind == SoftmaxImpl::Stable || kind == SoftmaxImpl::Latency) {
        p.constant("unsigned", "exp_table_size", t.exp.size);
        p.constant("unsigned", "inv_table_size", t.inv.size);
        p.constant("int", "exp_bits", log2Of(t.exp.size));
        p.constant("int", "inv_bits", log2Of(t.inv.size));
        for (const char* v : {"exp_table_t", "inv_table_t", "accum_t", "inv_inp_t"}) p.alias(v);
        if (kind == SoftmaxImpl::Stable) p.alias("inp_norm_t");
    } else if (kind == SoftmaxImpl::Legacy) {
        // trunc(raw * mul / den) = trunc(value * size / 16) (exp) or trunc(value * size / 64) (inv).
        auto scaled = [&](const std::string& name, int size, int den, int frac) {
            const int up = std::max(-frac, 0), down = std::max(frac, 0);
            if (inType.width + 2 + log2Of(size) + up > 62 || down + 7 > 62)
                throw Error(layerError(l, "the legacy softmax index does not fit 64-bit integers"));
            p.constant("long long", name + "_mul", std::to_string((long long)size << up) + "LL");
            p.constant("long long", name + "_den", std::to_string((long long)den << down) + "LL");
        };
        p.constant("unsigned", "in_width", inType.width);
        p.constant("unsigned", "exp_table_size", t.exp.size);
        p.constant("unsigned", "inv_table_size", t.inv.size);
        scaled("exp", t.exp.size, 16, inType.frac());
        scaled("inv", t.inv.size, 64, t.legacyType.frac());
        for (const char* v : {"table_t", "key_t", "table_key_t"}) p.alias(v);
    }
    p.endConfig();
    KernelCall k = oneCall("softmax_" + impl, c, in, l.name);
    if (kind == SoftmaxImpl::Argmax) {
        c.calls.push_back(k);
        return;
    }
    const std::string expT = kind == SoftmaxImpl::Legacy ? "_table_t" : "_exp_table_t";
    const std::string invT = kind == SoftmaxImpl::Legacy ? "_table_t" : "_inv_table_t";
    std::string body = tableArray(c.id + expT, c.id + "_exp_table", t.exp) +
                       tableArray(c.id + invT, c.id + "_inv_table", t.inv);
    c.constants.push_back({c.id + "_table.h", header(c.id, "table", body)});
    k.constantArgs = {c.id + "_exp_table", c.id + "_inv_table"};
    c.calls.push_back(k);
}

void emitSoftmax(const Layer& l, const LayerInputs& in, const LoweredGraph& low, LayerCode& c, ParamsText& p) {
    const FixedType& inType = in.types[0];
    const SoftmaxTables* t = low.softmaxTables(l.name);
    if (!t) throw Error(layerError(l, "the emulator built no softmax tables"));
    if (t->implementation != SoftmaxImpl::Tachyon) {
        if (l.outSize() != l.shape.back())
            throw Error(layerError(l, "hls4ml's softmax implementations run over a 1-D tensor only"));
        return emitHls4mlSoftmax(l, in, *t, c, p);
    }
    const int n = l.shape.back();
    p.os << "// " << l.name << ": Softmax over the last axis of " << shapeText(l.shape)
         << " (exp and inverse lookup tables)\n";
    p.typedefLine(t->exp.valueType.str(), "exp_table_t");
    p.typedefLine(t->inv.valueType.str(), "inv_table_t");
    p.typedefLine(rawIntType(inType), "key_t");
    p.typedefLine("ap_uint<" + std::to_string(inType.width) + ">", "diff_t");
    p.typedefLine(t->sumType.str(), "sum_t");
    p.typedefLine(rawIntType(t->sumType), "sum_key_t");
    p.typedefLine(l.type("result").str(), "result_t");
    p.beginConfig("softmax_config");
    p.constant("unsigned", "n_in", n);
    p.constant("unsigned", "n_groups", l.outSize() / n);
    p.constant("unsigned", "reuse_factor", l.schedule.reuseFactor);
    p.constant("unsigned", "in_width", inType.width);
    p.constant("unsigned", "sum_width", t->sumType.width);
    for (const char* v : {"exp_table_t", "inv_table_t", "key_t", "diff_t", "sum_t", "sum_key_t"}) p.alias(v);
    tableStruct(p, "exp_table", t->exp);
    tableStruct(p, "inv_table", t->inv);
    p.endConfig();
    std::string body = tableArray(c.id + "_exp_table_t", c.id + "_exp_table", t->exp) +
                       tableArray(c.id + "_inv_table_t", c.id + "_inv_table", t->inv);
    c.constants.push_back({c.id + "_table.h", header(c.id, "table", body)});
    KernelCall k = oneCall("softmax", c, in, l.name);
    k.constantArgs = {c.id + "_exp_table", c.id + "_inv_table"};
    c.calls.push_back(k);
}

// A shape as [d0, d1, d2] (leading 1s), the last axis kept last.
std::array<int, 3> as3(const Layer& l, const Shape& s) {
    if (s.size() > 3) throw Error(layerError(l, "tensors of more than 3 axes per sample are not supported"));
    std::array<int, 3> d{1, 1, 1};
    for (size_t k = 0; k < s.size(); ++k) d[3 - s.size() + k] = s[k];
    return d;
}

void movementHeader(const Layer& l, const LayerInputs& in, ParamsText& p, const std::string& what) {
    p.os << "// " << l.name << ": " << what << " " << shapeText(in.shapes[0]) << " -> " << shapeText(l.shape) << "\n";
    p.typedefLine(l.type("result").str(), "result_t");
    p.beginConfig("movement_config");
    int nIn = 1;
    for (int d : in.shapes[0]) nIn *= d;
    p.constant("unsigned", "n_in", nIn);
    p.constant("unsigned", "n_out", l.outSize());
    p.constant("unsigned", "in_chan", in.shapes[0].back());
    p.constant("unsigned", "out_chan", l.shape.back());
    p.constant("unsigned", "reuse_factor", l.schedule.reuseFactor);
}

void emitMovement(const Layer& l, const LayerInputs& in, const LoweredGraph&, LayerCode& c, ParamsText& p) {
    switch (l.kind) {
    case LayerKind::Reshape:
        movementHeader(l, in, p, "Reshape");
        p.endConfig();
        c.calls.push_back(oneCall("reshape", c, in, l.name));
        return;
    case LayerKind::Transpose: {
        const auto& perm = l.as<TransposeAttrs>().perm;
        std::string permText;
        for (int q : perm) permText += (permText.empty() ? "" : ",") + std::to_string(q);
        movementHeader(l, in, p, "Transpose (" + permText + ")");
        p.endConfig();
        const Shape& is = in.shapes[0];
        const Shape& os = l.shape;
        std::vector<long long> inStride(is.size(), 1), outStride(os.size(), 1);
        for (size_t d = is.size(); d-- > 1;) inStride[d - 1] = inStride[d] * is[d];
        for (size_t d = os.size(); d-- > 1;) outStride[d - 1] = outStride[d] * os[d];
        auto source = [&](size_t k) {
            long long src = 0;
            for (size_t d = 0; d < os.size(); ++d) src += (long long)(k / size_t(outStride[d]) % size_t(os[d])) * inStride[size_t(perm[d])];
            return std::to_string(src);
        };
        c.constants.push_back({c.id + "_index.h",
                               header(c.id, "index", "// Output element i is input element " + c.id + "_index[i].\n" +
                                                         constArray("unsigned", c.id + "_index", size_t(l.outSize()), 16, source))});
        KernelCall k = oneCall("transpose", c, in, l.name);
        k.constantArgs = {c.id + "_index"};
        c.calls.push_back(k);
        return;
    }
    case LayerKind::Pad: {
        const auto& a = l.as<PadAttrs>();
        movementHeader(l, in, p, "ZeroPadding");
        const auto di = as3(l, in.shapes[0]), dout = as3(l, l.shape);
        std::array<int, 3> pad{0, 0, 0};
        for (size_t k = 0; k < a.padBegin.size(); ++k) pad[3 - a.padBegin.size() + k] = a.padBegin[k];
        for (int k = 0; k < 3; ++k) {
            p.constant("unsigned", "in_d" + std::to_string(k), di[size_t(k)]);
            p.constant("unsigned", "out_d" + std::to_string(k), dout[size_t(k)]);
            p.constant("unsigned", "pad" + std::to_string(k), pad[size_t(k)]);
        }
        p.endConfig();
        c.calls.push_back(oneCall("zeropad", c, in, l.name));
        return;
    }
    case LayerKind::Resize: {
        const auto& a = l.as<ResizeAttrs>();
        movementHeader(l, in, p, "UpSampling (nearest)");
        const auto di = as3(l, in.shapes[0]), dout = as3(l, l.shape);
        std::array<int, 3> scale{1, 1, 1};
        for (size_t k = 0; k < a.scale.size(); ++k) scale[3 - a.scale.size() + k] = a.scale[k];
        for (int k = 0; k < 3; ++k) {
            p.constant("unsigned", "in_d" + std::to_string(k), di[size_t(k)]);
            p.constant("unsigned", "out_d" + std::to_string(k), dout[size_t(k)]);
            p.constant("unsigned", "scale" + std::to_string(k), scale[size_t(k)]);
        }
        p.endConfig();
        c.calls.push_back(oneCall("resize_nearest", c, in, l.name));
        return;
    }
    default: throw Error(layerError(l, "not a data-movement layer"));
    }
}

// Merges and concatenations of n inputs: n - 1 two-input calls; the intermediate tensors
// `<id>_partK` have exact types (merges) or the result type (concatenation).
void emitMultiInput(const Layer& l, const LayerInputs& in, const LoweredGraph&, LayerCode& c, ParamsText& p) {
    const size_t n = in.keys.size();
    const bool concat = l.kind == LayerKind::Concatenate;
    const FixedType& res = l.type("result");
    if (n < 2) throw Error(layerError(l, "needs at least two inputs"));
    const MergeOp op = concat ? MergeOp::Add : l.as<MergeAttrs>().op;
    if (!concat && op == MergeOp::Subtract && n != 2) throw Error(layerError(l, "Subtract takes exactly two inputs"));
    const int axis = concat ? l.as<ConcatAttrs>().axis : 0;
    std::string opName;
    switch (op) {
    case MergeOp::Add: opName = "add"; break;
    case MergeOp::Subtract: opName = "subtract"; break;
    case MergeOp::Multiply: opName = "multiply"; break;
    case MergeOp::Average: opName = "average"; break;
    case MergeOp::Maximum: opName = "maximum"; break;
    case MergeOp::Minimum: opName = "minimum"; break;
    }
    p.os << "// " << l.name << ": " << (concat ? "Concatenate along axis " + std::to_string(axis) : hlsClassName(l)) << " of "
         << n << " inputs -> " << shapeText(l.shape) << (n > 2 ? " (a chain of two-input steps)" : "") << "\n";
    std::string prevKey = in.keys[0];
    FixedType prevType = in.types[0];
    Shape prevShape = in.shapes[0];
    for (size_t k = 1; k < n; ++k) {
        const bool last = k + 1 == n;
        const std::string stepId = last ? c.id : c.id + "_part" + std::to_string(k);
        const FixedType& b = in.types[k];
        FixedType outT = res;
        Shape outShape = l.shape;
        if (concat) {
            outShape = prevShape;
            outShape[size_t(axis)] += in.shapes[k][size_t(axis)];
        } else if (!last) {
            outT = op == MergeOp::Multiply ? productType(prevType, b)
                   : (op == MergeOp::Maximum || op == MergeOp::Minimum) ? commonType(prevType, b)
                                                                         : sumType(prevType, b);
            checkWidth(l, outT, "the exact partial " + opName);
        }
        ParamsText q;
        q.id = stepId;
        if (!last) {
            q.typedefLine(outT.str(), "t");
            TensorInfo t;
            t.key = stepId;
            t.var = stepId;
            t.type = stepId + "_t";
            t.beat = stepId + "_beat_t";
            t.size = 1;
            for (int d : outShape) t.size *= d;
            t.chan = outShape.back();
            c.intermediates.push_back(t);
        } else {
            q.typedefLine(res.str(), "result_t");
        }
        int size = 1;
        for (int d : outShape) size *= d;
        if (concat) {
            int outer = 1, inner = 1;
            for (int d = 0; d < axis; ++d) outer *= outShape[size_t(d)];
            for (size_t d = size_t(axis) + 1; d < outShape.size(); ++d) inner *= outShape[d];
            q.beginConfig("movement_config");
            q.constant("unsigned", "n_out", size);
            q.constant("unsigned", "out_chan", outShape.back());
            q.constant("unsigned", "outer", outer);
            q.constant("unsigned", "a_block", prevShape[size_t(axis)] * inner);
            q.constant("unsigned", "b_block", in.shapes[k][size_t(axis)] * inner);
            q.constant("bool", "last_axis", boolText(size_t(axis) + 1 == outShape.size()));
            q.constant("unsigned", "reuse_factor", l.schedule.reuseFactor);
            q.endConfig();
        } else {
            const FixedType sum = sumType(prevType, b);
            checkWidth(l, sum, "the exact sum");
            if (op == MergeOp::Multiply) checkWidth(l, productType(prevType, b), "the exact product");
            const MergeOp stepOp = (op == MergeOp::Average && !last) ? MergeOp::Add : op;
            divideTypes(l, q, sum, outT, (long long)n, stepOp == MergeOp::Average);
            q.beginConfig("merge_config");
            q.constant("unsigned", "n_elem", size);
            q.constant("unsigned", "n_chan", outShape.back());
            q.constant("unsigned", "reuse_factor", l.schedule.reuseFactor);
            q.constant("unsigned", "op", "nnet::" + (stepOp == MergeOp::Add ? std::string("add") : opName));
            q.constant("unsigned", "divisor", stepOp == MergeOp::Average ? n : 1);
            q.flushLater();
            q.endConfig();
        }
        p.os << q.os.str();
        KernelCall call;
        call.kernel = concat ? "concatenate" : "merge";
        call.config = stepId + "_config";
        call.inputs = {prevKey, in.keys[k]};
        call.output = last ? l.name : stepId;
        c.calls.push_back(call);
        prevKey = stepId;
        prevType = outT;
        prevShape = outShape;
    }
}

std::map<std::string, std::string> cppNames(const Graph& g) {
    static const std::set<std::string> reserved = {
        "int", "float", "double", "char", "short", "long", "unsigned", "signed", "bool", "void", "auto",
        "const", "static", "struct", "class", "return", "if", "else", "for", "while", "do", "switch", "case",
        "default", "break", "continue", "new", "delete", "this", "operator", "template", "typename",
        "namespace", "using", "union", "enum", "register", "volatile", "extern", "inline", "virtual",
        "private", "public", "protected", "friend", "goto", "sizeof", "typedef", "true", "false", "main",
        "nnet", "hls", "std", "input_t", "result_t"};
    std::map<std::string, std::string> out;
    std::set<std::string> used;
    for (const Layer& l : g.layers) {
        std::string id;
        for (char ch : l.name) id += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
        if (id.empty() || std::isdigit(static_cast<unsigned char>(id[0]))) id = "layer_" + id;
        if (reserved.count(id) || id.rfind("ap_", 0) == 0) id = "layer_" + id;
        std::string unique = id;
        for (int k = 2; used.count(unique); ++k) unique = id + "_" + std::to_string(k);
        used.insert(unique);
        out[l.name] = unique;
    }
    return out;
}

std::string literal(const FixedType& t, int64_t raw) {
    const int f = t.frac();
    const int64_t limit = int64_t(1) << 53;
    if (raw > -limit && raw < limit) return shortestDouble(std::ldexp(double(raw), -f));
    // Wider than a double's mantissa: the sum of two exact halves, added exactly in `t`.
    const int64_t lo = raw & 0xffffffff, hi = raw - lo;
    return t.str() + "(" + shortestDouble(std::ldexp(double(hi), -f)) + ") + " + t.str() + "(" +
           shortestDouble(std::ldexp(double(lo), -f)) + ")";
}

LayerCode emitWithParams(ParamsEmitter emit, const Layer& l, const std::string& id, const LayerInputs& in,
                         const LoweredGraph& low) {
    LayerCode c;
    c.id = id;
    ParamsText p;
    p.id = id;
    emit(l, in, low, c, p);
    if (c.timing.detail.empty()) {
        // Not modelled in detail: a register stage (a reshape is wiring only).
        c.timing.latency = l.kind == LayerKind::Reshape ? 0 : 1;
        c.timing.detail = "nominal";
    }
    c.params = p.os.str();
    return c;
}

LayerCode inputLayer(const Layer& l, const std::string&, const LayerInputs&, const LoweredGraph&) {
    throw Error(layerError(l, "the Input layer has no kernel"));
}

LayerCode emitGarNetLayer(const Layer& l, const std::string& id, const LayerInputs& in, const LoweredGraph& low) {
    LayerCode c;   // HlsGarNet.cpp writes its own parameters
    c.id = id;
    emitGarNet(l, in, low, c);
    c.timing.detail = "nominal";
    return c;
}

LayerCode emitAttentionNominal(const Layer& l, const std::string& id, const LayerInputs& in, const LoweredGraph& low) {
    LayerCode a = emitAttentionLayer(l, id, in, low);   // src/ops/attention/Hls.cpp
    a.timing.detail = "nominal";
    return a;
}

// The hls column of the op registry (ops/OpList.h).
LayerCode emitLayer(const Layer& l, const std::string& id, const LayerInputs& in, const LoweredGraph& low) {
    const LayerEmitter emit = ops::opInfo(l.kind).hls;
    if (!emit)
        throw Error(layerError(l, hlsClassName(l) + " layers are not supported by the HLS backend yet "
                                  "(the emulator runs them)"));
    return emit(l, id, in, low);
}

}  // namespace tachyon::hls
