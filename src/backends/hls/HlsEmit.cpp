// What the HLS backend's layer emitters share (HlsEmit.h): names, literals, tables, types,
// window geometry, and the registry lookup. Each op's emitter is in src/ops/<op>/Hls.cpp.
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

}  // namespace

// Bits of an unsigned integer up to maxValue (at least 1, at most 63).
int bitsFor(int64_t maxValue) {
    int b = 1;
    while (b < 63 && (int64_t(1) << b) <= maxValue) ++b;
    return b;
}

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
