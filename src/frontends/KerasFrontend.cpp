// Keras frontend.
// Keras 2: the architecture is the JSON that model.to_json() writes (or the
// `model_config` attribute of a single-file .h5 model); the weights are read from the HDF5
// layout of save_weights()/save(): [model_weights/]<layer>/<weight_name>, where the layer
// group's `weight_names` attribute lists e.g. "fc1/kernel:0".
// Keras 3 (`.keras`): a zip of config.json (the same layer configs, in Keras 3's
// serialisation) and model.weights.h5, whose layout is different: see Keras3Layout.
#include "frontends/GraphBuilder.h"
#include "frontends/Frontend.h"
#include "frontends/Hdf5File.h"
#include "util/AtomicOutput.h"
#include "util/CrashIsolation.h"
#include "frontends/QuantizerMath.h"
#include "util/Error.h"
#include "util/Json.h"
#include "util/ZipArchive.h"

#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>

namespace tachyon {

namespace {

using nlohmann::json;

const std::set<std::string> kSupportedClasses = {
    "InputLayer", "Dense", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "BatchNormalization",
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout",
    "Flatten", "Reshape", "Permute", "Conv1D", "Conv2D", "DepthwiseConv1D", "DepthwiseConv2D",
    "SeparableConv1D", "SeparableConv2D", "ZeroPadding1D", "ZeroPadding2D", "MaxPooling1D", "MaxPooling2D",
    "AveragePooling1D", "AveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "UpSampling1D", "UpSampling2D", "Add", "Subtract",
    "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "LayerNormalization", "MultiHeadAttention",
    // recurrent and graph layers (KerasReader::recurrent, KerasReader::garnet)
    "SimpleRNN", "LSTM", "GRU", "GarNet", "GarNetStack",
    // Quantisation-aware layers: QKeras, HGQ proxy models, BinaryNet/TernaryNet dense layers.
    "QDense", "QConv1D", "QConv2D", "QDepthwiseConv2D", "QSeparableConv1D", "QSeparableConv2D", "QActivation",
    "QBatchNormalization", "QAveragePooling2D", "FixedPointQuantizer", "BinaryDense", "TernaryDense"};

// Keras class aliases: MaxPool2D is MaxPooling2D, Convolution2D is Conv2D, ...
std::string canonicalClass(const std::string& cls) {
    static const std::map<std::string, std::string> alias = {
        {"Convolution1D", "Conv1D"}, {"Convolution2D", "Conv2D"}, {"MaxPool1D", "MaxPooling1D"},
        {"MaxPool2D", "MaxPooling2D"}, {"AvgPool1D", "AveragePooling1D"}, {"AvgPool2D", "AveragePooling2D"},
        {"GlobalMaxPool1D", "GlobalMaxPooling1D"}, {"GlobalMaxPool2D", "GlobalMaxPooling2D"},
        {"GlobalAvgPool1D", "GlobalAveragePooling1D"}, {"GlobalAvgPool2D", "GlobalAveragePooling2D"},
        {"SeparableConvolution1D", "SeparableConv1D"}, {"SeparableConvolution2D", "SeparableConv2D"}};
    auto it = alias.find(cls);
    return it == alias.end() ? cls : it->second;
}

// One layer's weights: short name ("kernel", "bias", "gamma", ...) -> dataset path.
using WeightIndex = std::map<std::string, std::string>;

// Where Keras 3's model.weights.h5 keeps each layer's variables (read from Keras 3's
// saving_lib.py and the layers' build()): a layer is addressed not by its name but by its
// class name in snake case, numbered in the order of model.layers when a class repeats
// ("layers/dense", "layers/dense_1", "layers/q_dense"); its variables are the datasets
// vars/0, vars/1, ... in the order the layer created them, trainable ones first (an RNN
// layer's are its cell's: "layers/lstm/cell/vars"). Sequential's model.layers leaves out
// the InputLayer, Functional's keeps it.
class Keras3Layout {
public:
    struct Entry {
        std::string cls;
        std::string varsGroup;              // e.g. "layers/lstm/cell/vars"
        std::vector<std::string> names;     // Keras 2 short names of vars/0, vars/1, ...
        bool known = true;                  // false: a class whose variable order we do not know
    };

    Keras3Layout(const json& layers, bool sequential) {
        std::map<std::string, int> used;
        for (const json& l : layers) {
            if (!l.is_object()) continue;
            const std::string cls = l.value("class_name", "");
            if (sequential && cls == "InputLayer") continue;
            std::string group = snakeCase(cls);
            auto [it, fresh] = used.emplace(group, 0);
            if (!fresh) group += "_" + std::to_string(++it->second);
            const json& cfg = l.contains("config") && l["config"].is_object() ? l["config"] : json::object();
            const std::string name = cfg.contains("name") && cfg["name"].is_string() ? cfg["name"].get<std::string>() : "";
            Entry e;
            e.cls = canonicalClass(cls);
            const bool recurrent = e.cls == "SimpleRNN" || e.cls == "LSTM" || e.cls == "GRU";
            e.varsGroup = "layers/" + group + (recurrent ? "/cell/vars" : "/vars");
            e.known = variableNames(e.cls, cfg, e.names);
            byName_[name] = e;
        }
    }
    const Entry* find(const std::string& layer) const {
        auto it = byName_.find(layer);
        return it == byName_.end() ? nullptr : &it->second;
    }

private:
    // Keras' naming.to_snake_case: "QDense" -> "q_dense", "Conv2D" -> "conv2d".
    static std::string snakeCase(const std::string& cls) {
        std::string s = std::regex_replace(cls, std::regex("[^A-Za-z0-9_]+"), "");
        s = std::regex_replace(s, std::regex("(.)([A-Z][a-z]+)"), "$1_$2");
        s = std::regex_replace(s, std::regex("([a-z])([A-Z])"), "$1_$2");
        for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
        return s;
    }
    static bool flag(const json& cfg, const char* key, bool dflt) {
        return cfg.contains(key) && cfg[key].is_boolean() ? cfg[key].get<bool>() : dflt;
    }
    static bool variableNames(const std::string& cls, const json& cfg, std::vector<std::string>& names) {
        const bool bias = flag(cfg, "use_bias", true);
        auto withBias = [&](std::vector<std::string> v) {
            if (bias) v.push_back("bias");
            return v;
        };
        static const std::set<std::string> kernelBias = {"Dense", "QDense", "BinaryDense", "TernaryDense", "Conv1D", "Conv2D", "QConv1D", "QConv2D"};
        if (kernelBias.count(cls)) names = withBias({"kernel"});
        else if (cls == "DepthwiseConv1D" || cls == "DepthwiseConv2D" || cls == "QDepthwiseConv2D")
            names = withBias({"depthwise_kernel"});
        else if (cls == "SeparableConv1D" || cls == "SeparableConv2D" || cls == "QSeparableConv1D" ||
                 cls == "QSeparableConv2D")
            names = withBias({"depthwise_kernel", "pointwise_kernel"});
        else if (cls == "SimpleRNN" || cls == "LSTM" || cls == "GRU")
            names = withBias({"kernel", "recurrent_kernel"});
        else if (cls == "BatchNormalization" || cls == "QBatchNormalization") {
            if (flag(cfg, "scale", true)) names.push_back("gamma");
            if (flag(cfg, "center", true)) names.push_back("beta");
            names.insert(names.end(), {"moving_mean", "moving_variance"});
        } else if (cls == "LayerNormalization") {
            if (flag(cfg, "scale", true)) names.push_back("gamma");
            if (flag(cfg, "center", true)) names.push_back("beta");
        } else {
            return false;
        }
        return true;
    }
    std::map<std::string, Entry> byName_;
};

class KerasReader {
public:
    KerasReader(const json& arch, const std::string& archFile, Hdf5File& weights, bool keras3 = false)
        : arch_(arch), archFile_(archFile), h5_(weights), b_(modelName(arch, archFile), archFile) {
        root_ = h5_.exists("model_weights") ? "model_weights" : "";
        if (keras3) keras3_.emplace(layerList(), isSequential());
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
        b_.fail("layer '" + layer + "' (" + cls + "): " + why);
    }

    const json& layerList() const;
    bool isSequential() const { return arch_.value("class_name", "") == "Sequential" || arch_["config"].is_array(); }
    static std::string layerName(const json& l);
    static const json& config(const json& l) {
        static const json empty = json::object();
        return l.contains("config") && l["config"].is_object() ? l["config"] : empty;
    }
    std::vector<std::string> inboundLayers(const json& l) const;
    std::vector<std::string> outputLayers() const;
    Shape perSampleShape(const json& cfg, const std::string& layer) const;

    WeightIndex weightsOf(const std::string& layer) const;
    WeightIndex keras3WeightsOf(const std::string& layer) const;
    std::vector<double> weight(const WeightIndex& w, const std::string& layer, const std::string& key,
                               std::vector<size_t>& dims) const;
    std::vector<double> optionalBias(const json& cfg, const WeightIndex& w, const std::string& name,
                                     const std::string& cls, int n) const;

    // Integer or list attribute with `rank` entries (Keras accepts both).
    std::vector<int> ints(const json& cfg, const char* key, int rank, int dflt, const std::string& name,
                          const std::string& cls) const;
    // Zero padding of a windowed op from Keras' `padding` ("valid", "same", "causal").
    void windowPadding(const json& cfg, const Shape& in, const std::vector<int>& k, const std::vector<int>& s,
                       const std::vector<int>& d, std::vector<int>& pb, std::vector<int>& pe,
                       const std::string& name, const std::string& cls) const;
    void channelsLast(const json& cfg, const std::string& name, const std::string& cls) const;

    std::string activation(const std::string& name, const std::string& in, const std::string& act,
                           const std::string& layer, const std::string& cls);
    std::string layer(const std::string& cls, const std::string& name, const json& cfg,
                      const std::vector<std::string>& ins);
    // The `activation` of a layer config: a Keras name or a QKeras quantiser.
    std::string cfgActivation(const json& cfg, const std::string& name, const std::string& out, const std::string& cls);
    std::string dense(const json& cfg, const std::string& name, const std::string& in);
    std::string conv(const json& cfg, const std::string& name, const std::string& cls, const std::string& in);
    std::string pooling(const json& cfg, const std::string& name, const std::string& cls, const std::string& in);
    std::string batchNorm(const json& cfg, const std::string& name, const std::string& in);
    std::string layerNorm(const json& cfg, const std::string& name, const std::string& in);
    std::string multiHeadAttention(const json& l, const json& cfg, const std::string& name);
    std::string zeroPadding(const json& cfg, const std::string& name, const std::string& cls, const std::string& in);
    std::string upSampling(const json& cfg, const std::string& name, const std::string& cls, const std::string& in);
    std::string reshape(const json& cfg, const std::string& name, const std::string& in);
    std::string recurrent(const json& cfg, const std::string& name, const std::string& cls, const std::string& in);
    std::string garnet(const json& cfg, const std::string& name, const std::string& cls,
                       const std::vector<std::string>& ins);
    // Quantisation-aware training (QuantizerMath.h).
    std::vector<double> quantized(const json& cfg, const char* quantizerKey, std::vector<double> values,
                                  const std::vector<size_t>& dims, const std::string& name, const std::string& cls,
                                  std::optional<FixedType>& type, std::vector<double>* channelScale);
    std::string quantizer(const std::string& name, const std::string& in, const QKerasQuantizer& q);
    std::string thresholdLayer(const std::string& name, const std::string& in, std::vector<double> t,
                               std::vector<int> strict, std::vector<double> levels);
    std::string fixedPointQuantizer(const json& cfg, const std::string& name, const std::string& in);
    std::string qAveragePooling(const json& cfg, const std::string& name, const std::string& in);
    // Marks a MAC layer's weights and bias as trained (exact) types.
    void trainedMac(const std::string& layer, const std::optional<FixedType>& w, const std::optional<FixedType>& b);
    bool hgq_ = false;   // the model holds HGQ FixedPointQuantizer layers

    const json& arch_;
    std::string archFile_;
    Hdf5File& h5_;
    GraphBuilder b_;
    std::string root_;
    std::optional<Keras3Layout> keras3_;   // set when reading a Keras 3 .keras archive
    // Keras layer name -> the Tachyon layer holding its output (removed layers alias
    // their producer; a layer with an activation maps to the activation layer).
    std::map<std::string, std::string> outputOf_;
};

const json& KerasReader::layerList() const {
    if (!arch_.is_object() || !arch_.contains("config")) b_.fail("no 'config' in the model architecture");
    const json& c = arch_["config"];
    // Keras 2.0-2.1 Sequential stores the layer list directly as the config.
    const json* layers = c.is_array() ? &c : (c.is_object() && c.contains("layers") ? &c["layers"] : nullptr);
    if (!layers || !layers->is_array() || layers->empty()) b_.fail("the model architecture has no layers");
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
    if (l.contains("inbound_nodes")) {
        const json& nodes = l["inbound_nodes"];
        if (nodes.is_array() && nodes.size() > 1)
            fail(layerName(l), l.value("class_name", ""), "is called " + std::to_string(nodes.size()) +
                                                              " times; shared layers are not supported");
        walk(nodes);
    }
    return out;
}

std::vector<std::string> KerasReader::outputLayers() const {
    std::vector<std::string> out;
    const json& c = arch_["config"];
    if (!c.is_object() || !c.contains("output_layers")) return out;
    const json& o = c["output_layers"];
    if (o.is_array() && o.size() >= 1 && o[0].is_string()) out.push_back(o[0]);   // [name, 0, 0]
    else if (o.is_array())
        for (const auto& e : o)
            if (e.is_array() && !e.empty() && e[0].is_string()) out.push_back(e[0]);
    return out;
}

Shape KerasReader::perSampleShape(const json& cfg, const std::string& layer) const {
    for (const char* key : {"batch_input_shape", "batch_shape"}) {
        if (!cfg.contains(key) || !cfg[key].is_array()) continue;
        const json& s = cfg[key];
        Shape shape;
        for (size_t i = 1; i < s.size(); ++i) {   // [0] is the batch (null)
            if (!s[i].is_number_integer() || s[i].get<long long>() <= 0 || s[i].get<long long>() > (1 << 24))
                b_.fail("input '" + layer + "' has no fixed per-sample shape");
            shape.push_back(s[i].get<int>());
        }
        return shape;
    }
    b_.fail("layer '" + layer + "' has no batch_input_shape, so the model input size is unknown");
}

WeightIndex KerasReader::weightsOf(const std::string& layer) const {
    if (keras3_) return keras3WeightsOf(layer);
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
        // Layers made of sublayers (MultiHeadAttention's query, key, ...) name them too:
        // "mha/query/kernel:0" is also "query/kernel".
        const size_t cut = n.find_last_of('/');
        if (cut != std::string::npos && cut > 0) {
            const size_t parent = n.find_last_of('/', cut - 1);
            index[n.substr(parent == std::string::npos ? 0 : parent + 1, cut - (parent == std::string::npos ? 0 : parent + 1)) +
                  "/" + shortName] = group + "/" + n;
        }
    }
    return index;
}

WeightIndex KerasReader::keras3WeightsOf(const std::string& layer) const {
    WeightIndex index;
    const Keras3Layout::Entry* e = keras3_->find(layer);
    if (!e) return index;
    if (!e->known) {
        // Variables anywhere in the layer's group (its own or its sublayers', as
        // MultiHeadAttention's _query_dense/vars) in an order Tachyon does not know.
        const std::string group = e->varsGroup.substr(0, e->varsGroup.rfind("/vars"));
        if (!h5_.exists(group) || h5_.datasetsUnder(group).empty()) return index;
        fail(layer, e->cls, "reading this layer's weights from a Keras 3 file is not supported (the order of its "
                            "variables in model.weights.h5 is not known to Tachyon); save it in Keras 2 format");
    }
    if (!h5_.exists(e->varsGroup)) return index;
    const std::vector<std::string> stored = h5_.datasetsUnder(e->varsGroup);
    std::string expected;
    for (const auto& n : e->names) expected += (expected.empty() ? "" : ", ") + n;
    if (stored.size() != e->names.size())
        fail(layer, e->cls, h5_.path() + " holds " + std::to_string(stored.size()) + " variables under '" +
                                e->varsGroup + "', expected " + std::to_string(e->names.size()) + " (" + expected + ")");
    for (size_t i = 0; i < e->names.size(); ++i) {
        const std::string path = e->varsGroup + "/" + std::to_string(i);
        if (!h5_.exists(path)) fail(layer, e->cls, "no variable '" + path + "' in " + h5_.path());
        index[e->names[i]] = path;
    }
    return index;
}

std::vector<double> KerasReader::weight(const WeightIndex& w, const std::string& layer, const std::string& key,
                                        std::vector<size_t>& dims) const {
    auto it = w.find(key);
    if (it == w.end())
        b_.fail("weight '" + key + "' of layer '" + layer + "' not found in weights file " + h5_.path());
    try {
        return h5_.readDataset(it->second, dims);
    } catch (const Error& e) {
        b_.fail(std::string("layer '") + layer + "': " + e.what());
    }
}

std::vector<double> KerasReader::optionalBias(const json& cfg, const WeightIndex& w, const std::string& name,
                                              const std::string& cls, int n) const {
    const bool useBias = !cfg.contains("use_bias") || !cfg["use_bias"].is_boolean() || cfg["use_bias"].get<bool>();
    if (!useBias) return std::vector<double>(size_t(n), 0.0);
    std::vector<size_t> dims;
    std::vector<double> bias = weight(w, name, "bias", dims);
    if ((int)bias.size() != n) fail(name, cls, "bias has " + std::to_string(bias.size()) + " values, expected " + std::to_string(n));
    return bias;
}

std::vector<int> KerasReader::ints(const json& cfg, const char* key, int rank, int dflt, const std::string& name,
                                   const std::string& cls) const {
    if (!cfg.contains(key) || cfg[key].is_null()) return std::vector<int>(size_t(rank), dflt);
    const json& v = cfg[key];
    std::vector<int> out;
    if (v.is_number_integer()) out.assign(size_t(rank), v.get<int>());
    else if (v.is_array())
        for (const auto& e : v) {
            if (!e.is_number_integer()) fail(name, cls, std::string("'") + key + "' must hold integers");
            out.push_back(e.get<int>());
        }
    if ((int)out.size() != rank) fail(name, cls, std::string("'") + key + "' must have " + std::to_string(rank) + " entries");
    for (int x : out)
        if (x < 1 || x > (1 << 20)) fail(name, cls, std::string("'") + key + "' must be positive");
    return out;
}

void KerasReader::windowPadding(const json& cfg, const Shape& in, const std::vector<int>& k, const std::vector<int>& s,
                                const std::vector<int>& d, std::vector<int>& pb, std::vector<int>& pe,
                                const std::string& name, const std::string& cls) const {
    const std::string padding = cfg.value("padding", "valid");
    const size_t rank = k.size();
    pb.assign(rank, 0);
    pe.assign(rank, 0);
    if (padding == "valid") return;
    for (size_t a = 0; a < rank; ++a) {
        const int span = (k[a] - 1) * d[a] + 1;
        if (padding == "same") {
            // TensorFlow's rule: the output has ceil(in / stride) positions; when the
            // padding is odd, the extra zero goes at the end.
            const int outLen = (in[a] + s[a] - 1) / s[a];
            const int total = std::max((outLen - 1) * s[a] + span - in[a], 0);
            pb[a] = total / 2;
            pe[a] = total - total / 2;
        } else if (padding == "causal" && rank == 1) {
            pb[a] = span - 1;
        } else {
            fail(name, cls, "unsupported padding '" + padding + "'");
        }
    }
}

void KerasReader::channelsLast(const json& cfg, const std::string& name, const std::string& cls) const {
    if (cfg.contains("data_format") && cfg["data_format"].is_string() && cfg["data_format"] != "channels_last")
        fail(name, cls, "data_format '" + cfg["data_format"].get<std::string>() +
                            "' is not supported (Tachyon works channels-last, as hls4ml)");
}

std::string KerasReader::activation(const std::string& name, const std::string& in, const std::string& act,
                                    const std::string& layer, const std::string& cls) {
    if (act == "linear") return in;
    if (act == "softmax") return b_.softmax(name, in);
    // BinaryNet / TernaryNet activations (as hls4ml reads them): binary_tanh(x) =
    // 2 round(clip((x+1)/2, 0, 1)) - 1, i.e. x > 0 ? 1 : -1; ternary_tanh(x) = x > 0.5 ? 1 :
    // (x <= -0.5 ? -1 : 0).
    if (act == "binary_tanh") return thresholdLayer(name, in, {0.0}, {1}, {-1.0, 1.0});
    if (act == "ternary_tanh") return thresholdLayer(name, in, {-0.5, 0.5}, {1, 1}, {-1.0, 0.0, 1.0});
    if (act.find('(') != std::string::npos || act.rfind("quantized_", 0) == 0 || act == "binary" || act == "ternary" ||
        act == "stochastic_binary" || act == "stochastic_ternary")
        return quantizer(name, in, *parseQKerasQuantizer(json(act), archFile_ + ": layer '" + layer + "' (" + cls + ")"));
    auto kind = parseActivation(act);
    // Keras 2 names: "leaky_relu" has no fixed slope as a string activation, so only the
    // LeakyReLU layer (with its alpha) is accepted.
    if (!kind || *kind == ActKind::LeakyReLU) fail(layer, cls, "unsupported activation '" + act + "'");
    ActAttrs a;
    a.kind = *kind;
    if (*kind == ActKind::HardSigmoid) {   // Keras 2: clip(0.2 * x + 0.5, 0, 1)
        a.slope = 0.2;
        a.offset = 0.5;
    }
    if (*kind == ActKind::ELU) a.alpha = 1.0;
    return b_.activation(name, in, a);
}

std::string KerasReader::dense(const json& cfg, const std::string& name, const std::string& in) {
    const std::string cls = cfg.contains("__class") ? cfg["__class"].get<std::string>() : "Dense";
    if (!cfg.contains("units") || !cfg["units"].is_number_integer() || cfg["units"].get<long long>() <= 0 ||
        cfg["units"].get<long long>() > (1 << 24))
        fail(name, cls, "no valid 'units'");
    const int units = cfg["units"];
    const WeightIndex w = weightsOf(name);
    if (w.empty()) fail(name, cls, "no weights for this layer in " + h5_.path());
    std::vector<size_t> kdims;
    std::vector<double> kernel = weight(w, name, "kernel", kdims);
    if (kdims.size() != 2 || (int)kdims[1] != units)
        fail(name, cls, "kernel shape does not match [n_in, " + std::to_string(units) + "]");
    if ((int)kdims[0] != b_.shape(in).back())
        fail(name, cls, "kernel expects " + std::to_string(kdims[0]) + " inputs but the layer receives " +
                            shapeString(b_.shape(in)));
    std::optional<FixedType> wT, bT;
    std::vector<double> scale;
    if (cls == "BinaryDense" || cls == "TernaryDense") {
        // BinaryNet/TernaryNet (the layers hls4ml reads as binary/ternary weights):
        // binarize(W, H) = H * (W/H > 0 ? 1 : -1); ternarize(W, H) = H * (W/H > 0.5 ? 1 :
        // (W/H <= -0.5 ? -1 : 0)).
        const double h = cfg.contains("H") && cfg["H"].is_number() ? cfg["H"].get<double>() : 1.0;
        for (double& v : kernel) {
            const double x = v / h;
            v = cls == "BinaryDense" ? (x > 0 ? h : -h) : (x > 0.5 ? h : (x <= -0.5 ? -h : 0.0));
        }
        wT = exactTypeFor(kernel, archFile_ + ": layer '" + name + "' kernel");
    } else {
        kernel = quantized(cfg, "kernel_quantizer", std::move(kernel), kdims, name, cls, wT, &scale);
    }
    std::vector<double> bias = optionalBias(cfg, w, name, cls, units);
    bias = quantized(cfg, "bias_quantizer", std::move(bias), {size_t(units)}, name, cls, bT, nullptr);
    if (hgq_ && !wT) {   // HGQ proxy models store the already-quantised weights
        wT = exactTypeFor(kernel, archFile_ + ": layer '" + name + "' kernel");
        bT = exactTypeFor(bias, archFile_ + ": layer '" + name + "' bias");
    }
    std::string out;
    if (scale.empty()) {
        out = b_.dense(name, in, units, std::move(kernel), bias);
        trainedMac(out, wT, bT);
    } else {
        // A scale that is no power of two (alpha "auto"): the integer-grid weights, then
        // y = scale_j * acc_j + b_j as its own per-channel layer (hls4ml's ApplyAlpha).
        out = b_.dense(name, in, units, std::move(kernel), std::vector<double>(size_t(units), 0.0));
        trainedMac(out, wT, exactTypeFor({0.0}, ""));
        std::vector<double> gamma(static_cast<size_t>(units), 0.0);
        for (int j = 0; j < units; ++j) gamma[size_t(j)] = scale.size() == 1 ? scale[0] : scale[size_t(j)];
        out = b_.batchNorm(name + "_alpha", out, gamma, bias, std::vector<double>(size_t(units), 0.0),
                           std::vector<double>(size_t(units), 1.0), 0.0);
    }
    return cfgActivation(cfg, name, out, cls);
}

std::string KerasReader::conv(const json& cfg, const std::string& name, const std::string& cls, const std::string& in) {
    channelsLast(cfg, name, cls);
    const int rank = cls.size() >= 2 && cls[cls.size() - 2] == '1' ? 1 : 2;   // ...1D / ...2D
    const bool depthwise = cls.rfind("Depthwise", 0) == 0, separable = cls.rfind("Separable", 0) == 0;
    const Shape& x = b_.shape(in);
    if ((int)x.size() != rank + 1)
        fail(name, cls, "expects a rank-" + std::to_string(rank + 1) + " input, got " + shapeString(x));
    if (cfg.contains("groups") && cfg["groups"].is_number_integer() && cfg["groups"].get<int>() != 1)
        fail(name, cls, "grouped convolution (groups > 1) is not supported");
    const int cin = x.back();
    ConvAttrs a;
    a.rank = rank;
    a.kernel = ints(cfg, "kernel_size", rank, 1, name, cls);
    a.strides = ints(cfg, "strides", rank, 1, name, cls);
    a.dilation = ints(cfg, "dilation_rate", rank, 1, name, cls);
    windowPadding(cfg, x, a.kernel, a.strides, a.dilation, a.padBegin, a.padEnd, name, cls);
    a.inChannels = cin;
    const WeightIndex w = weightsOf(name);
    if (w.empty()) fail(name, cls, "no weights for this layer in " + h5_.path());
    long long window = 1;
    for (int k : a.kernel) window *= k;
    std::optional<FixedType> kernelT, biasT, pointT;
    auto bias = [&](int n) {
        return quantized(cfg, "bias_quantizer", optionalBias(cfg, w, name, cls, n), {size_t(n)}, name, cls, biasT, nullptr);
    };
    auto kernelOf = [&](const char* key, long long expectPerOut, int& outCount) {
        std::vector<size_t> dims;
        std::vector<double> k = weight(w, name, key, dims);
        const std::string qkey = std::string(key) == "kernel" ? "kernel_quantizer" : "depthwise_quantizer";
        k = quantized(cfg, qkey.c_str(), std::move(k), dims, name, cls, kernelT, nullptr);
        if (dims.size() != size_t(rank) + 2) fail(name, cls, std::string(key) + " has rank " + std::to_string(dims.size()));
        for (int d = 0; d < rank; ++d)
            if ((int)dims[size_t(d)] != a.kernel[size_t(d)]) fail(name, cls, std::string(key) + " does not match kernel_size");
        outCount = int(dims.back());
        if ((long long)dims[size_t(rank)] * 1 != (depthwise || separable ? cin : cin) || (long long)k.size() != expectPerOut * outCount)
            fail(name, cls, std::string(key) + " does not match the " + std::to_string(cin) + " input channels");
        return k;
    };
    int count = 0;
    if (!depthwise && !separable) {
        std::vector<double> k = kernelOf("kernel", window * cin, count);
        a.outChannels = count;
        std::string out = b_.add(name, LayerKind::Conv, {in}, a, {{"weight", std::move(k)}, {"bias", bias(count)}});
        trainedMac(out, kernelT, biasT);
        return cfgActivation(cfg, name, out, cls);
    }
    // Depthwise part (its own layer for SeparableConv, as hls4ml splits it).
    std::vector<double> dk = kernelOf("depthwise_kernel", window * cin, count);
    a.depthwise = true;
    a.depthMultiplier = count;
    a.outChannels = cin * count;
    if (depthwise) {
        std::string out = b_.add(name, LayerKind::Conv, {in}, a, {{"weight", std::move(dk)}, {"bias", bias(a.outChannels)}});
        trainedMac(out, kernelT, biasT);
        return cfgActivation(cfg, name, out, cls);
    }
    std::string dw = b_.add(name + "_depthwise", LayerKind::Conv, {in}, a,
                            {{"weight", std::move(dk)}, {"bias", std::vector<double>(size_t(a.outChannels), 0.0)}});
    trainedMac(dw, kernelT, kernelT ? std::optional<FixedType>(exactTypeFor({0.0}, "")) : std::nullopt);
    std::vector<size_t> pdims;
    std::vector<double> pk = weight(w, name, "pointwise_kernel", pdims);
    pk = quantized(cfg, "pointwise_quantizer", std::move(pk), pdims, name, cls, pointT, nullptr);
    if (pdims.size() != size_t(rank) + 2 || (int)pdims[size_t(rank)] != a.outChannels)
        fail(name, cls, "pointwise_kernel does not match the depthwise output");
    ConvAttrs p;
    p.rank = rank;
    p.kernel = p.strides = p.dilation = std::vector<int>(size_t(rank), 1);
    p.padBegin = p.padEnd = std::vector<int>(size_t(rank), 0);
    p.inChannels = a.outChannels;
    p.outChannels = int(pdims.back());
    std::string out = b_.add(name + "_pointwise", LayerKind::Conv, {dw}, p, {{"weight", std::move(pk)}, {"bias", bias(p.outChannels)}});
    trainedMac(out, pointT, biasT);
    return cfgActivation(cfg, name, out, cls);
}

std::string KerasReader::pooling(const json& cfg, const std::string& name, const std::string& cls, const std::string& in) {
    channelsLast(cfg, name, cls);
    PoolAttrs a;
    a.rank = cls.size() >= 2 && cls[cls.size() - 2] == '1' ? 1 : 2;
    a.op = cls.find("Max") != std::string::npos ? PoolOp::Max : PoolOp::Average;
    a.global = cls.rfind("Global", 0) == 0;
    const Shape& x = b_.shape(in);
    if ((int)x.size() != a.rank + 1)
        fail(name, cls, "expects a rank-" + std::to_string(a.rank + 1) + " input, got " + shapeString(x));
    if (!a.global) {
        // Keras 2 spells the 1-D window pool_length in old files.
        a.kernel = ints(cfg, cfg.contains("pool_size") ? "pool_size" : "pool_length", a.rank, 2, name, cls);
        a.strides = cfg.contains("strides") && !cfg["strides"].is_null() ? ints(cfg, "strides", a.rank, 1, name, cls) : a.kernel;
        windowPadding(cfg, x, a.kernel, a.strides, std::vector<int>(size_t(a.rank), 1), a.padBegin, a.padEnd, name, cls);
    }
    return b_.add(name, LayerKind::Pooling, {in}, a);
}

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

// Keras MultiHeadAttention (Keras 2 layout: EinsumDense sublayers query, key, value
// [features, heads, head_dim] and attention_output [heads, value_dim, output]), called on
// query and value (key = value unless given), default attention_axes (the token axis of a
// [tokens, features] sample). As Keras computes it: Q = x_q Wq + bq scaled by 1/sqrt(key_dim),
// K, V likewise unscaled; per head softmax(Q K^T) V; the heads concatenated and projected.
// Layers: Dense, Reshape + Transpose to [heads, tokens, head_dim], a BatchNorm (the scale),
// MatMul (transpose_b), Softmax, MatMul, Transpose + Reshape back, Dense.
std::string KerasReader::multiHeadAttention(const json& l, const json& cfg, const std::string& name) {
    const std::string cls = "MultiHeadAttention";
    // Operands: [[["q", 0, 0, {"value": ["v", 0, 0], "key": [...]}], ["v", 0, 0, {}]...]] (Keras 2)
    // or [{"args": [...], "kwargs": {...}}] with keras_history references.
    auto ref = [&](const json& j) -> std::string {
        if (j.is_array() && j.size() >= 3 && j[0].is_string()) return j[0];
        if (j.is_object() && j.contains("config") && j["config"].is_object() && j["config"].contains("keras_history"))
            return j["config"]["keras_history"][0];
        return "";
    };
    std::vector<std::string> positional;
    json kwargs = json::object();
    const json& nodes = l.contains("inbound_nodes") ? l["inbound_nodes"] : json::array();
    if (!nodes.is_array() || nodes.size() != 1) fail(name, cls, "must be called exactly once (shared layers are not supported)");
    const json& node = nodes[0];
    if (node.is_array()) {
        for (const json& e : node) {
            const std::string r = ref(e);
            if (r.empty()) fail(name, cls, "unreadable inbound node");
            positional.push_back(r);
            if (e.size() >= 4 && e[3].is_object()) kwargs.update(e[3]);
        }
    } else if (node.is_object()) {
        if (node.contains("args") && node["args"].is_array())
            for (const json& a : node["args"]) positional.push_back(ref(a));
        if (node.contains("kwargs") && node["kwargs"].is_object()) kwargs = node["kwargs"];
    }
    for (const char* refused : {"attention_mask", "query_mask", "value_mask", "key_mask"})
        if (kwargs.contains(refused) && !kwargs[refused].is_null())
            fail(name, cls, std::string("masks are not supported (") + refused + ")");
    for (const char* refused : {"use_causal_mask", "return_attention_scores"})
        if (kwargs.contains(refused) && kwargs[refused].is_boolean() && kwargs[refused].get<bool>())
            fail(name, cls, std::string(refused) + " is not supported");
    auto operand = [&](size_t pos, const char* key, const std::string& dflt) {
        std::string k = pos < positional.size() ? positional[pos] : "";
        if (kwargs.contains(key) && !kwargs[key].is_null()) k = ref(kwargs[key]);
        if (k.empty()) return dflt;
        auto it = outputOf_.find(k);
        if (it == outputOf_.end()) fail(name, cls, "reads unknown layer '" + k + "'");
        return it->second;
    };
    const std::string query = operand(0, "query", "");
    if (query.empty()) fail(name, cls, "has no query input");
    const std::string value = operand(1, "value", "");
    if (value.empty()) fail(name, cls, "has no value input");
    const std::string key = operand(2, "key", value);

    auto positive = [&](const char* k) {
        if (!cfg.contains(k) || !cfg[k].is_number_integer() || cfg[k].get<long long>() <= 0 || cfg[k].get<long long>() > 4096)
            fail(name, cls, std::string("no valid '") + k + "'");
        return cfg[k].get<int>();
    };
    const int heads = positive("num_heads"), keyDim = positive("key_dim");
    const int valueDim = cfg.contains("value_dim") && !cfg["value_dim"].is_null() ? positive("value_dim") : keyDim;
    // Copies: adding layers below moves the graph's layers.
    const Shape qs = b_.shape(query), vs = b_.shape(value), ks = b_.shape(key);
    if (qs.size() != 2 || vs.size() != 2 || ks.size() != 2)
        fail(name, cls, "expects [tokens, features] inputs per sample, got " + shapeString(qs) + ", " + shapeString(vs) +
                            ", " + shapeString(ks));
    if (ks[0] != vs[0]) fail(name, cls, "key and value have different numbers of tokens");
    if (cfg.contains("attention_axes") && !cfg["attention_axes"].is_null()) {
        json axes = cfg["attention_axes"];
        if (axes.is_array() && axes.size() == 1) axes = axes[0];
        if (!axes.is_number_integer() || (axes.get<int>() != 1 && axes.get<int>() != -3))
            fail(name, cls, "attention_axes other than the default (the token axis) are not supported");
    }
    int outDim = qs[1];
    if (cfg.contains("output_shape") && !cfg["output_shape"].is_null()) {
        json o = cfg["output_shape"];
        if (o.is_array() && o.size() == 1) o = o[0];
        if (!o.is_number_integer() || o.get<int>() <= 0) fail(name, cls, "only an integer output_shape is supported");
        outDim = o.get<int>();
    }
    const bool useBias = !cfg.contains("use_bias") || !cfg["use_bias"].is_boolean() || cfg["use_bias"].get<bool>();
    // dropout only acts in training.
    const WeightIndex w = weightsOf(name);
    auto read = [&](const std::string& k, const std::vector<size_t>& want) {
        std::vector<size_t> dims;
        std::vector<double> v = weight(w, name, k, dims);
        if (dims != want) {
            std::string ws;
            for (size_t d : want) ws += (ws.empty() ? "" : ", ") + std::to_string(d);
            fail(name, cls, k + " has the wrong shape (expected [" + ws + "])");
        }
        return v;
    };
    auto bias = [&](const std::string& k, const std::vector<size_t>& want) {
        size_t n = 1;
        for (size_t d : want) n *= d;
        return useBias ? read(k, want) : std::vector<double>(n, 0.0);
    };
    const size_t N = size_t(heads), H = size_t(keyDim), Hv = size_t(valueDim);
    // [tokens, heads * dim] -> [heads, tokens, dim]
    auto project = [&](const std::string& part, const std::string& in, size_t dim) {
        const Shape x = b_.shape(in);
        const std::string d = b_.dense(name + "_" + part, in, int(N * dim), read(part + "/kernel", {size_t(x[1]), N, dim}),
                                       bias(part + "/bias", {N, dim}));
        const std::string r = b_.reshape(name + "_" + part + "_heads", d, {x[0], heads, int(dim)});
        return b_.transpose(name + "_" + part + "_t", r, {1, 0, 2});
    };
    const std::string q = project("query", query, H);
    const double s = 1.0 / std::sqrt(double(keyDim));
    const std::string qScaled = b_.add(name + "_query_scale", LayerKind::BatchNorm, {q}, NoAttrs{},
                                       {{"scale", std::vector<double>(H, s)}, {"shift", std::vector<double>(H, 0.0)}});
    const std::string k = project("key", key, H);
    const std::string v = project("value", value, Hv);
    MatMulAttrs qk;
    qk.transposeB = true;
    const std::string scores = b_.add(name + "_scores", LayerKind::MatMul, {qScaled, k}, qk);
    const std::string probs = b_.softmax(name + "_softmax", scores);
    const std::string ctx = b_.add(name + "_context", LayerKind::MatMul, {probs, v}, MatMulAttrs{});
    const std::string merged = b_.transpose(name + "_context_t", ctx, {1, 0, 2});
    const std::string flat = b_.reshape(name + "_context_flat", merged, {qs[0], int(N * Hv)});
    return b_.dense(name, flat, outDim, read("attention_output/kernel", {N, Hv, size_t(outDim)}),
                    bias("attention_output/bias", {size_t(outDim)}));
}

std::string KerasReader::zeroPadding(const json& cfg, const std::string& name, const std::string& cls,
                                     const std::string& in) {
    channelsLast(cfg, name, cls);
    const Shape& x = b_.shape(in);
    const int rank = cls.size() >= 2 && cls[cls.size() - 2] == '1' ? 1 : 2;
    if ((int)x.size() != rank + 1) fail(name, cls, "expects a rank-" + std::to_string(rank + 1) + " input");
    PadAttrs a;
    a.padBegin.assign(x.size(), 0);
    a.padEnd.assign(x.size(), 0);
    const json p = cfg.contains("padding") ? cfg["padding"] : json(1);
    auto num = [&](const json& v) {
        if (!v.is_number_integer() || v.get<int>() < 0) fail(name, cls, "padding must hold non-negative integers");
        return v.get<int>();
    };
    // 1-D: n or [begin, end]; 2-D: n, [h, w] (symmetric) or [[top, bottom], [left, right]].
    if (p.is_number_integer()) {
        for (int d = 0; d < rank; ++d) a.padBegin[size_t(d)] = a.padEnd[size_t(d)] = num(p);
    } else if (p.is_array() && rank == 1 && p.size() == 2) {
        a.padBegin[0] = num(p[0]);
        a.padEnd[0] = num(p[1]);
    } else if (p.is_array() && rank == 2 && p.size() == 2) {
        for (int d = 0; d < 2; ++d) {
            if (p[size_t(d)].is_array() && p[size_t(d)].size() == 2) {
                a.padBegin[size_t(d)] = num(p[size_t(d)][0]);
                a.padEnd[size_t(d)] = num(p[size_t(d)][1]);
            } else {
                a.padBegin[size_t(d)] = a.padEnd[size_t(d)] = num(p[size_t(d)]);
            }
        }
    } else {
        fail(name, cls, "unsupported padding specification");
    }
    return b_.add(name, LayerKind::Pad, {in}, a);
}

std::string KerasReader::upSampling(const json& cfg, const std::string& name, const std::string& cls,
                                    const std::string& in) {
    channelsLast(cfg, name, cls);
    const Shape& x = b_.shape(in);
    const int rank = cls.size() >= 2 && cls[cls.size() - 2] == '1' ? 1 : 2;
    if ((int)x.size() != rank + 1) fail(name, cls, "expects a rank-" + std::to_string(rank + 1) + " input");
    if (cfg.contains("interpolation") && cfg["interpolation"] != "nearest")
        fail(name, cls, "only nearest-neighbour interpolation is supported");
    ResizeAttrs a;
    a.scale = ints(cfg, cfg.contains("size") ? "size" : "length", rank, 2, name, cls);
    a.scale.push_back(1);
    return b_.add(name, LayerKind::Resize, {in}, a);
}

std::string KerasReader::reshape(const json& cfg, const std::string& name, const std::string& in) {
    std::vector<int> target;
    if (cfg.contains("target_shape") && cfg["target_shape"].is_array())
        for (const auto& d : cfg["target_shape"]) target.push_back(d.is_number_integer() ? d.get<int>() : -1);
    long long known = 1;
    int unknown = -1;
    for (size_t k = 0; k < target.size(); ++k) {
        if (target[k] == -1) {
            if (unknown >= 0) fail(name, "Reshape", "more than one unknown dimension");
            unknown = int(k);
        } else if (target[k] <= 0) {
            fail(name, "Reshape", "invalid target_shape");
        } else {
            known *= target[k];
        }
    }
    if (target.empty() || known <= 0 || known > (1LL << 30)) fail(name, "Reshape", "invalid target_shape");
    if (unknown >= 0) target[size_t(unknown)] = int(b_.size(in) / known);
    return b_.reshape(name, in, target);
}

void KerasReader::trainedMac(const std::string& layer, const std::optional<FixedType>& w,
                             const std::optional<FixedType>& b) {
    if (!w) return;
    Layer& l = b_.layer(layer);
    l.trained["weight"] = *w;
    if (b) l.trained["bias"] = *b;
}

std::vector<double> KerasReader::quantized(const json& cfg, const char* quantizerKey, std::vector<double> values,
                                           const std::vector<size_t>& dims, const std::string& name,
                                           const std::string& cls, std::optional<FixedType>& type,
                                           std::vector<double>* channelScale) {
    if (!cfg.contains(quantizerKey)) return values;
    const std::string where = archFile_ + ": layer '" + name + "' (" + cls + ") " + quantizerKey;
    const auto q = parseQKerasQuantizer(cfg[quantizerKey], where);
    if (!q) return values;
    QuantizedTensor t = quantizeWeights(*q, values, dims, where);
    if (!t.channelScale.empty()) {
        if (!channelScale)
            throw Error(where + ": a scale that is not a power of two (alpha 'auto' or a non-dyadic alpha) is only "
                                "supported on Dense kernels");
        *channelScale = t.channelScale;
    }
    // The quantiser's own type (as hls4ml names it) when it holds every value, else the
    // exact type of the quantised values.
    type = exactTypeFor(t.values, where);
    if (q->cls == "quantized_bits" && t.channelScale.empty() && (q->alpha.empty() || q->alpha == "number")) {
        const FixedType qt = quantizedBitsType(*q);
        bool fits = true;
        for (double v : t.values) fits = fits && qt.quantize(v) == v;
        if (fits) type = qt;
    }
    return std::move(t.values);
}

std::string KerasReader::quantizer(const std::string& name, const std::string& in, const QKerasQuantizer& q) {
    FixedType result;
    QuantizeAttrs a = activationQuantizer(q, result, archFile_ + ": layer '" + name + "'");
    const std::string out = b_.add(name, LayerKind::Quantize, {in}, a);
    b_.layer(out).trained["result"] = result;
    return out;
}

std::string KerasReader::thresholdLayer(const std::string& name, const std::string& in, std::vector<double> t,
                                        std::vector<int> strict, std::vector<double> levels) {
    QuantizeAttrs a;
    a.mode = QuantizeMode::Threshold;
    a.nThresholds = int(t.size());
    a.thresholds = std::move(t);
    a.strict = std::move(strict);
    a.levels = std::move(levels);
    const FixedType result = levelsType(a.levels, archFile_ + ": layer '" + name + "'");
    const std::string out = b_.add(name, LayerKind::Quantize, {in}, a);
    b_.layer(out).trained["result"] = result;
    return out;
}

// HGQ proxy models (calad0i/HGQ, src/HGQ/proxy/fixed_point_quantizer.py): a
// FixedPointQuantizer holds keep_negative, bits and integers (sign bit included), one
// per element, broadcast as numpy does over [1, per-sample shape...], and one rounding
// and overflow mode: y = cast<fixed<bits, integers, keep_negative, RND, SAT>>(x), 0 where
// bits is 0.
std::string KerasReader::fixedPointQuantizer(const json& cfg, const std::string& name, const std::string& in) {
    const std::string cls = "FixedPointQuantizer";
    const WeightIndex w = weightsOf(name);
    std::vector<size_t> kd, bd, id;
    const std::vector<double> kn = weight(w, name, "keep_negative", kd), bits = weight(w, name, "bits", bd),
                              ints = weight(w, name, "integers", id);
    if (kd != bd || bd != id) fail(name, cls, "keep_negative, bits and integers differ in shape");
    QuantizeAttrs a;
    const std::string where = archFile_ + ": layer '" + name + "' (" + cls + ")";
    a.quant = parseQuantMode(cfg.value("RND", "TRN"), where);
    a.overflow = parseOverflowMode(cfg.value("SAT", "WRAP"), where);
    const Shape& shape = b_.shape(in);
    // Drop the batch axis, then align the remaining axes to the per-sample shape from the right.
    std::vector<size_t> q(bd.begin() + (bd.empty() ? 0 : 1), bd.end());
    if (q.size() > shape.size()) fail(name, cls, "quantiser shape does not broadcast to " + shapeString(shape));
    q.insert(q.begin(), shape.size() - q.size(), 1);
    for (size_t d = 0; d < shape.size(); ++d)
        if (q[d] != 1 && (int)q[d] != shape[d]) fail(name, cls, "quantiser shape does not broadcast to " + shapeString(shape));
    const size_t n = size_t(b_.size(in));
    std::vector<int> wv(n), iv(n), sv(n);
    for (size_t e = 0; e < n; ++e) {
        size_t rest = e, src = 0, stride = 1;
        std::vector<size_t> idx(shape.size());
        for (size_t d = shape.size(); d-- > 0;) {
            idx[d] = rest % size_t(shape[d]);
            rest /= size_t(shape[d]);
        }
        for (size_t d = shape.size(); d-- > 0;) {
            src += (q[d] == 1 ? 0 : idx[d]) * stride;
            stride *= q[d];
        }
        wv[e] = int(bits[src]);
        iv[e] = wv[e] == 0 ? 0 : int(ints[src]);
        sv[e] = wv[e] == 0 ? 0 : int(kn[src]);
        if (wv[e] < 0 || wv[e] > 64) fail(name, cls, "element width " + std::to_string(wv[e]) + " is outside 0..64");
    }
    bool same = true;
    for (size_t e = 1; e < n; ++e) same = same && wv[e] == wv[0] && iv[e] == iv[0] && sv[e] == sv[0];
    if (same) wv.resize(1), iv.resize(1), sv.resize(1);
    a.width = wv;
    a.integer = iv;
    a.isSigned = sv;
    const FixedType result = unionType(a);
    // A quantiser right after the model input decides the input's type: truncation composes
    // (cast to the union type, then to each element's type, equals the element's cast).
    Layer& src = b_.layer(in);
    if (src.kind == LayerKind::Input && (a.quant == Quant::TRN || a.quant == Quant::TRN_ZERO)) src.trained["result"] = result;
    const std::string out = b_.add(name, LayerKind::Quantize, {in}, a);
    FixedType r = result;
    r.quant = Quant::TRN;
    r.overflow = Overflow::WRAP;
    b_.layer(out).trained["result"] = r;
    return out;
}

// QKeras QAveragePooling2D with an average_quantizer (qkeras/qpooling.py): y = (sum of the
// window) * q(1 / pool_area), i.e. a depthwise convolution whose weights are all
// q(1/pool_area), computed exactly; then its activation.
std::string KerasReader::qAveragePooling(const json& cfg, const std::string& name, const std::string& in) {
    const std::string cls = "QAveragePooling2D";
    if (!cfg.contains("average_quantizer") || cfg["average_quantizer"].is_null()) {
        const std::string out = pooling(cfg, name, "AveragePooling2D", in);
        return cfgActivation(cfg, name, out, cls);
    }
    channelsLast(cfg, name, cls);
    const Shape& x = b_.shape(in);
    if (x.size() != 3) fail(name, cls, "expects a rank-3 input, got " + shapeString(x));
    if (cfg.value("padding", "valid") != "valid") fail(name, cls, "only 'valid' padding is supported with an average_quantizer");
    ConvAttrs a;
    a.rank = 2;
    a.kernel = ints(cfg, "pool_size", 2, 2, name, cls);
    a.strides = cfg.contains("strides") && !cfg["strides"].is_null() ? ints(cfg, "strides", 2, 1, name, cls) : a.kernel;
    a.dilation = {1, 1};
    a.padBegin = a.padEnd = {0, 0};
    a.inChannels = a.outChannels = x.back();
    a.depthwise = true;
    a.depthMultiplier = 1;
    const int area = a.kernel[0] * a.kernel[1];
    const std::string where = archFile_ + ": layer '" + name + "' (" + cls + ") average_quantizer";
    auto q = parseQKerasQuantizer(cfg["average_quantizer"], where);
    const double factor = double(float(1.0 / area));
    const double qf = q ? quantizeWeights(*q, {factor}, {1}, where).values.at(0) : factor;
    std::vector<double> weight(size_t(area) * size_t(x.back()), qf);
    const std::string out = b_.add(name, LayerKind::Conv, {in}, a,
                                   {{"weight", weight}, {"bias", std::vector<double>(size_t(x.back()), 0.0)}});
    trainedMac(out, exactTypeFor({qf}, where), exactTypeFor({0.0}, where));
    return cfgActivation(cfg, name, out, cls);
}

std::string KerasReader::cfgActivation(const json& cfg, const std::string& name, const std::string& out,
                                       const std::string& cls) {
    if (!cfg.contains("activation") || cfg["activation"].is_null()) return out;
    const json& act = cfg["activation"];
    if (act.is_object()) {
        const auto q = parseQKerasQuantizer(act, archFile_ + ": layer '" + name + "' (" + cls + ") activation");
        return q ? quantizer(name + "_" + q->cls, out, *q) : out;
    }
    if (!act.is_string()) fail(name, cls, "unreadable activation");
    return activation(name + "_" + act.get<std::string>(), out, act.get<std::string>(), name, cls);
}

std::string KerasReader::layer(const std::string& cls, const std::string& name, const json& cfg,
                               const std::vector<std::string>& ins) {
    static const std::map<std::string, MergeOp> merges = {
        {"Add", MergeOp::Add}, {"Subtract", MergeOp::Subtract}, {"Multiply", MergeOp::Multiply},
        {"Average", MergeOp::Average}, {"Maximum", MergeOp::Maximum}, {"Minimum", MergeOp::Minimum}};
    if (auto m = merges.find(cls); m != merges.end()) {
        if (ins.size() < 2) fail(name, cls, "needs at least two inputs");
        return b_.add(name, LayerKind::Merge, ins, MergeAttrs{m->second});
    }
    if (cls == "Concatenate") {
        if (ins.size() < 2) fail(name, cls, "needs at least two inputs");
        const int rank = int(b_.shape(ins[0]).size());
        int axis = cfg.contains("axis") && cfg["axis"].is_number_integer() ? cfg["axis"].get<int>() : -1;
        axis = axis < 0 ? rank + axis : axis - 1;   // Keras counts the batch axis
        if (axis < 0 || axis >= rank) fail(name, cls, "axis out of range");
        return b_.add(name, LayerKind::Concatenate, ins, ConcatAttrs{axis});
    }
    if (cls == "GarNet" || cls == "GarNetStack") return garnet(cfg, name, cls, ins);
    if (ins.size() != 1) fail(name, cls, "has " + std::to_string(ins.size()) + " inputs, expected one");
    const std::string& in = ins[0];
    if (cls == "SimpleRNN" || cls == "LSTM" || cls == "GRU") return recurrent(cfg, name, cls, in);
    if (cls == "QDense" || cls == "BinaryDense" || cls == "TernaryDense") {
        json c = cfg;
        c["__class"] = cls;
        return dense(c, name, in);
    }
    if (cls == "QConv1D" || cls == "QConv2D" || cls == "QDepthwiseConv2D" || cls == "QSeparableConv1D" ||
        cls == "QSeparableConv2D")
        return conv(cfg, name, cls.substr(1), in);
    if (cls == "QActivation") {
        if (!cfg.contains("activation")) fail(name, cls, "no 'activation' given");
        const json& act = cfg["activation"];
        if (act.is_string()) return activation(name, in, act, name, cls);
        const auto q = parseQKerasQuantizer(act, archFile_ + ": layer '" + name + "' (" + cls + ")");
        return q ? quantizer(name, in, *q) : in;
    }
    if (cls == "QBatchNormalization") return batchNorm(cfg, name, in);
    if (cls == "QAveragePooling2D") return qAveragePooling(cfg, name, in);
    if (cls == "FixedPointQuantizer") return fixedPointQuantizer(cfg, name, in);
    if (cls == "Dense") return dense(cfg, name, in);
    if (cls.find("Conv") != std::string::npos) return conv(cfg, name, cls, in);
    if (cls.find("Pooling") != std::string::npos) return pooling(cfg, name, cls, in);
    if (cls.rfind("ZeroPadding", 0) == 0) return zeroPadding(cfg, name, cls, in);
    if (cls.rfind("UpSampling", 0) == 0) return upSampling(cfg, name, cls, in);
    if (cls == "BatchNormalization") return batchNorm(cfg, name, in);
    if (cls == "LayerNormalization") return layerNorm(cfg, name, in);
    if (cls == "Activation") {
        if (!cfg.contains("activation") || !cfg["activation"].is_string()) fail(name, cls, "no 'activation' given");
        return activation(name, in, cfg["activation"], name, cls);
    }
    if (cls == "ReLU") {
        const double maxValue = cfg.contains("max_value") && cfg["max_value"].is_number() ? cfg["max_value"].get<double>() : -1;
        const double slope = cfg.contains("negative_slope") && cfg["negative_slope"].is_number() ? cfg["negative_slope"].get<double>() : 0;
        const double threshold = cfg.contains("threshold") && cfg["threshold"].is_number() ? cfg["threshold"].get<double>() : 0;
        if (threshold != 0) fail(name, cls, "a non-zero threshold is not supported");
        ActAttrs a;
        if (slope != 0 && maxValue < 0) a.kind = ActKind::LeakyReLU, a.alpha = slope;
        else if (slope == 0 && maxValue == 6) a.kind = ActKind::ReLU6;
        else if (slope == 0 && maxValue < 0) a.kind = ActKind::ReLU;
        else fail(name, cls, "only plain relu, relu6 (max_value 6) or a leaky slope is supported");
        return b_.activation(name, in, a);
    }
    if (cls == "LeakyReLU" || cls == "ELU") {
        // Keras 2 calls the slope alpha (LeakyReLU default 0.3, ELU 1.0); Keras 3 negative_slope.
        ActAttrs a;
        a.kind = cls == "ELU" ? ActKind::ELU : ActKind::LeakyReLU;
        a.alpha = cls == "ELU" ? 1.0 : 0.3;
        for (const char* key : {"alpha", "negative_slope"})
            if (cfg.contains(key) && cfg[key].is_number()) a.alpha = cfg[key];
        return b_.activation(name, in, a);
    }
    if (cls == "Softmax") {
        if (cfg.contains("axis") && !(cfg["axis"].is_number_integer() && cfg["axis"].get<int>() == -1))
            fail(name, cls, "only softmax over the last axis is supported");
        return b_.softmax(name, in);
    }
    if (cls == "Flatten") return b_.reshape(name, in, {b_.size(in)});
    if (cls == "Reshape") return reshape(cfg, name, in);
    if (cls == "Permute") {
        std::vector<int> perm;
        if (cfg.contains("dims") && cfg["dims"].is_array())
            for (const auto& d : cfg["dims"]) perm.push_back(d.is_number_integer() ? d.get<int>() - 1 : -1);
        try {
            return b_.transpose(name, in, perm);
        } catch (const Error& e) {
            fail(name, cls, "invalid dims");
        }
    }
    // Dropout and noise layers are the identity at inference time.
    return in;
}

// Keras 2 SimpleRNN / LSTM / GRU: kernel [nIn][G*units], recurrent_kernel [units][G*units],
// bias [G*units] (GRU reset_after: [2][3*units], input and recurrent bias). Keras' gate
// order (i, f, c, o; z, r, h) is the IR's.
std::string KerasReader::recurrent(const json& cfg, const std::string& name, const std::string& cls,
                                   const std::string& in) {
    const Shape& x = b_.shape(in);
    if (x.size() != 2) fail(name, cls, "expects a [steps, features] sequence input, got " + shapeString(x));
    for (const char* key : {"return_state", "stateful", "time_major", "unroll_state"})
        if (cfg.contains(key) && cfg[key].is_boolean() && cfg[key].get<bool>())
            fail(name, cls, std::string("'") + key + "' is not supported");
    if (!cfg.contains("units") || !cfg["units"].is_number_integer() || cfg["units"].get<int>() <= 0)
        fail(name, cls, "no valid 'units'");
    RecurrentAttrs a;
    a.cell = cls == "LSTM" ? RnnCell::LSTM : cls == "GRU" ? RnnCell::GRU : RnnCell::SimpleRNN;
    a.units = cfg["units"];
    a.steps = x[0];
    a.nIn = x[1];
    a.returnSequences = cfg.value("return_sequences", false);
    a.goBackwards = cfg.value("go_backwards", false);
    a.resetAfter = a.cell == RnnCell::GRU && cfg.value("reset_after", false);
    auto act = [&](const char* key, const char* dflt) {
        const std::string s = cfg.contains(key) && cfg[key].is_string() ? cfg[key].get<std::string>() : dflt;
        auto k = parseActivation(s);
        if (!k || (*k != ActKind::Linear && *k != ActKind::ReLU && *k != ActKind::Sigmoid && *k != ActKind::Tanh &&
                   *k != ActKind::HardSigmoid && *k != ActKind::Softsign && *k != ActKind::Softplus))
            fail(name, cls, std::string("unsupported ") + key + " '" + s + "'");
        return *k;
    };
    a.activation = act("activation", "tanh");
    if (a.cell != RnnCell::SimpleRNN) a.recurrentActivation = act("recurrent_activation", "sigmoid");
    const WeightIndex w = weightsOf(name);
    if (w.empty()) fail(name, cls, "no weights for this layer in " + h5_.path());
    const size_t g = size_t(a.gates()) * size_t(a.units);
    std::vector<size_t> kd, rd, bd;
    std::vector<double> kernel = weight(w, name, "kernel", kd);
    std::vector<double> rec = weight(w, name, "recurrent_kernel", rd);
    if (kernel.size() != size_t(a.nIn) * g) fail(name, cls, "kernel does not match [" + std::to_string(a.nIn) + ", " + std::to_string(g) + "]");
    if (rec.size() != size_t(a.units) * g) fail(name, cls, "recurrent_kernel does not match [" + std::to_string(a.units) + ", " + std::to_string(g) + "]");
    std::vector<double> bias(g, 0.0), rbias(g, 0.0);
    const bool useBias = !cfg.contains("use_bias") || !cfg["use_bias"].is_boolean() || cfg["use_bias"].get<bool>();
    if (useBias) {
        std::vector<double> bv = weight(w, name, "bias", bd);
        if (a.resetAfter && bv.size() == 2 * g) {
            std::copy(bv.begin(), bv.begin() + long(g), bias.begin());
            std::copy(bv.begin() + long(g), bv.end(), rbias.begin());
        } else if (bv.size() == g) {
            bias = bv;
        } else {
            fail(name, cls, "bias has " + std::to_string(bv.size()) + " values, expected " + std::to_string(a.resetAfter ? 2 * g : g));
        }
    }
    return b_.add(name, LayerKind::Recurrent, {in}, a,
                  {{"weight", std::move(kernel)}, {"recurrent_weight", std::move(rec)}, {"bias", std::move(bias)},
                   {"recurrent_bias", std::move(rbias)}});
}

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

Graph KerasReader::read() {
    const json& layers = layerList();
    // Report unsupported layer classes first, all of them, before any structural problem.
    std::string unsupported;
    std::set<std::string> reported;
    for (const json& l : layers) {
        const std::string cls = canonicalClass(l.value("class_name", ""));
        if (!kSupportedClasses.count(cls) && reported.insert(cls).second)
            unsupported += (unsupported.empty() ? "" : "; ") + std::string("layer '") + layerName(l) + "' has class '" + cls + "'";
    }
    if (!unsupported.empty())
        b_.fail("unsupported layer type: " + unsupported +
                ". Tachyon reads Keras Dense, Conv1D/2D, DepthwiseConv1D/2D, SeparableConv1D/2D, pooling, "
                "BatchNormalization, activations, merges (Add, Concatenate, ...), ZeroPadding, UpSampling, "
                "Flatten, Reshape, Permute, Dropout, SimpleRNN, LSTM, GRU and GarNet/GarNetStack layers");

    for (const json& l : layers) hgq_ = hgq_ || l.value("class_name", "") == "FixedPointQuantizer";
    const bool sequential = isSequential();
    std::string last;
    for (size_t i = 0; i < layers.size(); ++i) {
        const json& l = layers[i];
        const std::string cls = canonicalClass(l["class_name"]);
        const std::string name = layerName(l);
        const json& cfg = config(l);
        if (name.empty()) b_.fail("layer " + std::to_string(i) + " (" + cls + ") has no name");
        if (outputOf_.count(name)) fail(name, cls, "duplicate layer name");

        if (cls == "InputLayer") {
            // Several inputs (e.g. GarNet's vertex data and vertex count): the model input row
            // is their concatenation in the order the model lists them.
            if (!b_.empty() && b_.layer(last).kind != LayerKind::Input)
                fail(name, cls, "an InputLayer after other layers is not supported");
            last = outputOf_[name] = b_.input(name, perSampleShape(cfg, name));
            continue;
        }
        if (cls == "MultiHeadAttention" && !sequential) {
            last = outputOf_[name] = multiHeadAttention(l, cfg, name);
            continue;
        }
        // A Sequential model without an InputLayer declares the input on its first layer.
        if (b_.empty()) last = b_.input(name + "_input", perSampleShape(cfg, name));
        std::vector<std::string> ins;
        if (sequential) {
            ins = {last};
        } else {
            for (const auto& k : inboundLayers(l)) {
                auto it = outputOf_.find(k);
                if (it == outputOf_.end()) fail(name, cls, "reads unknown layer '" + k + "'");
                ins.push_back(it->second);
            }
            if (ins.empty()) fail(name, cls, "has no inbound layer");
        }
        last = outputOf_[name] = layer(cls, name, cfg, ins);
    }
    std::string output = last;
    if (!sequential) {
        const auto outs = outputLayers();
        if (outs.size() > 1) b_.fail("the model has " + std::to_string(outs.size()) + " outputs; only one is supported");
        if (outs.size() == 1) {
            auto it = outputOf_.find(outs[0]);
            if (it == outputOf_.end()) b_.fail("output layer '" + outs[0] + "' is not a layer of the model");
            output = it->second;
        }
    }
    return b_.finish(output);
}

json readJson(const std::string& path) {
    return util::readJsonFile(path);
}

Graph readKeras(const std::string& jsonPath, const std::string& h5Path) {
    const std::string ext = std::filesystem::path(jsonPath).extension().string();
    try {
        if (ext == ".h5" || ext == ".hdf5") {
            Hdf5File h5(jsonPath);
            auto config = h5.stringAttribute("", "model_config");
            if (!config)
                throw Error(jsonPath + ": no 'model_config' attribute: this is a weights-only file; "
                                       "load the model's .json architecture with it instead");
            const json arch = util::parseJson(*config, jsonPath, "'model_config'");
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

// A Keras 3 archive opened for reading: its config, and its weights extracted to a private
// temporary file (libhdf5 reads files; the temporary goes when this goes).
class Keras3Archive {
public:
    explicit Keras3Archive(const std::string& path) : path_(path) {
        ZipArchive zip(path);
        if (!zip.contains("config.json"))
            throw Error(path + ": no config.json in the archive: not a Keras 3 .keras model");
        if (zip.contains("model.weights.json"))
            throw Error(path + ": the weights are sharded (model.weights.json); save the model unsharded");
        if (!zip.contains("model.weights.h5"))
            throw Error(path + std::string(": no model.weights.h5 in the archive") +
                        (zip.contains("model.weights.npz") ? " (weights saved as .npz are not supported)" : ""));
        const std::string text = zip.read("config.json", uint64_t(1) << 28);
        config_ = util::parseJson(text, path, "config.json");
        std::string pattern = (std::filesystem::temp_directory_path() / "tachyon_keras3_XXXXXX").string();
        const int fd = mkstemp(pattern.data());
        if (fd < 0) throw Error(path + ": cannot create a temporary file for its weights (" + std::strerror(errno) + ")");
        weights_ = std::make_unique<ScopedTemporary>(pattern);   // removed on error and on a signal
        try {
            zip.extractTo("model.weights.h5", uint64_t(1) << 34, fd, "a temporary file in " +
                                                                     std::filesystem::temp_directory_path().string());
        } catch (...) {
            ::close(fd);
            throw;
        }
        if (::close(fd) != 0)
            throw Error(path + ": cannot write its weights to a temporary file (" + std::strerror(errno) + ")");
        weightsFile_ = pattern;
    }
    Keras3Archive(const Keras3Archive&) = delete;
    Keras3Archive& operator=(const Keras3Archive&) = delete;

    Graph read() const {
        try {
            checkSupported();
            Hdf5File h5(weightsFile_, path_ + ":model.weights.h5");
            return KerasReader(config_, path_, h5, /*keras3=*/true).read();
        } catch (const json::exception& e) {
            throw Error(path_ + ": unexpected model architecture in config.json (" + e.what() + ")");
        }
    }
    const std::string& weightsFile() const { return weightsFile_; }

private:
    // What Keras 3 can save but Tachyon cannot read faithfully, refused by name.
    void checkSupported() const {
        const std::string cls = config_.is_object() ? config_.value("class_name", "") : "";
        if (cls != "Sequential" && cls != "Functional" && cls != "Model")
            throw Error(path_ + ": config.json describes a '" + cls +
                        "', not a Sequential or Functional model (subclassed models cannot be read)");
        const json& c = config_.contains("config") ? config_["config"] : json();
        if (!c.is_object() || !c.contains("layers") || !c["layers"].is_array()) return;   // KerasReader says so
        for (const json& l : c["layers"]) {
            if (!l.is_object() || !l.contains("config") || !l["config"].is_object()) continue;
            const json& cfg = l["config"];
            const std::string name = cfg.value("name", "");
            if (cfg.contains("dtype") && cfg["dtype"].is_object()) {
                const std::string policy = cfg["dtype"].value("class_name", "");
                if (policy.find("Quantized") != std::string::npos)
                    throw Error(path_ + ": layer '" + name + "' (" + l.value("class_name", "") +
                                "): Keras 3 post-training weight quantisation (" + policy +
                                ") is not supported; use QKeras/HGQ layers or a QONNX export");
            }
            if (cfg.contains("lora_rank") && !cfg["lora_rank"].is_null())
                throw Error(path_ + ": layer '" + name + "' (" + l.value("class_name", "") +
                            "): LoRA adapters (lora_rank) are not supported; merge them into the kernel first");
        }
    }
    std::string path_;
    json config_;
    std::unique_ptr<ScopedTemporary> weights_;
    std::string weightsFile_;
};

}  // namespace

Graph loadKeras3(const std::string& path) {
    const Keras3Archive archive(path);
    // libhdf5 crashes on some corrupt files; the first read is a trial in a child process.
    tryReadInChildProcess(path, "libhdf5", [&] { archive.read(); });
    return archive.read();
}

Graph loadKeras3InProcess(const std::string& path) { return Keras3Archive(path).read(); }

Graph loadKeras(const std::string& jsonPath, const std::string& h5Path) {
    // libhdf5 crashes on some corrupt files; the first read is a trial in a child process.
    const std::string ext = std::filesystem::path(jsonPath).extension().string();
    const bool singleFile = ext == ".h5" || ext == ".hdf5";
    tryReadInChildProcess(singleFile || h5Path.empty() ? jsonPath : h5Path, "libhdf5",
                          [&] { readKeras(jsonPath, h5Path); });
    return readKeras(jsonPath, h5Path);
}

Graph loadKerasInProcess(const std::string& jsonPath, const std::string& h5Path) { return readKeras(jsonPath, h5Path); }

}  // namespace tachyon
