// GarNet and GarNetStack (hls4ml's contrib layers) over vertex data and a vertex count.
#include "frontends/keras/KerasReader.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace tachyon::kerasfe {

// GarNet / GarNetStack as defined in hls4ml's contrib/garnet.py (the zoo's custom layers).
// Inputs: vertex data [V, F] and the vertex count ("xn" input format).
std::string KerasReader::garnet(const json& cfg, const std::string& name, const std::string& cls,
                                const std::vector<std::string>& ins) {
    if (ins.size() != 2) fail(name, cls, "expects two inputs (vertex data and vertex count), got " + std::to_string(ins.size()));
    if (!cfg.value("simplified", false)) fail(name, cls, "only simplified=True is supported (as in hls4ml)");
    if (cfg.value("input_format", std::string("xn")) != "xn") fail(name, cls, "only input_format 'xn' is supported");
    if (cfg.contains("output_activation") && !cfg["output_activation"].is_null() && cfg["output_activation"] != "linear")
        fail(name, cls, "only a linear output_activation is supported (as in hls4ml)");
    const Shape& x = b_.shape(ins[0]);
    if (x.size() != 2) fail(name, cls, "expects [vertices, features] vertex data, got " + shapeString(x));
    GarNetAttrs a;
    a.stack = cls == "GarNetStack";
    a.nVertices = x[0];
    a.nInFeatures = x[1];
    a.collapse = cfg.contains("collapse") && cfg["collapse"].is_string() ? cfg["collapse"].get<std::string>() : "";
    if (!a.collapse.empty() && a.collapse != "mean" && a.collapse != "sum" && a.collapse != "max")
        fail(name, cls, "unsupported collapse '" + a.collapse + "'");
    a.meanByNvert = cfg.value("mean_by_nvert", false);
    auto sizes = [&](const char* key) {
        std::vector<int> v;
        if (!cfg.contains(key)) fail(name, cls, std::string("no '") + key + "'");
        const json& j = cfg[key];
        if (j.is_number_integer()) v.push_back(j.get<int>());
        else if (j.is_array())
            for (const auto& e : j) v.push_back(e.is_number_integer() ? e.get<int>() : -1);
        if (v.empty()) fail(name, cls, std::string("invalid '") + key + "'");
        return v;
    };
    a.nPropagate = sizes("n_propagate");
    a.nAggregators = sizes("n_aggregators");
    a.nFilters = sizes("n_filters");
    if (a.nPropagate.size() != a.nFilters.size() || a.nAggregators.size() != a.nFilters.size() ||
        (!a.stack && a.nFilters.size() != 1))
        fail(name, cls, "n_propagate, n_aggregators and n_filters need one entry per sublayer");
    const WeightIndex w = weightsOf(name);
    if (w.empty()) fail(name, cls, "no weights for this layer in " + h5_.path());
    std::map<std::string, std::vector<double>> params;
    for (size_t k = 0; k < a.nFilters.size(); ++k) {
        // GarNet names its weights FLR_kernel, ...; GarNetStack FLR0_kernel, FLR1_kernel, ...
        const std::string src = a.stack ? std::to_string(k) : "", dst = std::to_string(k);
        for (const char* part : {"FLR", "S", "Fout"})
            for (const char* kind : {"_kernel", "_bias"}) {
                std::vector<size_t> dims;
                params[part + dst + kind] = weight(w, name, part + src + kind, dims);
            }
        // quantize_transforms: hls4ml (model/layers.py, GarNet._make_input_transform_weights)
        // makes the input transform (FLR kernel and bias) and the output kernel ternary before
        // contracting them; Tachyon converts what hls4ml converts.
        if (cfg.value("quantize_transforms", false))
            for (const std::string& key : {"FLR" + dst + "_kernel", "FLR" + dst + "_bias", "Fout" + dst + "_kernel"})
                for (double& v : params[key]) v = v > 0.5 ? 1.0 : v <= -0.5 ? -1.0 : 0.0;
    }
    return b_.add(name, LayerKind::GarNet, ins, a, std::move(params));
}

std::string KerasReader::garnetLayer(const LayerCall& c) { return garnet(c.cfg, c.name, c.cls, c.ins); }

}  // namespace tachyon::kerasfe
