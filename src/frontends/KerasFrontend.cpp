// Keras 2 frontend: the architecture is the JSON that model.to_json() writes (or the
// `model_config` attribute of a single-file .h5 model); the weights are read from the HDF5
// layout of save_weights()/save(): [model_weights/]<layer>/<weight_name>, where the layer
// group's `weight_names` attribute lists e.g. "fc1/kernel:0".
#include "frontends/ChainBuilder.h"
#include "frontends/Frontend.h"
#include "frontends/Hdf5File.h"
#include "util/Error.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>

namespace tachyon {

namespace {

using nlohmann::json;

const std::set<std::string> kSupportedClasses = {
    "InputLayer", "Dense", "Activation", "ReLU", "LeakyReLU", "Softmax",
    "BatchNormalization", "Dropout", "Flatten", "Reshape"};

// One layer's weights: short name ("kernel", "bias", "gamma", ...) -> dataset path.
using WeightIndex = std::map<std::string, std::string>;

class KerasReader {
public:
    KerasReader(const json& arch, const std::string& archFile, Hdf5File& weights)
        : arch_(arch), archFile_(archFile), h5_(weights),
          chain_(modelName(arch, archFile), archFile) {
        root_ = h5_.exists("model_weights") ? "model_weights" : "";
    }

    Graph read();

private:
    // The Keras model name, unless it is one Keras made up ("model_1", "sequential"):
    // then the file stem says more.
    static std::string modelName(const json& arch, const std::string& file) {
        if (arch.is_object() && arch.contains("config")) {
            const json& c = arch["config"];
            if (c.is_object() && c.contains("name") && c["name"].is_string()) {
                const std::string name = c["name"];
                static const std::regex generated("(model|sequential|functional)(_[0-9]+)?");
                if (!name.empty() && !std::regex_match(name, generated)) return name;
            }
        }
        return std::filesystem::path(file).stem().string();
    }
    [[noreturn]] void fail(const std::string& layer, const std::string& cls, const std::string& why) const {
        chain_.fail("layer '" + layer + "' (" + cls + "): " + why);
    }

    const json& layerList() const;
    static std::string layerName(const json& l);
    static const json& config(const json& l) {
        static const json empty = json::object();
        return l.contains("config") && l["config"].is_object() ? l["config"] : empty;
    }
    std::vector<std::string> inboundLayers(const json& l) const;
    std::vector<int> perSampleShape(const json& cfg, const std::string& layer) const;

    WeightIndex weightsOf(const std::string& layer) const;
    std::vector<double> weight(const WeightIndex& w, const std::string& layer, const std::string& key,
                               std::vector<size_t>& dims) const;

    void addActivation(const std::string& name, const std::string& act, const std::string& layer,
                       const std::string& cls);
    void dense(const json& cfg, const std::string& name);
    void batchNorm(const json& cfg, const std::string& name);

    const json& arch_;
    std::string archFile_;
    Hdf5File& h5_;
    ChainBuilder chain_;
    std::string root_;
    // Keras layer name -> the Tachyon layer whose output it is (removed layers alias
    // their producer; a Dense with a fused activation maps to the activation layer).
    std::map<std::string, std::string> outputOf_;
};

const json& KerasReader::layerList() const {
    if (!arch_.is_object() || !arch_.contains("config")) chain_.fail("no 'config' in the model architecture");
    const json& c = arch_["config"];
    // Keras 2.0-2.1 Sequential stores the layer list directly as the config.
    const json* layers = c.is_array() ? &c : (c.is_object() && c.contains("layers") ? &c["layers"] : nullptr);
    if (!layers || !layers->is_array() || layers->empty()) chain_.fail("the model architecture has no layers");
    return *layers;
}

std::string KerasReader::layerName(const json& l) {
    const json& cfg = config(l);
    if (cfg.contains("name") && cfg["name"].is_string()) return cfg["name"];
    if (l.contains("name") && l["name"].is_string()) return l["name"];
    return "";
}

std::vector<std::string> KerasReader::inboundLayers(const json& l) const {
    // Old format: [[["fc1", 0, 0, {}], ...]]; newer: [{"args": [{"config": {"keras_history": ["fc1", 0, 0]}}]}].
    std::vector<std::string> out;
    std::function<void(const json&)> walk = [&](const json& j) {
        if (j.is_array()) {
            if (!j.empty() && j[0].is_string() && j.size() >= 3 && j[1].is_number()) {
                out.push_back(j[0]);
                return;
            }
            for (const auto& e : j) walk(e);
        } else if (j.is_object()) {
            if (j.contains("keras_history") && j["keras_history"].is_array() && !j["keras_history"].empty() &&
                j["keras_history"][0].is_string()) {
                out.push_back(j["keras_history"][0]);
                return;
            }
            for (const auto& [k, v] : j.items()) walk(v);
        }
    };
    if (l.contains("inbound_nodes")) walk(l["inbound_nodes"]);
    return out;
}

std::vector<int> KerasReader::perSampleShape(const json& cfg, const std::string& layer) const {
    for (const char* key : {"batch_input_shape", "batch_shape"}) {
        if (!cfg.contains(key) || !cfg[key].is_array()) continue;
        const json& s = cfg[key];
        std::vector<int> shape;
        for (size_t i = 1; i < s.size(); ++i) {   // [0] is the batch (null)
            if (!s[i].is_number_integer() || s[i].get<long long>() <= 0)
                chain_.fail("input '" + layer + "' has no fixed per-sample shape");
            shape.push_back(s[i].get<int>());
        }
        return shape;
    }
    chain_.fail("layer '" + layer + "' has no batch_input_shape, so the model input size is unknown");
}

WeightIndex KerasReader::weightsOf(const std::string& layer) const {
    const std::string group = root_.empty() ? layer : root_ + "/" + layer;
    WeightIndex index;
    if (!h5_.exists(group)) return index;
    // Keras itself looks weights up through `weight_names`; files without it (or with
    // other nesting) are searched for datasets instead.
    std::vector<std::string> names = h5_.stringListAttribute(group, "weight_names");
    if (names.empty()) names = h5_.datasetsUnder(group);
    for (const std::string& n : names) {
        std::string shortName = n.substr(n.find_last_of('/') + 1);
        shortName = shortName.substr(0, shortName.find(':'));
        index[shortName] = group + "/" + n;
    }
    return index;
}

std::vector<double> KerasReader::weight(const WeightIndex& w, const std::string& layer, const std::string& key,
                                        std::vector<size_t>& dims) const {
    auto it = w.find(key);
    if (it == w.end())
        chain_.fail("weight '" + key + "' of layer '" + layer + "' not found in weights file " + h5_.path());
    try {
        return h5_.readDataset(it->second, dims);
    } catch (const Error& e) {
        chain_.fail(std::string("layer '") + layer + "': " + e.what());
    }
}

void KerasReader::addActivation(const std::string& name, const std::string& act, const std::string& layer,
                                const std::string& cls) {
    if (act == "linear") return;
    if (act == "softmax") {
        chain_.softmax(name);
        return;
    }
    auto kind = parseActivation(act);
    // Keras 2 names: "leaky_relu" has no fixed slope as a string activation, so only the
    // LeakyReLU layer (with its alpha) is accepted.
    if (!kind || *kind == ActKind::LeakyReLU) fail(layer, cls, "unsupported activation '" + act + "'");
    Layer& l = chain_.activation(name, *kind);
    if (*kind == ActKind::HardSigmoid) {   // Keras 2: clip(0.2 * x + 0.5, 0, 1)
        l.hardSlope = 0.2;
        l.hardOffset = 0.5;
    }
}

void KerasReader::dense(const json& cfg, const std::string& name) {
    if (!cfg.contains("units") || !cfg["units"].is_number_integer()) fail(name, "Dense", "no 'units'");
    const int units = cfg["units"];
    const WeightIndex w = weightsOf(name);
    if (w.empty()) fail(name, "Dense", "no weights for this layer in " + h5_.path());
    std::vector<size_t> kdims, bdims;
    std::vector<double> kernel = weight(w, name, "kernel", kdims);
    if (kdims.size() != 2 || (int)kdims[1] != units)
        fail(name, "Dense", "kernel shape does not match [n_in, " + std::to_string(units) + "]");
    if ((int)kdims[0] != chain_.size())
        fail(name, "Dense", "kernel expects " + std::to_string(kdims[0]) + " inputs but the layer receives " +
                            std::to_string(chain_.size()));
    std::vector<double> bias;
    const bool useBias = !cfg.contains("use_bias") || cfg["use_bias"].get<bool>();
    if (useBias) {
        bias = weight(w, name, "bias", bdims);
        if ((int)bias.size() != units) fail(name, "Dense", "bias has " + std::to_string(bias.size()) + " values");
    }
    chain_.dense(name, units, std::move(kernel), std::move(bias));   // Keras kernel is [n_in][n_out]
    const std::string act = cfg.contains("activation") && cfg["activation"].is_string() ? cfg["activation"].get<std::string>() : "linear";
    addActivation(name + "_" + act, act, name, "Dense");   // hls4ml splits the fused activation the same way
}

void KerasReader::batchNorm(const json& cfg, const std::string& name) {
    const std::vector<int>& shape = chain_.shape();
    // Only normalisation over the last axis (the Keras default) maps onto per-element scale/shift.
    if (cfg.contains("axis")) {
        json axis = cfg["axis"];
        if (axis.is_array() && axis.size() == 1) axis = axis[0];
        if (!axis.is_number_integer()) fail(name, "BatchNormalization", "unsupported axis");
        const int a = axis.get<int>();
        if (a != -1 && a != (int)shape.size()) fail(name, "BatchNormalization", "only axis -1 is supported");
    }
    const int channels = shape.back();
    const size_t n = chain_.size();
    const WeightIndex w = weightsOf(name);
    const bool center = !cfg.contains("center") || cfg["center"].get<bool>();
    const bool scale = !cfg.contains("scale") || cfg["scale"].get<bool>();
    auto param = [&](const std::string& key, bool present, double dflt) {
        std::vector<double> v(channels, dflt);
        if (present) {
            std::vector<size_t> dims;
            v = weight(w, name, key, dims);
            if ((int)v.size() != channels)
                fail(name, "BatchNormalization", key + " has " + std::to_string(v.size()) + " values, expected " +
                                                     std::to_string(channels));
        }
        std::vector<double> perElement(n);   // the last axis varies fastest
        for (size_t i = 0; i < n; ++i) perElement[i] = v[i % channels];
        return perElement;
    };
    const double eps = cfg.contains("epsilon") ? cfg["epsilon"].get<double>() : 1e-3;
    chain_.batchNorm(name, param("gamma", scale, 1.0), param("beta", center, 0.0),
                     param("moving_mean", true, 0.0), param("moving_variance", true, 1.0), eps);
}

Graph KerasReader::read() {
    const json& layers = layerList();
    // Report unsupported layer classes first, all of them, before any structural problem.
    std::string unsupported;
    std::set<std::string> reported;
    for (const json& l : layers) {
        const std::string cls = l.value("class_name", "");
        if (!kSupportedClasses.count(cls) && reported.insert(cls).second)
            unsupported += (unsupported.empty() ? "" : "; ") + std::string("layer '") + layerName(l) + "' has class '" + cls + "'";
    }
    if (!unsupported.empty())
        chain_.fail("unsupported layer type: " + unsupported +
                    ". Tachyon reads dense-family Keras models (Dense, BatchNormalization, Activation, "
                    "ReLU, LeakyReLU, Softmax, Dropout, Flatten, Reshape)");

    const bool sequential = arch_.value("class_name", "") == "Sequential";
    for (size_t i = 0; i < layers.size(); ++i) {
        const json& l = layers[i];
        const std::string cls = l["class_name"];
        const std::string name = layerName(l);
        const json& cfg = config(l);
        if (name.empty()) chain_.fail("layer " + std::to_string(i) + " (" + cls + ") has no name");

        if (cls == "InputLayer") {
            chain_.input(name, perSampleShape(cfg, name));
            outputOf_[name] = chain_.last();
            continue;
        }
        if (chain_.empty()) {
            // A Sequential model without an InputLayer declares the input on its first layer.
            chain_.input(name + "_input", perSampleShape(cfg, name));
        }
        if (!sequential) {
            const auto inbound = inboundLayers(l);
            if (inbound.size() != 1)
                fail(name, cls, "has " + std::to_string(inbound.size()) + " inputs; only single-chain models are supported");
            auto it = outputOf_.find(inbound[0]);
            if (it == outputOf_.end()) fail(name, cls, "reads unknown layer '" + inbound[0] + "'");
            if (it->second != chain_.last())
                fail(name, cls, "reads '" + inbound[0] + "', which is not the previous layer; only single-chain models are supported");
        }

        if (cls == "Dense") dense(cfg, name);
        else if (cls == "Activation") addActivation(name, cfg.value("activation", "linear"), name, cls);
        else if (cls == "ReLU") {
            const double maxValue = cfg.contains("max_value") && cfg["max_value"].is_number() ? cfg["max_value"].get<double>() : -1;
            const double slope = cfg.contains("negative_slope") && cfg["negative_slope"].is_number() ? cfg["negative_slope"].get<double>() : 0;
            const double threshold = cfg.contains("threshold") && cfg["threshold"].is_number() ? cfg["threshold"].get<double>() : 0;
            if (threshold != 0) fail(name, cls, "a non-zero threshold is not supported");
            if (slope != 0 && maxValue < 0) chain_.activation(name, ActKind::LeakyReLU).alpha = slope;
            else if (slope == 0 && maxValue == 6) chain_.activation(name, ActKind::ReLU6);
            else if (slope == 0 && maxValue < 0) chain_.activation(name, ActKind::ReLU);
            else fail(name, cls, "only plain relu, relu6 (max_value 6) or a leaky slope is supported");
        } else if (cls == "LeakyReLU") {
            // Keras 2 calls the slope alpha (default 0.3); Keras 3 negative_slope.
            double alpha = 0.3;
            for (const char* key : {"alpha", "negative_slope"})
                if (cfg.contains(key) && cfg[key].is_number()) alpha = cfg[key];
            chain_.activation(name, ActKind::LeakyReLU).alpha = alpha;
        } else if (cls == "Softmax") {
            if (cfg.contains("axis") && !(cfg["axis"].is_number_integer() && cfg["axis"].get<int>() == -1))
                fail(name, cls, "only softmax over the last axis is supported");
            chain_.softmax(name);
        } else if (cls == "BatchNormalization") batchNorm(cfg, name);
        else if (cls == "Dropout") { /* identity at inference time */ }
        else if (cls == "Flatten") chain_.reshape(name, {chain_.size()});
        else if (cls == "Reshape") {
            std::vector<int> target;
            if (cfg.contains("target_shape") && cfg["target_shape"].is_array())
                for (const auto& d : cfg["target_shape"]) target.push_back(d.is_number_integer() ? d.get<int>() : -1);
            int known = 1, unknown = -1;
            for (size_t k = 0; k < target.size(); ++k)
                if (target[k] == -1) unknown = k; else known *= target[k];
            if (target.empty() || known <= 0) fail(name, cls, "invalid target_shape");
            if (unknown >= 0) target[unknown] = chain_.size() / known;
            chain_.reshape(name, target);
        }
        outputOf_[name] = chain_.last();
    }
    return chain_.finish();
}

json readJson(const std::string& path) {
    std::ifstream f(path);
    if (!f) throw Error(path + ": cannot open file");
    try {
        return json::parse(f);
    } catch (const json::exception& e) {
        throw Error(path + ": not valid JSON (" + e.what() + ")");
    }
}

}  // namespace

Graph loadKeras(const std::string& jsonPath, const std::string& h5Path) {
    const std::string ext = std::filesystem::path(jsonPath).extension().string();
    try {
        if (ext == ".h5" || ext == ".hdf5") {
            Hdf5File h5(jsonPath);
            auto config = h5.stringAttribute("", "model_config");
            if (!config)
                throw Error(jsonPath + ": no 'model_config' attribute: this is a weights-only file; "
                                       "load the model's .json architecture with it instead");
            json arch;
            try {
                arch = json::parse(*config);
            } catch (const json::exception& e) {
                throw Error(jsonPath + ": 'model_config' is not valid JSON (" + e.what() + ")");
            }
            return KerasReader(arch, jsonPath, h5).read();
        }
        json arch = readJson(jsonPath);
        if (h5Path.empty()) throw Error(jsonPath + ": no weights file given");
        if (!std::filesystem::exists(h5Path))
            throw Error(jsonPath + ": weights file " + h5Path + " does not exist");
        Hdf5File h5(h5Path);
        return KerasReader(arch, jsonPath, h5).read();
    } catch (const json::exception& e) {
        // A field of an unexpected JSON type somewhere in the architecture.
        throw Error(jsonPath + ": unexpected model architecture (" + e.what() + ")");
    }
}

}  // namespace tachyon
