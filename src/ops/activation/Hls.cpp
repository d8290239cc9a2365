// HLS C++ of the activations (nnet_utils/nnet_activation.h): exact ones by comparisons and
// shifts, the others through the lowered graph's lookup table.
#include "backends/hls/HlsEmit.h"

#include "util/Error.h"

#include <algorithm>
#include <string>
#include <vector>

namespace tachyon::hls {

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

}  // namespace tachyon::hls
