// HLS C++ of Softmax (nnet_utils/nnet_softmax.h): Tachyon's accurate one and hls4ml's
// implementations, with the lowered graph's tables.
#include "backends/hls/HlsEmit.h"

#include "util/Error.h"

#include <algorithm>
#include <string>
#include <vector>

namespace tachyon::hls {

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

}  // namespace tachyon::hls
