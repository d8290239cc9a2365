// The Keras reader's core (KerasReader.h): the layer list and its links, shapes, weights
// from HDF5, window/attribute helpers, the walk, and the Keras 2/Keras 3 entry points.
#include "frontends/keras/KerasReader.h"
#include "util/Error.h"

#include "frontends/Frontend.h"
#include "util/AtomicOutput.h"
#include "util/CrashIsolation.h"
#include "util/Json.h"
#include "util/ZipArchive.h"
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <set>

namespace tachyon::kerasfe {

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

Graph KerasReader::read() {
    const json& layers = layerList();
    // Report unsupported layer classes first, all of them, before any structural problem.
    std::string unsupported;
    std::set<std::string> reported;
    for (const json& l : layers) {
        const std::string cls = canonicalClass(l.value("class_name", ""));
        if (!findClass(cls) && reported.insert(cls).second)
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

std::string KerasReader::layer(const std::string& cls, const std::string& name, const json& cfg,
                               const std::vector<std::string>& ins) {
    const KerasLayerClass* row = findClass(cls);
    if (!row || !row->handle) fail(name, cls, "no handler for this class");   // read() vetted it
    if (!row->multiInput && ins.size() != 1)
        fail(name, cls, "has " + std::to_string(ins.size()) + " inputs, expected one");
    return (this->*row->handle)(LayerCall{cls, name, cfg, ins});
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

}  // namespace tachyon::kerasfe

namespace tachyon {

Graph loadKeras3(const std::string& path) {
    const kerasfe::Keras3Archive archive(path);
    // libhdf5 crashes on some corrupt files; the first read is a trial in a child process.
    tryReadInChildProcess(path, "libhdf5", [&] { archive.read(); });
    return archive.read();
}

Graph loadKeras3InProcess(const std::string& path) { return kerasfe::Keras3Archive(path).read(); }

Graph loadKeras(const std::string& jsonPath, const std::string& h5Path) {
    // libhdf5 crashes on some corrupt files; the first read is a trial in a child process.
    const std::string ext = std::filesystem::path(jsonPath).extension().string();
    const bool singleFile = ext == ".h5" || ext == ".hdf5";
    tryReadInChildProcess(singleFile || h5Path.empty() ? jsonPath : h5Path, "libhdf5",
                          [&] { kerasfe::readKeras(jsonPath, h5Path); });
    return kerasfe::readKeras(jsonPath, h5Path);
}

Graph loadKerasInProcess(const std::string& jsonPath, const std::string& h5Path) { return kerasfe::readKeras(jsonPath, h5Path); }

}  // namespace tachyon
