#include "backends/hls/HlsEmit.h"

#include "util/Error.h"

#include <charconv>
#include <cmath>
#include <set>
#include <sstream>

namespace tachyon::hls {

namespace {

std::string layerError(const Layer& l, const std::string& why) {
    return "HLS backend: layer '" + l.name + "' (" + toString(l.kind) + "): " + why;
}

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

// The raw-integer type of a fixed-point type: same width and signedness.
std::string rawIntType(const FixedType& t) {
    return std::string(t.isSigned ? "ap_int<" : "ap_uint<") + std::to_string(t.width) + ">";
}

// `static const T name[n] = { ... };` with `perLine` values per line.
template <class F>
std::string constArray(const std::string& type, const std::string& name, size_t n, size_t perLine, F value) {
    std::ostringstream os;
    os << "static const " << type << " " << name << "[" << n << "] = {";
    for (size_t k = 0; k < n; ++k) {
        os << (k % perLine == 0 ? "\n    " : " ") << value(k) << (k + 1 < n ? "," : "");
    }
    os << "\n};\n";
    return os.str();
}

std::string header(const std::string& id, const std::string& what, const std::string& body) {
    std::string guard;
    for (char c : id + "_" + what + "_H_") guard += char(std::toupper(static_cast<unsigned char>(c)));
    return "// Written by Tachyon: constants of layer " + id + ", quantised by the emulator.\n#ifndef " +
           guard + "\n#define " + guard + "\n\n#include \"../parameters.h\"\n\n" + body + "\n#endif\n";
}

struct ParamsText {
    std::ostringstream os;
    std::string id;
    void typedefLine(const std::string& type, const std::string& var) {
        os << "typedef " << type << " " << id << "_" << var << ";\n";
    }
    void beginConfig(const std::string& base) { os << "struct " << id << "_config : nnet::" << base << " {\n"; }
    template <class V> void constant(const std::string& type, const std::string& name, V v) {
        os << "    static const " << type << " " << name << " = " << v << ";\n";
    }
    void alias(const std::string& var) { os << "    typedef " << id << "_" << var << " " << var << ";\n"; }
    void endConfig() { os << "};\n"; }
};

// Index parameters of one emulator lookup table, as a nested struct of the config.
void tableStruct(ParamsText& p, const std::string& name, const LookupTable& t) {
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
    return l.schedule.strategy == "Resource" || l.schedule.strategy == "resource" ? "resource" : "latency";
}

void emitDense(const Layer& l, const Emulator& emu, LayerCode& c, ParamsText& p) {
    const auto& w = emu.weightRaw(l.name);
    const auto& b = emu.biasRaw(l.name);
    const auto& dense = l.as<DenseAttrs>();
    const int nIn = dense.nIn, nOut = dense.nOut;
    if (l.outSize() != nOut)
        throw Error(layerError(l, "a Dense layer over a multi-dimensional input is not supported by the HLS backend yet"));
    if (dense.activation != ActKind::Linear && dense.activation != ActKind::ReLU)
        throw Error(layerError(l, "only linear and relu can be fused into a Dense layer, got " +
                                      toString(dense.activation)));
    // Non-zero weights in (input, output) order: each output accumulates inputs ascending.
    std::vector<size_t> nz;
    for (size_t k = 0; k < w.size(); ++k)
        if (w[k] != 0) nz.push_back(k);
    const size_t stored = std::max<size_t>(nz.size(), 1);  // C++ has no empty arrays
    const int rf = l.schedule.reuseFactor;
    const size_t block = (stored + size_t(rf) - 1) / size_t(rf);
    const FixedType& wT = l.type("weight");

    p.os << "// " << l.name << ": Dense " << nIn << " -> " << nOut
         << (dense.activation == ActKind::ReLU ? " with ReLU" : "") << ", " << nz.size() << " of " << w.size()
         << " weights non-zero, " << l.schedule.strategy << " ReuseFactor " << rf << "\n";
    p.typedefLine(wT.str(), "weight_t");
    p.typedefLine(l.type("bias").str(), "bias_t");
    p.typedefLine(l.type("accum").str(), "accum_t");
    p.typedefLine(l.type("result").str(), "result_t");
    p.typedefLine("ap_uint<" + std::to_string(bitsFor(nIn - 1)) + ">", "index_in_t");
    p.typedefLine("ap_uint<" + std::to_string(bitsFor(nOut - 1)) + ">", "index_out_t");
    p.beginConfig("dense_config");
    p.constant("unsigned", "n_in", nIn);
    p.constant("unsigned", "n_out", nOut);
    p.constant("unsigned", "n_nonzero", stored);
    p.constant("unsigned", "reuse_factor", rf);
    p.constant("unsigned", "block_factor", block);
    p.constant("unsigned", "strategy", "nnet::" + strategyName(l));
    p.constant("bool", "relu", dense.activation == ActKind::ReLU ? "true" : "false");
    for (const char* v : {"accum_t", "weight_t", "bias_t", "index_in_t", "index_out_t"}) p.alias(v);
    p.endConfig();

    auto at = [&](size_t k) { return nz.empty() ? size_t(0) : nz[k]; };
    std::string body;
    body += "// Non-zero weights; entry k adds " + c.id + "_w[k] * x[" + c.id + "_w_in[k]] to output " + c.id +
            "_w_out[k].\n";
    body += constArray(c.id + "_weight_t", c.id + "_w", stored, 8,
                       [&](size_t k) { return nz.empty() ? std::string("0") : literal(wT, w[at(k)]); });
    body += constArray(c.id + "_index_in_t", c.id + "_w_in", stored, 16,
                       [&](size_t k) { return std::to_string(at(k) / size_t(nOut)); });
    body += constArray(c.id + "_index_out_t", c.id + "_w_out", stored, 16,
                       [&](size_t k) { return std::to_string(at(k) % size_t(nOut)); });
    c.constants.push_back({c.id + "_w.h", header(c.id, "w", body)});
    const FixedType& bT = l.type("bias");
    c.constants.push_back({c.id + "_b.h", header(c.id, "b", constArray(c.id + "_bias_t", c.id + "_b", b.size(), 8,
                                                                  [&](size_t k) { return literal(bT, b[k]); }))});
    c.kernel = "dense";
    c.constantArgs = {c.id + "_w", c.id + "_w_in", c.id + "_w_out", c.id + "_b"};
}

void emitBatchNorm(const Layer& l, const Emulator& emu, LayerCode& c, ParamsText& p) {
    const auto& s = emu.scaleRaw(l.name);
    const auto& h = emu.biasRaw(l.name);
    const FixedType& sT = l.type("scale");
    const FixedType& hT = l.type("shift");
    p.os << "// " << l.name << ": BatchNormalization over " << s.size() << " values\n";
    p.typedefLine(sT.str(), "scale_t");
    p.typedefLine(hT.str(), "shift_t");
    p.typedefLine(l.type("result").str(), "result_t");
    p.beginConfig("batchnorm_config");
    p.constant("unsigned", "n_in", s.size());
    p.constant("unsigned", "reuse_factor", l.schedule.reuseFactor);
    p.alias("scale_t");
    p.alias("shift_t");
    p.endConfig();
    std::string body = constArray(c.id + "_scale_t", c.id + "_scale", s.size(), 8, [&](size_t k) { return literal(sT, s[k]); });
    body += constArray(c.id + "_shift_t", c.id + "_shift", h.size(), 8, [&](size_t k) { return literal(hT, h[k]); });
    c.constants.push_back({c.id + "_s.h", header(c.id, "s", body)});
    c.kernel = "batchnorm";
    c.constantArgs = {c.id + "_scale", c.id + "_shift"};
}

void emitActivation(const Layer& l, const FixedType& inType, const Emulator& emu, LayerCode& c, ParamsText& p) {
    const int n = l.outSize();
    const ActKind a = l.kind == LayerKind::Reshape ? ActKind::Linear : l.activation();
    p.os << "// " << l.name << ": " << (l.kind == LayerKind::Reshape ? "Reshape" : toString(a)) << " over " << n
         << " values\n";
    const bool hasParam = a == ActKind::LeakyReLU || a == ActKind::HardSigmoid;
    const bool hasTable = a == ActKind::Sigmoid || a == ActKind::Tanh;
    if (hasParam) p.typedefLine(l.type("param").str(), "param_t");
    const LookupTable* table = hasTable ? emu.activationTable(l.name) : nullptr;
    if (hasTable) {
        if (!table) throw Error(layerError(l, "the emulator built no lookup table for " + toString(a)));
        p.typedefLine(table->valueType.str(), "table_t");
        p.typedefLine(rawIntType(inType), "key_t");
    }
    p.typedefLine(l.type("result").str(), "result_t");
    p.beginConfig("activation_config");
    p.constant("unsigned", "n_in", n);
    p.constant("unsigned", "reuse_factor", l.schedule.reuseFactor);
    if (hasParam) p.alias("param_t");
    if (hasTable) {
        p.constant("unsigned", "in_width", inType.width);
        p.alias("table_t");
        p.alias("key_t");
        tableStruct(p, "table", *table);
    }
    p.endConfig();

    switch (a) {
    case ActKind::Linear: c.kernel = "linear"; break;
    case ActKind::ReLU: c.kernel = "relu"; break;
    case ActKind::ReLU6: c.kernel = "relu6"; break;
    case ActKind::Sigmoid: c.kernel = "sigmoid"; break;
    case ActKind::Tanh: c.kernel = "tanh"; break;
    case ActKind::LeakyReLU: c.kernel = "leaky_relu"; break;
    case ActKind::HardSigmoid: c.kernel = "hard_sigmoid"; break;
    default: throw Error(layerError(l, "activation " + toString(a) + " is not supported by the HLS backend yet"));
    }
    if (hasParam) {
        // The same quantisation as the emulator: cast<param> of the trained constant.
        const FixedType& pT = l.type("param");
        const std::vector<int64_t>& raw = emu.paramRaw(l.name);
        auto param = [&](const std::string& name, int64_t v) {
            c.constantArgs.push_back(c.id + "_" + name);
            return "static const " + c.id + "_param_t " + c.id + "_" + name + " = " + literal(pT, v) + ";\n";
        };
        // One statement per parameter: the kernel takes them in this order.
        std::string body;
        if (a == ActKind::LeakyReLU) {
            body = param("alpha", raw.at(0));
        } else {
            body = param("slope", raw.at(0));
            body += param("offset", raw.at(1));
        }
        c.constants.push_back({c.id + "_param.h", header(c.id, "param", body)});
    }
    if (hasTable) {
        c.constants.push_back({c.id + "_table.h", header(c.id, "table", tableArray(c.id + "_table_t", c.id + "_table", *table))});
        c.constantArgs.push_back(c.id + "_table");
    }
}

// hls4ml's softmax implementations (nnet_softmax.h: softmax_stable, softmax_latency,
// softmax_legacy, softmax_argmax), with the emulator's tables.
void emitHls4mlSoftmax(const Layer& l, const FixedType& inType, const SoftmaxTables& t, LayerCode& c, ParamsText& p) {
    const int n = l.outSize();
    const std::string& impl = t.implementation;
    p.os << "// " << l.name << ": Softmax over " << n << " values, hls4ml's " << impl << " implementation\n";
    auto log2Of = [](int size) {
        int b = 0;
        while ((1 << b) < size) ++b;
        return b;
    };
    if (impl == "stable" || impl == "latency") {
        p.typedefLine(t.exp.valueType.str(), "exp_table_t");
        p.typedefLine(t.inv.valueType.str(), "inv_table_t");
        p.typedefLine(t.accumType.str(), "accum_t");
        p.typedefLine(t.invInpType.str(), "inv_inp_t");
        if (impl == "stable") p.typedefLine(t.normType.str(), "inp_norm_t");
    } else if (impl == "legacy") {
        p.typedefLine(t.legacyType.str(), "table_t");
        p.typedefLine(rawIntType(inType), "key_t");
        p.typedefLine(rawIntType(t.legacyType), "table_key_t");
    }
    p.typedefLine(l.type("result").str(), "result_t");
    p.beginConfig("softmax_config");
    p.constant("unsigned", "n_in", n);
    p.constant("unsigned", "reuse_factor", l.schedule.reuseFactor);
    if (impl == "stable" || impl == "latency") {
        p.constant("unsigned", "exp_table_size", t.exp.size);
        p.constant("unsigned", "inv_table_size", t.inv.size);
        p.constant("int", "exp_bits", log2Of(t.exp.size));
        p.constant("int", "inv_bits", log2Of(t.inv.size));
        for (const char* v : {"exp_table_t", "inv_table_t", "accum_t", "inv_inp_t"}) p.alias(v);
        if (impl == "stable") p.alias("inp_norm_t");
    } else if (impl == "legacy") {
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
    c.kernel = "softmax_" + impl;
    if (impl == "argmax") return;
    const std::string expT = impl == "legacy" ? "_table_t" : "_exp_table_t";
    const std::string invT = impl == "legacy" ? "_table_t" : "_inv_table_t";
    std::string body = tableArray(c.id + expT, c.id + "_exp_table", t.exp) +
                       tableArray(c.id + invT, c.id + "_inv_table", t.inv);
    c.constants.push_back({c.id + "_table.h", header(c.id, "table", body)});
    c.constantArgs = {c.id + "_exp_table", c.id + "_inv_table"};
}

void emitSoftmax(const Layer& l, const FixedType& inType, const Emulator& emu, LayerCode& c, ParamsText& p) {
    const SoftmaxTables* t = emu.softmaxTables(l.name);
    if (!t) throw Error(layerError(l, "the emulator built no softmax tables"));
    if (t->implementation != "tachyon") return emitHls4mlSoftmax(l, inType, *t, c, p);
    const int n = l.outSize();
    p.os << "// " << l.name << ": Softmax over " << n << " values (exp and inverse lookup tables)\n";
    p.typedefLine(t->exp.valueType.str(), "exp_table_t");
    p.typedefLine(t->inv.valueType.str(), "inv_table_t");
    p.typedefLine(rawIntType(inType), "key_t");
    p.typedefLine("ap_uint<" + std::to_string(inType.width) + ">", "diff_t");
    p.typedefLine(t->sumType.str(), "sum_t");
    p.typedefLine(rawIntType(t->sumType), "sum_key_t");
    p.typedefLine(l.type("result").str(), "result_t");
    p.beginConfig("softmax_config");
    p.constant("unsigned", "n_in", n);
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
    c.kernel = "softmax";
    c.constantArgs = {c.id + "_exp_table", c.id + "_inv_table"};
}

}  // namespace

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

LayerCode emitLayer(const Layer& l, const std::string& id, const FixedType& inType, const Emulator& emu) {
    LayerCode c;
    c.id = id;
    ParamsText p;
    p.id = id;
    switch (l.kind) {
    case LayerKind::Input: throw Error(layerError(l, "the Input layer has no kernel"));
    case LayerKind::Dense: emitDense(l, emu, c, p); break;
    case LayerKind::BatchNorm: emitBatchNorm(l, emu, c, p); break;
    case LayerKind::Activation:
    case LayerKind::Reshape: emitActivation(l, inType, emu, c, p); break;
    case LayerKind::Softmax:
        if (l.outSize() != l.shape.back())
            throw Error(layerError(l, "softmax over a multi-dimensional tensor is not supported by the HLS backend yet"));
        emitSoftmax(l, inType, emu, c, p);
        break;
    default:
        throw Error(layerError(l, hlsClassName(l) + " layers are not supported by the HLS backend yet"));
    }
    c.params = p.os.str();
    return c;
}

}  // namespace tachyon::hls
