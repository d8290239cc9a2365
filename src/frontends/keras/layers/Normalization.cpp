// BatchNormalization (and QBatchNormalization) and LayerNormalization.
#include "frontends/keras/KerasReader.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace tachyon::kerasfe {

std::string KerasReader::batchNorm(const json& cfg, const std::string& name, const std::string& in) {
    const Shape& shape = b_.shape(in);
    // Only normalisation over the last axis (the Keras default) maps onto per-channel scale/shift.
    if (cfg.contains("axis")) {
        json axis = cfg["axis"];
        if (axis.is_array() && axis.size() == 1) axis = axis[0];
        if (!axis.is_number_integer()) fail(name, "BatchNormalization", "unsupported axis");
        const int ax = axis.get<int>();
        if (ax != -1 && ax != (int)shape.size()) fail(name, "BatchNormalization", "only axis -1 is supported");
    }
    const int channels = shape.back();
    const WeightIndex w = weightsOf(name);
    const bool center = !cfg.contains("center") || cfg["center"].get<bool>();
    const bool scale = !cfg.contains("scale") || cfg["scale"].get<bool>();
    auto param = [&](const std::string& key, bool present, double dflt) {
        std::vector<double> v(size_t(channels), dflt);
        if (present) {
            std::vector<size_t> dims;
            v = weight(w, name, key, dims);
            if ((int)v.size() != channels)
                fail(name, "BatchNormalization", key + " has " + std::to_string(v.size()) + " values, expected " +
                                                     std::to_string(channels));
            // QBatchNormalization quantises its parameters, then normalises as Keras does.
            static const std::map<std::string, const char*> qkeys = {{"gamma", "gamma_quantizer"},
                {"beta", "beta_quantizer"}, {"moving_mean", "mean_quantizer"}, {"moving_variance", "variance_quantizer"}};
            std::optional<FixedType> unused;
            v = quantized(cfg, qkeys.at(key), std::move(v), {size_t(channels)}, name, "QBatchNormalization", unused, nullptr);
        }
        return v;
    };
    const double eps = cfg.contains("epsilon") && cfg["epsilon"].is_number() ? cfg["epsilon"].get<double>() : 1e-3;
    return b_.batchNorm(name, in, param("gamma", scale, 1.0), param("beta", center, 0.0),
                        param("moving_mean", true, 0.0), param("moving_variance", true, 1.0), eps);
}

// Keras LayerNormalization over the last axis (axis -1 or [-1]); gamma/beta default to 1/0
// when scale/center are off. rms_scaling is refused.
std::string KerasReader::layerNorm(const json& cfg, const std::string& name, const std::string& in) {
    const Shape& shape = b_.shape(in);
    if (cfg.contains("rms_scaling") && cfg["rms_scaling"].is_boolean() && cfg["rms_scaling"].get<bool>())
        fail(name, "LayerNormalization", "rms_scaling (RMS normalisation) is not supported");
    if (cfg.contains("axis")) {
        json axis = cfg["axis"];
        if (axis.is_array() && axis.size() == 1) axis = axis[0];
        if (!axis.is_number_integer()) fail(name, "LayerNormalization", "only one axis, the last, is supported");
        const int ax = axis.get<int>();
        if (ax != -1 && ax != (int)shape.size()) fail(name, "LayerNormalization", "only the last axis is supported");
    }
    if (cfg.contains("rms_scaling") && cfg["rms_scaling"].is_boolean() && cfg["rms_scaling"].get<bool>())
        fail(name, "LayerNormalization", "rms_scaling is not supported");
    const int features = shape.back();
    const WeightIndex w = weightsOf(name);
    auto param = [&](const std::string& key, const char* flag, double dflt) {
        std::vector<double> v(size_t(features), dflt);
        if (!cfg.contains(flag) || cfg[flag].get<bool>()) {
            std::vector<size_t> dims;
            v = weight(w, name, key, dims);
            if ((int)v.size() != features)
                fail(name, "LayerNormalization", key + " has " + std::to_string(v.size()) + " values, expected " +
                                                     std::to_string(features));
        }
        return v;
    };
    LayerNormAttrs a;
    a.epsilon = cfg.contains("epsilon") && cfg["epsilon"].is_number() ? cfg["epsilon"].get<double>() : 1e-3;
    return b_.add(name, LayerKind::LayerNorm, {in}, a,
                  {{"scale", param("gamma", "scale", 1.0)}, {"bias", param("beta", "center", 0.0)}});
}

std::string KerasReader::batchNormLayer(const LayerCall& c) { return batchNorm(c.cfg, c.name, c.ins[0]); }

std::string KerasReader::layerNormLayer(const LayerCall& c) { return layerNorm(c.cfg, c.name, c.ins[0]); }

}  // namespace tachyon::kerasfe
