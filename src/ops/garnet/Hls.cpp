// HLS C++ of GarNet / GarNetStack (io_parallel, nnet_utils/nnet_garnet.h): the layer's
// typedefs and config (one `sublayer<K>` specialisation per sublayer), and its constants,
// which are the lowered graph's (LoweredGraph::garnetConstants), so csim computes what is emulated.
#include "backends/hls/HeaderLimits.h"
#include "backends/hls/HlsEmit.h"
#include "lower/GarNetNorm.h"
#include "util/Error.h"

namespace tachyon::hls {

namespace {

// Bits of V << frac (the numerator of hls4ml's mean_by_nvert quotient, nnet_garnet.h).
int quotientBits(int vertices, const FixedType& count) {
    const Int128 num = Int128(vertices) << std::max(0, count.frac());
    int bits = 1;
    while ((Int128(1) << bits) <= num) ++bits;
    return bits;
}

}  // namespace

void emitGarNet(const Layer& l, const LayerInputs& in, const LoweredGraph& low, LayerCode& c) {
    const auto& a = l.as<GarNetAttrs>();
    const GarNetConstants& k = low.garnetConstants(l.name);
    if (k.sublayers.empty() || in.keys.size() != 2)
        throw Error("HLS backend: layer '" + l.name + "' (" + hlsClassName(l) + "): expects vertex data and a vertex count");
    if (!a.collapse.empty() && a.collapse != "mean")
        throw Error("HLS backend: layer '" + l.name + "' (" + hlsClassName(l) + "): collapse '" + a.collapse +
                    "' is not supported (mean or none)");
    const std::string& id = c.id;
    std::ostringstream os;
    os << "// " << l.name << ": " << hlsClassName(l) << " over " << a.nVertices << " vertices x " << a.nInFeatures
       << " features, " << k.sublayers.size() << " sublayer(s), collapse " << (a.collapse.empty() ? "none" : a.collapse)
       << "\n";
    // Every exact product the kernel forms must fit the bundled ap_fixed.
    const FixedType& dataT = in.types[0];
    const FixedType &edgeT = l.type("edge_weight"), &aggrT = l.type("aggr"), &normT = l.type("norm"),
                    &resT = l.type("result");
    const FixedType& stageT = dataT.width > resT.width ? dataT : resT;   // the data of sublayer 0 or later
    const std::pair<const FixedType*, const FixedType*> products[] = {
        {&stageT, &l.type("aggregator_distance_weights")}, {&stageT, &edgeT}, {&l.type("edge_weight_aggr"), &normT},
        {&aggrT, &normT}, {&edgeT, &l.type("input_transform_biases")}, {&aggrT, &l.type("input_transform_weights")},
        {&edgeT, &aggrT}, {&aggrT, &in.types[1]}};
    for (const auto& [x, y] : products)
        if (x->width + y->width > kBundledHeaderMaxWidth || aggrT.width + 32 > kBundledHeaderMaxWidth)
            throw Error("HLS backend: layer '" + l.name + "' (" + hlsClassName(l) + "): the product of " + x->str() +
                        " and " + y->str() + " needs more than " + std::to_string(kBundledHeaderMaxWidth) +
                        " bits in the generated code: narrow the types");
    for (const char* var : {"distance", "edge_weight", "edge_weight_aggr", "aggr", "norm", "input_transform_weights",
                            "input_transform_biases", "aggregator_distance_weights", "aggregator_distance_biases",
                            "output_transform_biases"})
        os << "typedef " << l.type(var).str() << " " << id << "_" << var << "_t;\n";
    os << "typedef " << l.type("result").str() << " " << id << "_result_t;\n";
    os << "struct " << id << "_config : nnet::garnet_config {\n"
       << "    static const unsigned n_vertices = " << a.nVertices << ";\n"
       << "    static const unsigned n_sublayers = " << k.sublayers.size() << ";\n"
       << "    static const unsigned distance_width = " << l.type("distance").width << ";\n"
       << "    static const unsigned n_norm = " << k.norm.size() << ";\n"
       << "    static const bool mean_by_nvert = " << (a.meanByNvert ? "true" : "false") << ";\n"
       << "    static const bool collapse_mean = " << (a.collapse == "mean" ? "true" : "false") << ";\n"
       << "    static const bool hls4ml_count = " << (a.hls4mlCount ? "true" : "false") << ";\n"
       << "    static const bool hls4ml_norm = " << (garnetHls4mlNorm(a) ? "true" : "false")
       << ";\n"
       << "    static const unsigned norm_shift = " << garnetNormShift(a) << ";\n"
       << "    typedef " << in.types[1].str() << " count_t;\n"
       << "    typedef ap_" << (in.types[1].isSigned ? "" : "u") << "int<" << in.types[1].width << "> count_raw_t;\n"
       << "    static const unsigned count_frac = " << std::max(0, in.types[1].frac()) << ";\n"
       << "    static const unsigned quotient_bits = " << quotientBits(a.nVertices, in.types[1]) << ";\n"
       << "    static const unsigned reuse_factor = " << l.schedule.reuseFactor << ";\n";
    for (const char* var : {"distance", "edge_weight", "edge_weight_aggr", "aggr", "norm", "input_transform_weights",
                            "input_transform_biases", "aggregator_distance_weights", "aggregator_distance_biases",
                            "output_transform_biases"})
        os << "    typedef " << id << "_" << var << "_t " << var << "_t;\n";
    os << "    typedef " << id << "_result_t result_t;\n"
       << "    template <unsigned K> struct sublayer;\n};\n";
    size_t itw = 0, itb = 0, adw = 0, adb = 0, otb = 0;
    int nIn = a.nInFeatures;
    for (size_t s = 0; s < k.sublayers.size(); ++s) {
        const auto& w = k.sublayers[s];
        os << "template <> struct " << id << "_config::sublayer<" << s << "> {\n"
           << "    static const unsigned n_in = " << nIn << ";\n"
           << "    static const unsigned n_aggregators = " << a.nAggregators[s] << ";\n"
           << "    static const unsigned n_out = " << a.nFilters[s] << ";\n"
           << "    static const unsigned itw_offset = " << itw << ", itb_offset = " << itb << ", adw_offset = " << adw
           << ", adb_offset = " << adb << ", otb_offset = " << otb << ";\n};\n";
        itw += w.inputTransformWeights.size();
        itb += w.inputTransformBiases.size();
        adw += w.aggregatorDistanceWeights.size();
        adb += w.aggregatorDistanceBiases.size();
        otb += w.outputTransformBiases.size();
        nIn = a.nFilters[s];
    }
    c.params = os.str();

    // The constants, flat over the sublayers, in the kernel's argument order.
    std::string body;
    std::vector<std::string> args;
    auto add = [&](const std::string& var, const std::string& name, const std::vector<int64_t>& raws, size_t perLine) {
        const FixedType& t = l.type(var);
        body += constArray(id + "_" + var + "_t", id + "_" + name, raws.size(), perLine,
                           [&](size_t i) { return literal(t, raws[i]); });
        args.push_back(id + "_" + name);
    };
    auto flat = [&](std::vector<int64_t> GarNetConstants::Sublayer::*member) {
        std::vector<int64_t> all;
        for (const auto& w : k.sublayers) all.insert(all.end(), (w.*member).begin(), (w.*member).end());
        return all;
    };
    add("input_transform_weights", "itw", flat(&GarNetConstants::Sublayer::inputTransformWeights), 8);
    add("input_transform_biases", "itb", flat(&GarNetConstants::Sublayer::inputTransformBiases), 8);
    add("aggregator_distance_weights", "adw", flat(&GarNetConstants::Sublayer::aggregatorDistanceWeights), 8);
    add("aggregator_distance_biases", "adb", flat(&GarNetConstants::Sublayer::aggregatorDistanceBiases), 8);
    add("output_transform_biases", "otb", flat(&GarNetConstants::Sublayer::outputTransformBiases), 8);
    add("edge_weight", "edge_table", k.edgeWeightTable, 16);
    add("norm", "norm", k.norm, 8);
    c.constants.push_back({id + "_garnet.h", header(id, "garnet", body)});

    KernelCall call;
    call.kernel = "garnet";
    call.config = id + "_config";
    call.inputs = in.keys;
    call.output = l.name;
    call.constantArgs = args;
    c.calls.push_back(call);
}

LayerCode emitGarNetLayer(const Layer& l, const std::string& id, const LayerInputs& in, const LoweredGraph& low) {
    LayerCode c;   // emitGarNet writes its own parameters
    c.id = id;
    emitGarNet(l, in, low, c);
    c.timing.detail = "nominal";
    return c;
}

}  // namespace tachyon::hls
